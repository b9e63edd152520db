// Package events is the catalogue of the events the efaktura workers exchange:
// CloudEvents types, NATS subjects and payload schemas.
//
// The catalogue is filled in by the event-backbone work (issue 3); until then
// the workers exchange nothing and this package only reserves the module.
package events
