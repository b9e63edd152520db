module github.com/kp-efaktura/efaktura/pkg

go 1.26.0

require github.com/shopspring/decimal v1.4.0

require golang.org/x/text v0.43.0
