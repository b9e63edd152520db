package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/kp-efaktura/efaktura/services/respond"
)

// runAnswers lists and resends the answers an economy system refused for
// themselves, which respond set aside so the queue could go on.
func runAnswers(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	const synopsis = "efaktura answers set-aside [--nats URL] [--bucket NAME] [--json]\n       efaktura answers resend [--nats URL] [--bucket NAME] KEY..."
	sub, code, ok := subcommand(args, synopsis, stderr, "set-aside", "resend")
	if !ok {
		return code
	}
	fs := newFlagSet("answers "+sub, synopsis)
	url := fs.String("nats", envOr("NATS_URL", nats.DefaultURL), "NATS server `URL` (env NATS_URL)")
	bucket := fs.String("bucket", respond.DefaultBucket, "respond's parking bucket `name`")
	asJSON := fs.Bool("json", false, "one JSON object per answer (set-aside)")
	keys, err := fs.parse(args[1:], stdout, stderr)
	if err != nil {
		return parseStatus(err)
	}
	switch {
	case sub == "set-aside" && len(keys) > 0:
		return fs.usageError(stderr, "set-aside takes no arguments")
	case sub == "resend" && len(keys) == 0:
		return fs.usageError(stderr, "resend needs the key of at least one answer (see efaktura answers set-aside)")
	}
	js, closeNATS, err := connectJetStream(*url, "efaktura answers")
	if err != nil {
		fmt.Fprintf(stderr, "efaktura answers: %v\n", err)
		return exitError
	}
	defer closeNATS()
	if sub == "set-aside" {
		aside, err := respond.SetAside(ctx, js, *bucket)
		if err != nil {
			fmt.Fprintf(stderr, "efaktura answers set-aside: %v\n", err)
			return exitError
		}
		printSetAside(aside, *asJSON, stdout)
		return exitOK
	}
	status := exitOK
	for _, key := range keys {
		if err := respond.Resend(ctx, js, *bucket, key); err != nil {
			fmt.Fprintf(stderr, "efaktura answers resend: %v\n", err)
			status = exitError
			continue
		}
		fmt.Fprintf(stdout, "answer %s is back in its queue; the next release or sweep sends it\n", key)
	}
	return status
}

// setAsideJSON is the --json form of a set-aside answer: what identifies
// it and why it was refused, not its content.
type setAsideJSON struct {
	Key        string `json:"key"`
	AnswerID   string `json:"answer_id"`
	DocumentID string `json:"document_id"`
	Kommune    string `json:"kommune"`
	ReceiptNo  string `json:"receipt_no"`
	Attempts   int    `json:"attempts"`
	LastError  string `json:"last_error"`
}

func printSetAside(aside []respond.Parked, asJSON bool, w io.Writer) {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, p := range aside {
			a := p.Answer
			enc.Encode(setAsideJSON{Key: p.Key, AnswerID: a.AnswerID, DocumentID: a.DocumentID, Kommune: a.Kommune,
				ReceiptNo: a.ReceiptNo, Attempts: p.Attempts, LastError: p.LastError})
		}
		return
	}
	if len(aside) == 0 {
		fmt.Fprintln(w, "no answers set aside")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tKOMMUNE\tDOCUMENT\tRECEIPT_NO\tPARKED\tATTEMPTS\tERROR")
	for _, p := range aside {
		a := p.Answer
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", p.Key, a.Kommune, a.DocumentID, a.ReceiptNo, p.ParkedAt.Format(time.RFC3339), p.Attempts, p.LastError)
	}
	tw.Flush()
}
