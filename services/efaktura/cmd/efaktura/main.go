// Command efaktura validates e-faktura 2.1.0 bundles against the rules of the
// format, shows how their checksums add up and writes valid sample bundles;
// it also runs the whole system in one process and operates a running one.
//
// Usage:
//
//	efaktura validate [--json] [--senders FILE] [--profile sender|delivered] FILE...
//	efaktura checksum [--profile sender|delivered] FILE
//	efaktura sample [--documents N] [--lines N] [--seed N] [--zip] [-o FILE]
//	efaktura up [--http ADDR] [--data DIR] [--agreements approved|pending] [--tenants FILE]
//	            [--nats-port N] [--nats-max-memory SIZE] [--nats-max-store SIZE] [--nats URL [--replicas N]]
//	efaktura dlq list|replay ...
//	efaktura answers list ...
//	efaktura retention [--dry-run] [--within D] ...
//	efaktura trace [--api URL] DOCUMENT_ID
//	efaktura tenant list|get|put ...
//	efaktura agreement set ...
//	efaktura version
//	efaktura help
//
// "efaktura COMMAND -h" shows a command's flags; docs/configuration.md
// lists those of up and the environment the commands read.
//
// A FILE of "-" reads standard input. A bundle is plain XML or a ZIP archive
// holding one XML file.
//
// validate prints a plain-text report per file, or with --json one JSON
// object per file (JSON Lines) in the form of the library's Result. The rules
// V24 and V48 need the sender register, a CSV file with the header
// type,id,nets given with --senders; without it they are not applied. The
// duplicate-bundle check V10 needs a register of earlier bundles and is never
// applied by this command.
//
// Exit status: 0 when every file is valid (checksum: every checksum matches),
// 1 when a file is invalid (checksum: a checksum does not match), 2 on usage
// and I/O errors.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strconv"
	"syscall"
	"unicode"

	"github.com/kp-efaktura/efaktura/pkg/efaktura"
)

// Exit statuses.
const (
	exitOK      = 0 // every file valid, every checksum matches
	exitInvalid = 1 // a file is invalid or a checksum does not match
	exitError   = 2 // usage or I/O error
)

// stopSignals end a command cleanly: up drains its workers and exits 0.
// SIGTERM is what container runtimes and systemd send to stop a process
// (issue 10); SIGINT is Ctrl-C.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"validate", "check bundles against the e-faktura 2.1.0 rules", runValidate},
		{"checksum", "show each document's declared and computed checksum and the bundle's sums", runChecksum},
		{"sample", "write a valid sample bundle", runSample},
		{"up", "run the whole system in one process on embedded defaults", runUp},
		{"dlq", "list or replay dead letters: events a worker gave up on", runDLQ},
		{"answers", "show the municipalities' answer queues: paused or sending, how many wait, the oldest", runAnswers},
		{"trace", "print one document's way through the workers as a timeline, with its trace id", runTrace},
		{"bundle", "show what became of a bundle: each document's state and answer", runBundle},
		{"retention", "report what each store keeps and what its retention removes soon (deletes nothing)", runRetention},
		{"tenant", "list, get or put municipalities through the admin API; make a signing secret", runTenant},
		{"agreement", "set a municipality's forside or bagside service agreement", runAgreement},
		{"rules", "get or set a municipality's straight-through rules", runRules},
		{"version", "print the rule-set version and the program version", runVersion},
		{"help", "show this help", nil},
	}
}

// run is the whole program; main only binds it to the process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitError
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] && c.run != nil {
			return c.run(ctx, args[1:], stdin, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "efaktura: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitError
}

func usage(w io.Writer) {
	fmt.Fprint(w, "efaktura checks e-faktura 2.1.0 bundles (XML, or a ZIP archive holding one XML file),\nruns the whole system in one process, and operates a running one.\n\n")
	fmt.Fprint(w, "Usage:\n\n\tefaktura <command> [flags] [arguments]\n\nCommands:\n\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "\t%-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun \"efaktura <command> -h\" for a command's flags. A FILE of \"-\" reads standard input.\n")
	fmt.Fprint(w, "Exit status: 0 done (validate: all valid), 1 something invalid or refused, 2 usage or I/O error.\n")
}

// subcommand returns args[0] when it is one of subs. Otherwise it prints
// the synopsis and ok is false, with the exit status: 0 when help was
// asked for, 2 for a missing or unknown subcommand.
func subcommand(args []string, synopsis string, stderr io.Writer, subs ...string) (sub string, status int, ok bool) {
	if len(args) > 0 && slices.Contains(subs, args[0]) {
		return args[0], exitOK, true
	}
	fmt.Fprintf(stderr, "Usage: %s\n", synopsis)
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		return "", exitOK, false
	}
	return "", exitError, false
}

