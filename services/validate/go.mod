module github.com/kp-efaktura/efaktura/services/validate

go 1.26.0
