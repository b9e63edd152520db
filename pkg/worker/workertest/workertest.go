// Package workertest checks a worker's flags against the configuration
// reference, docs/configuration.md, so the two cannot drift apart.
package workertest

import (
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/worker"
)

// Doc is the configuration reference, relative to a service's cmd
// package, where the tests that call [Documented] run.
const Doc = "../../../../docs/configuration.md"

// row is one flag of the reference: | `--name` | `ENV` | `default` | text |.
type row struct{ env, def string }

var envOfUsage = regexp.MustCompile(`\(env ([A-Z0-9_]+)`)

// Documented fails t unless the section of doc titled heading lists
// exactly the flags of fs, skip aside, each with the environment variable
// its usage names and its default; "—" stands for none.
func Documented(t testing.TB, doc, heading string, fs *flag.FlagSet, skip func(name string) bool) {
	t.Helper()
	raw, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	rows := section(string(raw), heading)
	if rows == nil {
		t.Fatalf("%s has no section %q", doc, heading)
	}
	seen := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) {
		if skip != nil && skip(f.Name) {
			return
		}
		seen[f.Name] = true
		r, ok := rows[f.Name]
		if !ok {
			t.Errorf("%s, %s: --%s is not documented", doc, heading, f.Name)
			return
		}
		env := "—"
		if m := envOfUsage.FindStringSubmatch(f.Usage); m != nil {
			env = m[1]
		}
		def := f.DefValue
		if def == "" {
			def = "—"
		}
		if r.env != env || r.def != def {
			t.Errorf("%s, %s: --%s documented with env %s and default %s; the code has %s and %s", doc, heading, f.Name, r.env, r.def, env, def)
		}
	})
	for name := range rows {
		if !seen[name] {
			t.Errorf("%s, %s: --%s is documented but the code has no such flag", doc, heading, name)
		}
	}
}

// Common is the set of flags every worker shares.
func Common() map[string]bool {
	names := map[string]bool{}
	worker.Command{Name: "worker"}.FlagSet().VisitAll(func(f *flag.Flag) { names[f.Name] = true })
	return names
}

// section returns the flag rows under "## heading", up to the next "## ".
func section(doc, heading string) map[string]row {
	var rows map[string]row
	for line := range strings.Lines(doc) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "## ") {
			if rows != nil {
				break
			}
			if strings.TrimPrefix(line, "## ") == heading {
				rows = map[string]row{}
			}
			continue
		}
		if rows == nil || !strings.HasPrefix(line, "| `--") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 5 {
			continue
		}
		unquote := func(s string) string { return strings.Trim(strings.TrimSpace(s), "`") }
		rows[strings.TrimPrefix(unquote(cells[1]), "--")] = row{env: unquote(cells[2]), def: unquote(cells[3])}
	}
	return rows
}
