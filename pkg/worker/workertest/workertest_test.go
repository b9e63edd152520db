package workertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/worker"
)

func TestCommonFlagsAreDocumented(t *testing.T) {
	Documented(t, "../../../docs/configuration.md", "Every worker", worker.Command{Name: "worker"}.FlagSet(), nil)
}

// recorder is a testing.TB that keeps what Documented reports.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// The check must catch drift: a flag the code lacks, one the page misses,
// another default.
func TestDocumentedCatchesDrift(t *testing.T) {
	doc := filepath.Join(t.TempDir(), "configuration.md")
	page := "## Every worker\n\n| `--nats` | `NATS_URL` | `nats://elsewhere:4222` | x |\n| `--gone` | `—` | `—` | x |\n\n## next\n| `--redis` | `REDIS_URL` | `—` | x |\n"
	if err := os.WriteFile(doc, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &recorder{TB: t}
	Documented(r, doc, "Every worker", worker.Command{Name: "worker"}.FlagSet(), nil)
	got := strings.Join(r.errs, "\n")
	for _, want := range []string{
		"--nats documented with env NATS_URL and default nats://elsewhere:4222",
		"--gone is documented but the code has no such flag",
		"--redis is not documented", // the next section's row does not count
	} {
		if !strings.Contains(got, want) {
			t.Errorf("reports lack %q:\n%s", want, got)
		}
	}
}
