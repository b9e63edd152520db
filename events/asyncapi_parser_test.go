package events

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// parserDir holds the official AsyncAPI parser (@asyncapi/parser), pinned
// in package.json and package-lock.json; node_modules is not in git.
const parserDir = "testdata/asyncapi"

// TestAsyncAPIParser checks asyncapi.yaml with the official AsyncAPI parser,
// the one AsyncAPI's own tools use: the document must parse, its payload
// $refs must resolve, and it must have no error or warning. It needs Node.js
// (node and npm); the first run installs the pinned parser with npm ci.
// Without node it fails: a silent skip would let the document drift.
func TestAsyncAPIParser(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found (%v): TestAsyncAPIParser runs the official AsyncAPI parser on Node.js; install Node.js 18 or later and npm (Debian: apt-get install nodejs npm)", err)
	}
	installParser(t)
	doc, err := filepath.Abs("asyncapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "parse.mjs", doc)
	cmd.Dir = parserDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node parse.mjs: %v\n%s", err, stderr.String())
	}
	var res struct {
		Valid       bool `json:"valid"`
		Diagnostics []struct {
			Severity int    `json:"severity"`
			Code     string `json:"code"`
			Message  string `json:"message"`
			Path     string `json:"path"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("parser output: %v\n%s", err, out)
	}
	if !res.Valid {
		t.Errorf("the AsyncAPI parser does not accept asyncapi.yaml")
	}
	for _, d := range res.Diagnostics {
		switch d.Severity {
		case 0, 1: // error, warning
			t.Errorf("asyncapi.yaml at %s: %s (%s, severity %d)", d.Path, d.Message, d.Code, d.Severity)
		default: // information, hint: e.g. that AsyncAPI 3.1.0 exists
			t.Logf("asyncapi.yaml at %s: %s (%s)", d.Path, d.Message, d.Code)
		}
	}
}

// installParser runs npm ci in parserDir unless the pinned parser is there.
func installParser(t *testing.T) {
	t.Helper()
	if parserInstalled() {
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("npm not found (%v): TestAsyncAPIParser installs the pinned AsyncAPI parser with npm ci in events/%s", err, parserDir)
	}
	// --ignore-scripts: the parser needs no install script, and none of its
	// dependencies' runs.
	cmd := exec.Command(npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = parserDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in events/%s: %v\n%s", parserDir, err, out)
	}
	if !parserInstalled() {
		t.Fatalf("npm ci in events/%s did not install @asyncapi/parser", parserDir)
	}
}

// parserInstalled reports whether node_modules holds the version
// package-lock.json pins.
func parserInstalled() bool {
	var lock, installed struct {
		Version  string `json:"version"`
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	b, err := os.ReadFile(filepath.Join(parserDir, "package-lock.json"))
	if err != nil || json.Unmarshal(b, &lock) != nil {
		return false
	}
	b, err = os.ReadFile(filepath.Join(parserDir, "node_modules", "@asyncapi", "parser", "package.json"))
	if err != nil || json.Unmarshal(b, &installed) != nil {
		return false
	}
	want := lock.Packages["node_modules/@asyncapi/parser"].Version
	return want != "" && strings.TrimSpace(installed.Version) == want
}
