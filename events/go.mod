module github.com/kp-efaktura/efaktura/events

go 1.26.0
