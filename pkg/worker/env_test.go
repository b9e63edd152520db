package worker

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// envName is what an environment variable's name looks like here.
var envName = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$`)

// readsEnv reports whether a call reads the environment: its function's
// or its receiver's name says so (os.Getenv, os.LookupEnv, getenv, envOr,
// env.Duration), or it is handed a getenv to read with
// (demoToken(getenv, "X")).
func readsEnv(call *ast.CallExpr) bool {
	name := func(e ast.Expr) string {
		switch f := e.(type) {
		case *ast.Ident:
			return f.Name
		case *ast.SelectorExpr:
			if x, ok := f.X.(*ast.Ident); ok {
				return x.Name + "." + f.Sel.Name
			}
			return f.Sel.Name
		}
		return ""
	}
	if strings.Contains(strings.ToLower(name(call.Fun)), "env") {
		return true
	}
	return slices.ContainsFunc(call.Args, func(a ast.Expr) bool {
		return strings.EqualFold(name(a), "getenv")
	})
}

// testSupport are packages only tests import; what they read (CI, ...)
// configures no deployment.
var testSupport = []string{"pkg/natstest", "pkg/redistest", "pkg/worker/workertest"}

// envReadByCode returns the environment variables the repository's non-test
// Go code reads by name, with a file that reads each.
func envReadByCode(t *testing.T, root string) map[string]string {
	t.Helper()
	names := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "bin" || strings.HasPrefix(d.Name(), ".") && rel != "." || d.Name() == "testdata" || slices.Contains(testSupport, rel) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || !readsEnv(call) {
				return true
			}
			for _, a := range call.Args {
				lit, ok := a.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				if s, err := strconv.Unquote(lit.Value); err == nil && envName.MatchString(s) {
					names[s] = rel
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// envDocumented returns the environment variables docs/configuration.md
// names in code spans: `NAME` or `NAME=value`.
func envDocumented(doc string) map[string]bool {
	names := map[string]bool{}
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(doc, -1) {
		name, _, _ := strings.Cut(m[1], "=")
		if envName.MatchString(name) {
			names[name] = true
		}
	}
	return names
}

// otelStandard are variables of the OpenTelemetry specification that the
// OpenTelemetry libraries read themselves (pkg/telemetry/doc.go), which
// docs/configuration.md may name although no efaktura code does.
var otelStandard = map[string]bool{
	"OTEL_EXPORTER_OTLP_PROTOCOL": true,
	"OTEL_EXPORTER_OTLP_HEADERS":  true,
	"OTEL_RESOURCE_ATTRIBUTES":    true,
	"OTEL_TRACES_SAMPLER":         true,
	"OTEL_TRACES_SAMPLER_ARG":     true,
}

// operatorChosen are names that are examples of variables the operator
// names: a tenants file's secret_env.
var operatorChosen = map[string]bool{"EFAKTURA_SECRET_0101": true}

// TestEnvironmentIsDocumented: the flag tables are checked per command
// (workertest.Documented); this covers every variable, with a flag or
// without. Every variable the code reads is in docs/configuration.md, and
// every variable the page names is read by the code, is one of the
// OpenTelemetry libraries' standard variables, or is an example of a name
// the operator chooses.
func TestEnvironmentIsDocumented(t *testing.T) {
	const root = "../.."
	raw, err := os.ReadFile(filepath.Join(root, "docs/configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := envDocumented(string(raw))
	code := envReadByCode(t, root)
	// The scan must see the variables read each way, or it proves nothing.
	for _, name := range []string{"NATS_URL", "EFAKTURA_ADMIN_TOKEN", "EFAKTURA_ACK_WAIT", "EFAKTURA_DEMO_ADMIN_TOKEN", "OTEL_SERVICE_NAME", "RESPOND_BACKOFF", "EFAKTURA_API"} {
		if _, ok := code[name]; !ok {
			t.Errorf("the scan of the code misses %s", name)
		}
	}
	for name, file := range code {
		if !documented[name] {
			t.Errorf("%s reads %s, which docs/configuration.md does not document", file, name)
		}
	}
	for name := range documented {
		if _, ok := code[name]; !ok && !otelStandard[name] && !operatorChosen[name] {
			t.Errorf("docs/configuration.md documents %s, which no code reads", name)
		}
	}
}
