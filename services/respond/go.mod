module github.com/kp-efaktura/efaktura/services/respond

go 1.26.0
