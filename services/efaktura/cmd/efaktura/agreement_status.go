package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// runAgreementStatus prints GET /v1/agreements: every municipality's
// readiness, parked answers and the deadline, as a table, as CSV (the
// columns of tenant.WriteReadinessCSV, the desk's export) or as JSON
// Lines. Exit status as for runTenant.
func runAgreementStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("agreement status", agreementSynopsis)
	flags := apiFlagsVar(fs)
	ready := fs.String("ready", "", "only municipalities that are (true) or are not (false) ready")
	mismatch := fs.Bool("mismatch", false, "only municipalities with an agreement naming another economy system")
	asCSV := fs.Bool("csv", false, "print CSV with a header row, for the follow-up letters")
	asJSON := fs.Bool("json", false, "print one JSON object per municipality (JSON Lines), as the admin API returns it")
	operands, err := fs.parse(args[1:], stdout, stderr)
	if err != nil {
		return parseStatus(err)
	}
	switch {
	case len(operands) != 0:
		return fs.usageError(stderr, "status takes no arguments")
	case *ready != "" && *ready != "true" && *ready != "false":
		return fs.usageError(stderr, "--ready %q: expected true or false", *ready)
	case *asCSV && *asJSON:
		return fs.usageError(stderr, "--csv and --json exclude each other")
	}
	q := url.Values{}
	if *ready != "" {
		q.Set("ready", *ready)
	}
	if *mismatch {
		q.Set("mismatch", "true")
	}
	c, err := flags.client()
	if err != nil {
		return fs.usageError(stderr, "%v", err)
	}
	var list tenant.AgreementsList
	path := "/v1/agreements"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	if err := c.do(ctx, http.MethodGet, path, nil, &list); err != nil {
		return apiFailure(stderr, "efaktura agreement status", err)
	}
	switch {
	case *asCSV:
		err = tenant.WriteReadinessCSV(stdout, list.Municipalities)
	case *asJSON:
		enc := json.NewEncoder(stdout)
		for _, r := range list.Municipalities {
			if err = enc.Encode(r); err != nil {
				break
			}
		}
	default:
		err = writeReadinessTable(stdout, list.Municipalities, time.Now())
	}
	if err != nil {
		fmt.Fprintf(stderr, "efaktura: write: %v\n", err)
		return exitError
	}
	return exitOK
}

func writeReadinessTable(w io.Writer, rows []tenant.Readiness, now time.Time) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "no municipalities")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KOMMUNE\tNAME\tFORSIDE\tBAGSIDE\tREADY\tMISMATCH\tPARKED\tOLDEST PARKED\tDEADLINE")
	for _, r := range rows {
		oldest := "-"
		if r.OldestParkedAt != nil {
			oldest = r.OldestParkedAt.Format(time.RFC3339) + " (" + now.Sub(*r.OldestParkedAt).Round(time.Second).String() + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.Kommune, show(r.Name),
			agreementCell(r.Forside, r.EconomySystem), agreementCell(r.Bagside, r.EconomySystem),
			yesNo(r.Ready), yesNo(r.Mismatch), r.ParkedAnswers, oldest, show(r.Deadline))
	}
	return tw.Flush()
}

// agreementCell is an agreement's state, with the economy system it names
// when that is not the municipality's own.
func agreementCell(a tenant.AgreementView, own string) string {
	if a.State != tenant.Missing && a.EconomySystem != own {
		return string(a.State) + " (names " + strconv.Quote(a.EconomySystem) + ")"
	}
	return string(a.State)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
