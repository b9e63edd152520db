// Command decide holds each valid document until a caseworker's verdict
// arrives, rejects technically invalid documents at once, archives each
// document once its answer is delivered, and serves the caseworkers' API:
// POST /v1/documents/{id}/verdict, GET /v1/documents, GET
// /v1/documents/{id}, GET /v1/archive.
//
// Configuration is pkg/worker's (run with -h), plus:
//
//	--bucket NAME             DECIDE_BUCKET             open documents' records; default EFAKTURA_documents
//	--concurrency N           DECIDE_CONCURRENCY        events each handler works on at once; default 8
//	--archive-retention D     DECIDE_ARCHIVE_RETENTION  how long archived documents are kept; default 6 years
package main

import "github.com/kp-efaktura/efaktura/services/decide"

func main() { decide.Command().Main() }
