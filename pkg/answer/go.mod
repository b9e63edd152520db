module github.com/kp-efaktura/efaktura/pkg/answer

go 1.26.0
