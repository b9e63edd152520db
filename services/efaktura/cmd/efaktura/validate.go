package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kp-efaktura/efaktura/pkg/efaktura"
)

func runValidate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("validate", "efaktura validate [--format text|json|html|svrl] [--json] [--senders FILE] [--profile sender|delivered] FILE...")
	format := &formatFlag{f: formatText}
	fs.Var(format, "format", "report `format`: text (the default), json (one JSON object per file, JSON Lines), html (one self-contained Danish page) or svrl (ISO Schematron Validation Report Language); html and svrl take one FILE")
	asJSON := fs.Bool("json", false, "the same as --format json")
	sendersFile := fs.String("senders", "", "sender register, a CSV `file` with the header type,id,nets; without it V24 and V48 are not applied")
	profile := profileVar(fs)
	files, err := fs.parse(args, stdout, stderr)
	if err != nil {
		return parseStatus(err)
	}
	if len(files) == 0 {
		return fs.usageError(stderr, "no files given")
	}
	if *asJSON {
		if format.f != formatText && format.f != formatJSON {
			return fs.usageError(stderr, "--json and --format %s contradict each other", format.f)
		}
		format.f = formatJSON
	}
	if (format.f == formatHTML || format.f == formatSVRL) && len(files) > 1 {
		return fs.usageError(stderr, "--format %s writes one document per file; give one FILE (%d given)", format.f, len(files))
	}
	textOut := format.f == formatText
	stdinUses := 0
	for _, f := range files {
		if f == "-" {
			stdinUses++
		}
	}
	if stdinUses > 1 {
		return fs.usageError(stderr, "standard input (-) is named %d times; it can be read once", stdinUses)
	}

	opts := efaktura.Options{Profile: profile.p}
	if *sendersFile != "" {
		senders, err := readSenders(*sendersFile, stdin, files)
		if err != nil {
			fmt.Fprintf(stderr, "efaktura validate: %v\n", err)
			return exitError
		}
		opts.Senders = senders
	}

	out := bufio.NewWriter(stdout)
	status := exitOK
	var notes []skipNote // skipped-rule notes, once each
	seen := map[string]bool{}
	reported := 0
	for _, name := range files {
		if err := ctx.Err(); err != nil {
			fmt.Fprintf(stderr, "efaktura validate: %v\n", err)
			status = exitError
			break
		}
		res, err := validateFile(ctx, name, stdin, opts)
		if err != nil {
			if ferr := out.Flush(); ferr != nil {
				return writeError(stderr, ferr)
			}
			fmt.Fprintf(stderr, "efaktura validate: %v\n", err)
			status = exitError
			continue
		}
		switch format.f {
		case formatHTML:
			if err := writeHTML(out, res); err != nil {
				return writeError(stderr, err)
			}
		case formatSVRL:
			if err := writeSVRL(out, res); err != nil {
				return writeError(stderr, err)
			}
		case formatJSON:
			b, err := json.Marshal(res)
			if err != nil { // cannot happen: Result holds strings, bools and ints
				fmt.Fprintf(stderr, "efaktura validate: %s: %v\n", name, err)
				return exitError
			}
			out.Write(b)
			out.WriteByte('\n')
			if res.Suppressed > 0 {
				if err := out.Flush(); err != nil {
					return writeError(stderr, err)
				}
				fmt.Fprintf(stderr, "note: %s: %s\n", displayName(name), suppressedNote(res.Suppressed))
			}
		default:
			if reported > 0 {
				out.WriteByte('\n')
			}
			writeReport(out, res)
		}
		reported++
		if err := out.Flush(); err != nil {
			return writeError(stderr, err)
		}
		for _, n := range skippedNotes(res.Skipped) {
			if key := n.text(); !seen[key] {
				seen[key] = true
				notes = append(notes, n)
			}
		}
		if !res.Valid && status == exitOK {
			status = exitInvalid
		}
	}
	switch {
	case len(notes) == 0:
	case !textOut:
		short := make([]string, len(notes))
		for i, n := range notes {
			short[i] = n.short()
		}
		fmt.Fprintf(stderr, "note: not applied: %s\n", strings.Join(short, ", "))
	default:
		if reported > 0 {
			out.WriteByte('\n')
		}
		for _, n := range notes {
			fmt.Fprintf(out, "note: %s\n", n.text())
		}
		if err := out.Flush(); err != nil {
			return writeError(stderr, err)
		}
	}
	return status
}

// writeError reports a failed write to stdout.
func writeError(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "efaktura validate: writing the report: %v\n", err)
	return exitError
}

