package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/shopspring/decimal"
)

// checksumRow is one document's checksum.
type checksumRow struct {
	index     int
	receiptNo string
	declared  string          // as written
	value     decimal.Decimal // declared, when ok
	ok        bool            // declared is a decimal
	computed  decimal.Decimal
	// noValue says why the checksum cannot be computed, e.g. a P_FIK_NO
	// that is not a number; "" when it can.
	noValue string
}

func (r checksumRow) matches() bool { return r.ok && r.noValue == "" && r.value.Equal(r.computed) }

func runChecksum(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("checksum", "efaktura checksum [--profile sender|delivered] FILE")
	profile := profileVar(fs)
	files, err := fs.parse(args, stdout, stderr)
	if err != nil {
		return parseStatus(err)
	}
	if len(files) != 1 {
		return fs.usageError(stderr, "expected exactly one FILE, got %d", len(files))
	}
	name := files[0]

	var rows []checksumRow
	opts := efaktura.Options{
		Profile: profile.p,
		Document: func(d *efaktura.Document, dr *efaktura.DocumentResult) error {
			p, cerr := d.Checksum()
			row := checksumRow{index: dr.Index, receiptNo: dr.ReceiptNo, declared: p.Declared, computed: p.Computed}
			if cerr != nil {
				row.noValue = "(none: P_FIK_NO is not a number)"
			}
			v, perr := efaktura.ParseDecimal(p.Declared, 20, 3)
			row.value, row.ok = v, perr == nil
			rows = append(rows, row)
			return nil
		},
	}
	res, err := validateFile(ctx, name, stdin, opts)
	if err != nil {
		fmt.Fprintf(stderr, "efaktura checksum: %v\n", err)
		return exitError
	}

	out := bufio.NewWriter(stdout)
	status := writeChecksums(out, res, rows)
	if err := out.Flush(); err != nil {
		fmt.Fprintf(stderr, "efaktura checksum: writing the report: %v\n", err)
		return exitError
	}
	return status
}

// writeChecksums writes the checksum report and returns the exit status.
func writeChecksums(w io.Writer, res *efaktura.Result, rows []checksumRow) int {
	fmt.Fprintf(w, "%s (rule set %s)\n", displayName(res.File), res.Ruleset)
	switch {
	case fileRejected(res.Findings):
		fmt.Fprint(w, "no checksums: the file fails a file rule (V01 to V06), so its documents are not read:\n")
		writeFindings(w, res.Findings)
		return exitInvalid
	case len(rows) == 0:
		fmt.Fprint(w, "no checksums: the bundle holds no document\n")
		writeFindings(w, res.Findings)
		return exitInvalid
	}

	status := exitOK
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "DOCUMENT\tRECEIPT_NO\tDECLARED\tCOMPUTED\tRESULT\n")
	var declaredSum, computedSum decimal.Decimal
	var notDecimal, noValue []int
	for _, r := range rows {
		result := "OK"
		if !r.matches() {
			result = "MISMATCH"
			status = exitInvalid
		}
		declared := r.declared
		switch {
		case declared == "":
			declared = "(missing)"
		case !r.ok:
			declared = show(declared) + " (not a decimal)"
		}
		computed := cmp.Or(r.noValue, efaktura.FormatDecimal(r.computed, 3))
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", r.index, show(r.receiptNo), declared, computed, result)
		if r.ok {
			declaredSum = declaredSum.Add(r.value)
		} else {
			notDecimal = append(notDecimal, r.index)
		}
		if r.noValue != "" {
			noValue = append(noValue, r.index)
		}
		computedSum = computedSum.Add(r.computed)
	}
	tw.Flush()

	// The bundle: TOTAL_DOCUMENT_CHECKSUM against both sums.
	total, totalErr := efaktura.ParseDecimal(res.TotalChecksum, 20, 3)
	against := func(sum decimal.Decimal) string {
		if totalErr == nil && total.Equal(sum) {
			return "OK"
		}
		status = exitInvalid
		return "MISMATCH"
	}
	declaredTotal := res.TotalChecksum
	switch {
	case declaredTotal == "":
		declaredTotal = "(missing)"
	case totalErr != nil:
		declaredTotal = show(declaredTotal) + " (not a decimal)"
	}
	declaredNote := ""
	if len(notDecimal) > 0 {
		which := "document "
		if len(notDecimal) > 1 {
			which = "documents "
		}
		declaredNote = " (leaving out " + which + joinInts(notDecimal) + ": not a decimal)"
	}
	fmt.Fprint(w, "bundle:\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  TOTAL_DOCUMENT_CHECKSUM\t%s\n", declaredTotal)
	fmt.Fprintf(tw, "  sum of the declared CHECKSUMs\t%s\t%s%s\n", efaktura.FormatDecimal(declaredSum, 3), against(declaredSum), declaredNote)
	if len(noValue) > 0 {
		status = exitInvalid
		fmt.Fprintf(tw, "  sum of the computed checksums\t(none: no value for document %s)\n", joinInts(noValue))
	} else {
		fmt.Fprintf(tw, "  sum of the computed checksums\t%s\t%s\n", efaktura.FormatDecimal(computedSum, 3), against(computedSum))
	}
	tw.Flush()
	return status
}

// fileRejected reports whether a file rule (V01 to V06) rejected the file,
// so that not every document was handed to the Document callback.
func fileRejected(fs []efaktura.Finding) bool {
	for _, f := range fs {
		if f.Severity == efaktura.SeverityError && f.Rule <= "V06" {
			return true
		}
	}
	return false
}

// joinInts lists up to ten numbers: "2, 5, 7".
func joinInts(ns []int) string {
	s := ""
	for i, n := range ns {
		if i == 10 {
			return s + ", ..."
		}
		if i > 0 {
			s += ", "
		}
		s += strconv.Itoa(n)
	}
	return s
}
