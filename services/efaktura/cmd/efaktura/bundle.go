package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kp-efaktura/efaktura/services/decide"
)

const bundleSynopsis = "efaktura bundle status [--api URL] [--token TOKEN] [--json] BUNDLE_ID"

// runBundle prints what became of a bundle: decide's GET /v1/bundles/{id},
// the bundle's facts and a table of its documents. The token may be the
// municipality's ingest token (the economy system's own), a caseworker's
// or an admin's: --token, else EFAKTURA_TOKEN, else EFAKTURA_ADMIN_TOKEN.
// Exit status: 0 shown, 1 no such bundle (404), 2 usage, connection and
// authentication errors.
func runBundle(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if _, code, ok := subcommand(args, bundleSynopsis, stderr, "status"); !ok {
		return code
	}
	fs := newFlagSet("bundle status", bundleSynopsis)
	api := bundleFlagsVar(fs)
	asJSON := fs.Bool("json", false, "print the status as the API returns it")
	operands, err := fs.parse(args[1:], stdout, stderr)
	if err != nil {
		return parseStatus(err)
	}
	if len(operands) != 1 {
		return fs.usageError(stderr, "status takes one bundle id")
	}
	c, err := api.client()
	if err != nil {
		return fs.usageError(stderr, "%v", err)
	}
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodGet, "/v1/bundles/"+url.PathEscape(operands[0]), nil, &raw); err != nil {
		return apiFailure(stderr, "efaktura bundle status", err)
	}
	if *asJSON {
		_, err := fmt.Fprintf(stdout, "%s\n", raw)
		if err != nil {
			fmt.Fprintf(stderr, "efaktura bundle status: %v\n", err)
			return exitError
		}
		return exitOK
	}
	var st decide.BundleStatus
	if err := json.Unmarshal(raw, &st); err != nil {
		fmt.Fprintf(stderr, "efaktura bundle status: the answer is not a bundle status: %v\n", err)
		return exitError
	}
	writeBundleStatus(stdout, st)
	return exitOK
}

// bundleFlagsVar are apiFlags whose token may be any that reads a bundle:
// the flag's, else EFAKTURA_TOKEN, else EFAKTURA_ADMIN_TOKEN.
func bundleFlagsVar(fs *flagSet) apiFlags {
	return apiFlags{
		api:     fs.String("api", envOr("EFAKTURA_API", defaultAPI), "decide's API base `URL` (env EFAKTURA_API)"),
		token:   fs.String("token", "", "bearer `token`: the municipality's ingest token, a caseworker's or an admin's; default env EFAKTURA_TOKEN, else EFAKTURA_ADMIN_TOKEN, which is better: flags show in the process list"),
		envs:    []string{"EFAKTURA_TOKEN", "EFAKTURA_ADMIN_TOKEN"},
		missing: "no token: set EFAKTURA_TOKEN (the ingest, a caseworker's or an admin token) or give --token",
	}
}

// writeBundleStatus prints the bundle's facts, then one line per document.
func writeBundleStatus(w io.Writer, st decide.BundleStatus) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "bundle\t%s\n", st.BundleID)
	fmt.Fprintf(tw, "kommune\t%s\n", st.Kommune)
	fmt.Fprintf(tw, "reference\t%s\n", show(st.Reference))
	fmt.Fprintf(tw, "received\t%s\n", st.ReceivedAt.UTC().Format(time.RFC3339))
	if r := st.Rejected; r != nil {
		fmt.Fprintf(tw, "rejected\tas a whole (%s), %d finding(s)\n", r.Reason, r.FindingsTotal)
		for _, f := range r.Findings {
			fmt.Fprintf(tw, "\t%s %s %s\n", f.Rule, f.Path, cmp.Or(f.MessageEN, f.Message))
		}
	}
	fmt.Fprintf(tw, "documents\t%d%s\n", st.DocumentCount, counts(st))
	tw.Flush()
	if len(st.Documents) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tDOCUMENT ID\tRECEIPT NO\tDOCUMENT NO\tSTATE\tDECIDED\tANSWER\tANSWER AT")
	for _, d := range st.Documents {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Index, d.ID, show(d.ReceiptNo), show(d.DocumentNo),
			d.State, when(d.DecidedAt), d.AnswerStatus, when(d.AnswerAt))
	}
	tw.Flush()
}

// counts is ": 2 approved, 1 awaiting_verdict; answers 1 delivered, 2
// pending", in the order of the states and statuses.
func counts(st decide.BundleStatus) string {
	var states, answers []string
	for _, s := range decide.States {
		if n := st.States[s]; n > 0 {
			states = append(states, fmt.Sprintf("%d %s", n, s))
		}
	}
	for _, a := range []decide.AnswerStatus{decide.StatusPending, decide.StatusParked, decide.StatusFailed, decide.StatusDelivered} {
		if n := st.Answers[a]; n > 0 {
			answers = append(answers, fmt.Sprintf("%d %s", n, a))
		}
	}
	if len(states) == 0 {
		return ""
	}
	return ": " + strings.Join(states, ", ") + "; answers " + strings.Join(answers, ", ")
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
