// Package decide holds each valid document until a caseworker's verdict arrives and rejects technically invalid documents automatically.
//
// The worker is built on the format library (pkg/efaktura) and the bus runtime
// of the later issues; this module holds its place in the workspace until then.
package decide