// readSenders reads the sender register from file, which may be "-" when no
// bundle is read from standard input.
func readSenders(file string, stdin io.Reader, files []string) (efaktura.SenderTable, error) {
	if file == "-" {
		for _, f := range files {
			if f == "-" {
				return nil, fmt.Errorf("--senders -: standard input is already the input of a bundle")
			}
		}
	}
	r, err := openInput(file, stdin)
	if err != nil {
		return nil, fmt.Errorf("sender register: %w", err)
	}
	defer r.Close()
	t, err := efaktura.ReadSenders(r)
	if err != nil {
		return nil, fmt.Errorf("sender register %s: %w", displayName(file), err)
	}
	return t, nil
}

// validateFile validates one input. The error names the file.
func validateFile(ctx context.Context, name string, stdin io.Reader, opts efaktura.Options) (*efaktura.Result, error) {
	r, err := openInput(name, stdin)
	if err != nil {
		return nil, err // *PathError names the file
	}
	defer r.Close()
	if f, ok := r.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.IsDir() {
			return nil, fmt.Errorf("%s: is a directory", name)
		}
	}
	opts.File = name
	res, err := efaktura.Validate(ctx, r, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", displayName(name), err)
	}
	return res, nil
}

// writeReport writes the plain-text report on one file.
func writeReport(w io.Writer, res *efaktura.Result) {
	verdict := "INVALID"
	if res.Valid {
		verdict = "VALID"
	}
	fmt.Fprintf(w, "%s: %s (rule set %s)\n", displayName(res.File), verdict, res.Ruleset)
	writeFindings(w, res.Findings)
	if len(res.Documents) == 0 && hasError(res.Findings) {
		fmt.Fprint(w, "  (the bundle is rejected as a whole, so no verdicts on its documents are given)\n")
	}
	valid, findings := 0, len(res.Findings)
	errs, warns := count(res.Findings)
	for _, d := range res.Documents {
		state := "invalid"
		if d.Valid {
			state = "valid"
			valid++
		}
		fmt.Fprintf(w, "document %d (RECEIPT_NO %s, DOCUMENT_NO %s): %s\n", d.Index, show(d.ReceiptNo), show(d.DocumentNo), state)
		writeFindings(w, d.Findings)
		findings += len(d.Findings)
		e, wn := count(d.Findings)
		errs, warns = errs+e, warns+wn
	}
	tally := plural(findings, "finding", "findings")
	if findings > 0 {
		tally += " (" + plural(errs, "error", "errors") + ", " + plural(warns, "warning", "warnings") + ")"
	}
	fmt.Fprintf(w, "summary: %s: %d valid, %d invalid; %s\n",
		plural(len(res.Documents), "document", "documents"), valid, len(res.Documents)-valid, tally)
	if res.Suppressed > 0 {
		fmt.Fprintf(w, "note: %s\n", suppressedNote(res.Suppressed))
	}
}

func writeFindings(w io.Writer, fs []efaktura.Finding) {
	for _, f := range fs {
		at := ""
		if f.Line > 0 {
			at = fmt.Sprintf(" at %d:%d", f.Line, f.Column)
		}
		fmt.Fprintf(w, "  %s %s %s%s: %s\n", f.Rule, f.Severity, f.Path, at, f.Message)
	}
}

func count(fs []efaktura.Finding) (errs, warns int) {
	for _, f := range fs {
		if f.Severity == efaktura.SeverityError {
			errs++
		} else {
			warns++
		}
	}
	return errs, warns
}

func hasError(fs []efaktura.Finding) bool {
	errs, _ := count(fs)
	return errs > 0
}

func suppressedNote(n int) string {
	return fmt.Sprintf("%s left out of the report: the number reported per document and per file is limited", plural(n, "more finding was", "more findings were"))
}

// skippedHints tell how to get a skipped rule applied.
var skippedHints = map[string]string{
	"V24": "use --senders FILE",
	"V48": "use --senders FILE",
	"V10": "this command keeps no record of earlier bundles",
}

// skipNote is one reason why rules were not applied.
type skipNote struct {
	rules  []string
	reason string
	hint   string
}

// text is the text report's form: "V24, V48 not applied: no sender register
// given (use --senders FILE)".
func (n skipNote) text() string {
	s := strings.Join(n.rules, ", ") + " not applied: " + n.reason
	if n.hint != "" {
		s += " (" + n.hint + ")"
	}
	return s
}

// short is the form of the one-line note in JSON mode: "V24, V48 (no sender
// register given; use --senders FILE)".
func (n skipNote) short() string {
	s := strings.Join(n.rules, ", ") + " (" + n.reason
	if n.hint != "" {
		s += "; " + n.hint
	}
	return s + ")"
}

// skippedNotes groups skipped rules by reason, in the order given.
func skippedNotes(skipped []efaktura.SkippedRule) []skipNote {
	var notes []skipNote
	at := map[string]int{}
	for _, s := range skipped {
		i, ok := at[s.Reason]
		if !ok {
			i = len(notes)
			at[s.Reason] = i
			notes = append(notes, skipNote{reason: s.Reason, hint: skippedHints[s.Rule]})
		}
		notes[i].rules = append(notes[i].rules, s.Rule)
	}
	return notes
}
