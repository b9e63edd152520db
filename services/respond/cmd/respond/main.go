// Command respond answers each decided document to the municipality's
// economy system, in decision order, once both SF1590_D service agreements
// allow it; until then the answers wait in the municipality's queue.
//
// Configuration is pkg/worker's (run with -h), plus:
//
//	--http-timeout D       RESPOND_HTTP_TIMEOUT     one delivery to an economy system; default 30s
//	--backoff FIRST,LONGEST RESPOND_BACKOFF         exponential backoff with jitter between attempts; default 1s,5m
//	--retry-after-max D    RESPOND_RETRY_AFTER_MAX  longest Retry-After honoured; default 1h
package main

import "github.com/kp-efaktura/efaktura/services/respond"

func main() { respond.Command().Main() }