// flagSet is a subcommand's flags with its usage line.
type flagSet struct {
	*flag.FlagSet
	synopsis string
}

// newFlagSet returns the flag set of subcommand name. Errors are reported by
// parse, not by the flag package.
func newFlagSet(name, synopsis string) *flagSet {
	fs := flag.NewFlagSet("efaktura "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{fs, synopsis}
}

// printUsage writes the command's usage line and flags to w.
func (fs *flagSet) printUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n", fs.synopsis)
	has := false
	fs.VisitAll(func(*flag.Flag) { has = true })
	if has {
		fmt.Fprint(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// errHelp tells a command that -h was given and its usage printed.
var errHelp = errors.New("help requested")

// parse parses flags and operands, which may be mixed: "validate a.xml
// --json" works like "validate --json a.xml". Everything after "--" is an
// operand. On -h it prints the usage to stdout and returns errHelp; on a bad
// flag it prints the problem and the usage to stderr.
func (fs *flagSet) parse(args []string, stdout, stderr io.Writer) ([]string, error) {
	var operands []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.printUsage(stdout)
			return nil, errHelp
		}
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
			fs.printUsage(stderr)
			return nil, err
		}
		rest := fs.Args()
		consumed := args[:len(args)-len(rest)]
		if len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			return append(operands, rest...), nil
		}
		if len(rest) == 0 {
			return operands, nil
		}
		operands = append(operands, rest[0])
		args = rest[1:]
	}
}

// parseStatus is the exit status after parse failed: 0 after -h.
func parseStatus(err error) int {
	if errors.Is(err, errHelp) {
		return exitOK
	}
	return exitError
}

// usageError reports a usage problem and returns exitError.
func (fs *flagSet) usageError(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "%s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.printUsage(stderr)
	return exitError
}

// profileFlag is the --profile flag.
type profileFlag struct{ p efaktura.Profile }

func (f *profileFlag) String() string { return string(f.p) }

func (f *profileFlag) Set(s string) error {
	switch p := efaktura.Profile(s); p {
	case efaktura.ProfileSender, efaktura.ProfileDelivered:
		f.p = p
		return nil
	}
	return fmt.Errorf("must be %s or %s", efaktura.ProfileSender, efaktura.ProfileDelivered)
}

func profileVar(fs *flagSet) *profileFlag {
	f := &profileFlag{p: efaktura.ProfileSender}
	fs.Var(f, "profile", "`name` of the profile: sender for files as an ERP sends them (no stylesheet instruction), delivered for files as the hub delivers them")
	return f
}

// openInput opens name, or returns stdin for "-". The name shown for stdin
// is "-", the library's default.
func openInput(name string, stdin io.Reader) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(stdin), nil
	}
	return os.Open(name)
}

// displayName is how a file is named in text output.
func displayName(name string) string {
	if name == "-" {
		return "<stdin>"
	}
	return name
}

// show renders a value from a file for a plain-text line: as written when it
// is non-empty and printable, quoted otherwise.
func show(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// plural renders n with the singular or plural noun.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func runVersion(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", "efaktura version")
	operands, err := fs.parse(args, stdout, stderr)
	if err != nil {
		return parseStatus(err)
	}
	if len(operands) > 0 {
		return fs.usageError(stderr, "takes no arguments")
	}
	version := "(unknown)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				version += " " + s.Value
			}
		}
	}
	fmt.Fprintf(stdout, "efaktura %s\nrule set %s\n", version, efaktura.Ruleset)
	return exitOK
}
