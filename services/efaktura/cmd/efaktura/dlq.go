package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/pkg/bus"
	"github.com/kp-efaktura/efaktura/pkg/natsauth"
	"github.com/kp-efaktura/efaktura/pkg/worker"
)

// runDLQ lists and replays dead letters: events a worker gave up on.
func runDLQ(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	const synopsis = "efaktura dlq list [--nats URL] [--stream NAME] [--service NAME] [--limit N] [--json]\n       efaktura dlq replay [--nats URL] [--stream NAME] SEQ..."
	sub, code, ok := subcommand(args, synopsis, stderr, "list", "replay")
	if !ok {
		return code
	}
	fs := newFlagSet("dlq "+sub, synopsis)
	url := fs.String("nats", defaultNATSURL(), natsUsage)
	stream := fs.String("stream", envOr("EFAKTURA_STREAM", "EFAKTURA"), "event stream `name` (env EFAKTURA_STREAM)")
	service := fs.String("service", "", "only the dead letters of this worker (list)")
	limit := fs.Int("limit", 100, "at most `N` dead letters (list)")
	asJSON := fs.Bool("json", false, "one JSON object per dead letter (list)")
	operands, err := fs.parse(args[1:], stdout, stderr)
	if err != nil {
		return parseStatus(err)
	}
	var seqs []uint64
	switch {
	case sub == "list" && len(operands) > 0:
		return fs.usageError(stderr, "list takes no arguments")
	case sub == "replay" && len(operands) == 0:
		return fs.usageError(stderr, "replay needs the sequence number of at least one dead letter (see efaktura dlq list)")
	}
	for _, op := range operands {
		seq, err := strconv.ParseUint(op, 10, 64)
		if err != nil || seq == 0 {
			return fs.usageError(stderr, "%q is not a dead-letter sequence number", op)
		}
		seqs = append(seqs, seq)
	}

	js, closeNATS, err := connectJetStream(*url, "efaktura dlq")
	if err != nil {
		fmt.Fprintf(stderr, "efaktura dlq: %v\n", err)
		return exitError
	}
	defer closeNATS()
	dlq := bus.OpenDeadLetters(js, bus.Config{Stream: *stream})
	if sub == "list" {
		return listDeadLetters(ctx, dlq, *service, *limit, *asJSON, stdout, stderr)
	}
	status := exitOK
	for _, seq := range seqs {
		if err := dlq.Replay(ctx, seq); err != nil {
			fmt.Fprintf(stderr, "efaktura dlq replay: %v\n", err)
			status = exitError
			continue
		}
		fmt.Fprintf(stdout, "replayed dead letter %d\n", seq)
	}
	return status
}

func listDeadLetters(ctx context.Context, dlq *bus.DeadLetters, service string, limit int, asJSON bool, stdout, stderr io.Writer) int {
	letters, err := dlq.List(ctx, service, limit)
	if err != nil {
		fmt.Fprintf(stderr, "efaktura dlq list: %v\n", err)
		return exitError
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		for _, dl := range letters {
			enc.Encode(deadLetterJSON{
				Seq: dl.Seq, Subject: dl.Subject, Service: dl.Service, Consumer: dl.Consumer, Error: dl.Error,
				Deliveries: dl.Deliveries, At: dl.At, EventID: dl.Event.ID(), EventType: dl.Event.Type(), StreamSeq: dl.StreamSeq,
			})
		}
		return exitOK
	}
	if len(letters) == 0 {
		fmt.Fprintln(stdout, "no dead letters")
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tAT\tCONSUMER\tSUBJECT\tEVENT\tDELIVERIES\tERROR")
	for _, dl := range letters {
		event := dl.Event.Type() + " " + dl.Event.ID()
		if dl.EventErr != nil {
			event = "(not a CloudEvent)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", dl.Seq, dl.At.Format(time.RFC3339), dl.Consumer, dl.Subject, event, dl.Deliveries, dl.Error)
	}
	tw.Flush()
	return exitOK
}

// deadLetterJSON is the --json form of a dead letter; the event's data is
// left out, since it may hold personal data.
type deadLetterJSON struct {
	Seq        uint64    `json:"seq"`
	Subject    string    `json:"subject"`
	StreamSeq  uint64    `json:"stream_seq"`
	Service    string    `json:"service"`
	Consumer   string    `json:"consumer"`
	EventID    string    `json:"event_id"`
	EventType  string    `json:"event_type"`
	Deliveries int       `json:"deliveries"`
	Error      string    `json:"error"`
	At         time.Time `json:"at"`
}

// connectJetStream connects an operator command to NATS at url, as the
// admin identity of the environment (NATS_CREDS, NATS_NKEY or NATS_USER,
// and NATS_CA, NATS_CERT, NATS_KEY), if any.
func connectJetStream(url, name string) (jetstream.JetStream, func(), error) {
	sec, err := worker.SecurityFromEnv(os.Getenv)
	if err != nil {
		return nil, nil, err
	}
	nc, err := nats.Connect(url, append(sec.NATSOptions(natsauth.Admin), nats.Name(name), nats.Timeout(5*time.Second))...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to NATS at %s: %w", worker.RedactURL(url), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return js, nc.Close, nil
}

// natsURLFile is the file in up's data directory that holds the URL of its
// embedded NATS server while it runs.
const natsURLFile = "nats.url"

// natsUsage is the usage of the operator CLIs' --nats flag.
const natsUsage = "NATS server `URL` (env NATS_URL; default: the server of the efaktura up whose data directory is $EFAKTURA_DATA, or ./data, while it runs, else " + nats.DefaultURL + ")"

// defaultNATSURL is the operator CLIs' NATS server when --nats is not
// given: NATS_URL, else the embedded server of a running efaktura up on the
// data directory EFAKTURA_DATA (default "data", as up's), else NATS's
// default URL.
func defaultNATSURL() string {
	if v := os.Getenv("NATS_URL"); v != "" {
		return v
	}
	if b, err := os.ReadFile(filepath.Join(envOr("EFAKTURA_DATA", "data"), natsURLFile)); err == nil {
		if url := strings.TrimSpace(string(b)); url != "" {
			return url
		}
	}
	return nats.DefaultURL
}

// envOr returns the environment variable name, or def when it is unset
// or empty.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}
