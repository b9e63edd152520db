// Package respond sends each decided document's answer to the municipality's economy system once both service agreements allow it.
//
// The worker is built on the format library (pkg/efaktura) and the bus runtime
// of the later issues; this module holds its place in the workspace until then.
package respond
