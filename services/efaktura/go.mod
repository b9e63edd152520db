module github.com/kp-efaktura/efaktura/services/efaktura

go 1.26.0

require (
	github.com/kp-efaktura/efaktura/pkg v0.0.0
	github.com/shopspring/decimal v1.4.0
)

replace github.com/kp-efaktura/efaktura/pkg => ../../pkg
