package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/kp-efaktura/efaktura/services/decide"
)

// runTrace prints one document's way through the workers as a timeline:
// decide's GET /v1/documents/{id}/flow, with the trace id to look up in
// Jaeger or Tempo.
func runTrace(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	const synopsis = "efaktura trace [--api URL] [--token TOKEN] [--json] DOCUMENT_ID"
	fs := newFlagSet("trace", synopsis)
	api := apiFlagsVar(fs)
	asJSON := fs.Bool("json", false, "the flow as the API returns it")
	operands, err := fs.parse(args, stdout, stderr)
	if err != nil {
		return parseStatus(err)
	}
	if len(operands) != 1 {
		return fs.usageError(stderr, "trace takes one document id")
	}
	c, err := api.client()
	if err != nil {
		fmt.Fprintf(stderr, "efaktura trace: %v\n", err)
		return exitError
	}
	var f decide.Flow
	if err := c.do(ctx, "GET", "/v1/documents/"+url.PathEscape(operands[0])+"/flow", nil, &f); err != nil {
		return apiFailure(stderr, "efaktura trace", err)
	}
	if *asJSON {
		if err := json.NewEncoder(stdout).Encode(f); err != nil {
			fmt.Fprintf(stderr, "efaktura trace: %v\n", err)
			return exitError
		}
		return exitOK
	}
	writeFlow(stdout, f)
	return exitOK
}

// writeFlow prints f as a timeline: each step at its time since the first,
// in its worker's lane, with the wait before it.
func writeFlow(w io.Writer, f decide.Flow) {
	fmt.Fprintf(w, "document %s\n", f.DocumentID)
	if f.TraceID != "" {
		fmt.Fprintf(w, "trace    %s\n", f.TraceID)
	}
	fmt.Fprintln(w)
	lanes := []string{"ingest", "validate", "decide", "respond"}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tSINCE START\tWAITED\tINGEST\tVALIDATE\tDECIDE\tRESPOND\tSTEP\tSTATE\tHTTP\tDETAIL")
	var start time.Time
	for i, s := range f.Steps {
		if i == 0 {
			start = s.At
		}
		marks := ""
		for _, lane := range lanes {
			if lane == s.Worker {
				marks += "●\t"
			} else {
				marks += "│\t"
			}
		}
		step := s.What
		if s.Attempt > 0 {
			step += " #" + strconv.Itoa(s.Attempt)
		}
		status := "-"
		if s.StatusCode != 0 {
			status = strconv.Itoa(s.StatusCode)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\t%s\t%s\t%s\n", s.At.UTC().Format("2006-01-02 15:04:05.000"),
			s.At.Sub(start).Round(time.Millisecond), (time.Duration(s.DurationMS) * time.Millisecond).String(),
			marks, step, s.State, status, s.Detail)
	}
	tw.Flush()
}
