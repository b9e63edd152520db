module github.com/kp-efaktura/efaktura/services/erpsim

go 1.26.0

require github.com/kp-efaktura/efaktura/pkg v0.0.0

replace github.com/kp-efaktura/efaktura/pkg => ../../pkg

require github.com/kp-efaktura/efaktura/events v0.0.0

replace github.com/kp-efaktura/efaktura/events => ../../events
