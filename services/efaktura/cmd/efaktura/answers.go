package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/kp-efaktura/efaktura/services/respond"
)

// runAnswers shows the municipalities' answer queues. Answers an economy
// system refused for themselves are dead letters of respond: efaktura dlq
// list --service respond shows them, efaktura dlq replay puts one back.
func runAnswers(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	const synopsis = "efaktura answers list [--nats URL] [--stream NAME] [--json]"
	sub, code, ok := subcommand(args, synopsis, stderr, "list")
	if !ok {
		return code
	}
	fs := newFlagSet("answers "+sub, synopsis)
	url := fs.String("nats", defaultNATSURL(), natsUsage)
	stream := fs.String("stream", respond.DefaultStream, "respond's stream of queued answers")
	asJSON := fs.Bool("json", false, "one JSON object per municipality")
	operands, err := fs.parse(args[1:], stdout, stderr)
	if err != nil {
		return parseStatus(err)
	}
	if len(operands) > 0 {
		return fs.usageError(stderr, "list takes no arguments")
	}
	js, closeNATS, err := connectJetStream(*url, "efaktura answers")
	if err != nil {
		fmt.Fprintf(stderr, "efaktura answers: %v\n", err)
		return exitError
	}
	defer closeNATS()
	queues, err := respond.Queues(ctx, js, *stream, "")
	if err != nil {
		fmt.Fprintf(stderr, "efaktura answers list: %v\n", err)
		return exitError
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, q := range queues {
			enc.Encode(q)
		}
		return exitOK
	}
	if len(queues) == 0 {
		fmt.Fprintln(stdout, "no answer queues: respond has not run, or knows no municipality")
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KOMMUNE\tSTATE\tWAITING\tOLDEST\tRETRIED")
	now := time.Now()
	for _, q := range queues {
		state, oldest := "sending", "-"
		if q.Paused {
			state = "paused"
		}
		if !q.HeadQueuedAt.IsZero() {
			oldest = q.HeadQueuedAt.Format(time.RFC3339) + " (" + now.Sub(q.HeadQueuedAt).Truncate(time.Second).String() + " ago)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\n", q.Kommune, state, q.Waiting, oldest, q.Redelivered)
	}
	tw.Flush()
	return exitOK
}
