module github.com/kp-efaktura/efaktura/services/decide

go 1.26.0
