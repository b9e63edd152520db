package tenant_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/answer"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestLoadFileYAML(t *testing.T) {
	got, err := tenant.LoadFile("testdata/tenants.yaml", envOf(map[string]string{"EFAKTURA_SECRET_0101": "kbh-secret"}))
	if err != nil {
		t.Fatalf("LoadFile = %v", err)
	}
	if len(got) != 2 || got[0].Kommune != "0101" || got[1].Kommune != "0751" {
		t.Fatalf("LoadFile = %d tenants, want 0101 and 0751", len(got))
	}
	kbh, aar := got[0], got[1]
	if kbh.Name != "København" || kbh.CVR != "64942212" || kbh.EconomySystem.Endpoint != "https://erp.kbh.example/efaktura/svar" {
		t.Errorf("0101 = %+v", kbh)
	}
	if !slices.Equal(kbh.EconomySystem.Secrets, []string{answer.SecretFromRaw("kbh-secret")}) || !slices.Equal(aar.EconomySystem.Secrets, []string{answer.SecretFromRaw("dev-secret-0751")}) {
		t.Errorf("secrets = %q, %q; want kbh-secret from secret_env, dev-secret-0751 from secret, in the whsec_ form", kbh.EconomySystem.Secrets, aar.EconomySystem.Secrets)
	}
	wantTokens := []tenant.Token{
		{Role: tenant.RoleIngest, Name: "opus-kbh", SHA256: tenant.HashToken("ingest-kbh-dev")},
		{Role: tenant.RoleCaseworker, Name: "mj", SHA256: tenant.HashToken("caseworker-kbh-mj")},
	}
	if d := diff(wantTokens, kbh.Tokens); d != "" {
		t.Errorf("0101 tokens, plain in the file:\n%s", d)
	}
	wantTokens = []tenant.Token{
		{Role: tenant.RoleIngest, Name: "prisme-aar", SHA256: tenant.HashToken("ingest-aarhus")},
		{Role: tenant.RoleCaseworker, Name: "ab", SHA256: tenant.HashToken("caseworker-aarhus-ab")}, // upper case in the file
	}
	if d := diff(wantTokens, aar.Tokens); d != "" {
		t.Errorf("0751 tokens, hashed in the file:\n%s", d)
	}
	if raw, _ := json.Marshal(got); strings.Contains(string(raw), "ingest-kbh-dev") {
		t.Error("a plain token from the file is kept in the tenant")
	}
	wantSenders := []tenant.Sender{{Type: "CVR", ID: "12345674"}, {Type: "EAN", ID: "5790000000012"}, {Type: "CVR", ID: "20016175", Nets: true}}
	if d := diff(wantSenders, kbh.Senders); d != "" {
		t.Errorf("0101 senders:\n%s", d)
	}
	if a := kbh.Agreements[tenant.Forside]; a.State != tenant.Approved || a.EconomySystem != "opus-kbh" {
		t.Errorf("0101 forside = %+v; want approved, naming the municipality's economy system", a)
	}
	if ok, _, detail := kbh.AnswersAllowed(); !ok {
		t.Errorf("0101 AnswersAllowed = false: %s", detail)
	}
	if ok, reason, _ := aar.AnswersAllowed(); ok || reason != tenant.ParkAgreementNotApproved {
		t.Errorf("0751 AnswersAllowed = %v, %s; want false, %s", ok, reason, tenant.ParkAgreementNotApproved)
	}
}

func TestLoadFileJSON(t *testing.T) {
	got, err := tenant.LoadFile("testdata/tenants.json", envOf(map[string]string{"EFAKTURA_SECRET_0461": "ode-secret"}))
	if err != nil {
		t.Fatalf("LoadFile = %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("LoadFile = %d tenants, want 1", len(got))
	}
	ode := got[0]
	if ode.Kommune != "0461" || !slices.Equal(ode.EconomySystem.Secrets, []string{answer.SecretFromRaw("ode-secret")}) || len(ode.Senders) != 1 {
		t.Errorf("0461 = %+v", ode)
	}
	wantTokens := []tenant.Token{
		{Role: tenant.RoleIngest, Name: "sap-ode", SHA256: tenant.HashToken("ingest-ode-dev")},
		{Role: tenant.RoleCaseworker, Name: "cd", SHA256: tenant.HashToken("caseworker-ode-cd")},
	}
	if d := diff(wantTokens, ode.Tokens); d != "" {
		t.Errorf("0461 tokens:\n%s", d)
	}
	if a := ode.Agreements[tenant.Bagside]; a.State != tenant.Requested || a.EconomySystem != "sap-ode" {
		t.Errorf("0461 bagside = %+v", a)
	}
}

const validYAML = `tenants:
  - kommune: "0101"
    name: København
    cvr: "64942212"
    economy_system: {id: opus, endpoint: "https://erp.example/svar", secret: s}
`

func TestLoadFileTokensKey(t *testing.T) {
	// Without "tokens" the tenant keeps its stored tokens (nil); "tokens: []" revokes them.
	dir := t.TempDir()
	without := filepath.Join(dir, "without.yaml")
	empty := filepath.Join(dir, "empty.yaml")
	write(t, without, validYAML)
	write(t, empty, validYAML+"    tokens: []\n")
	got, err := tenant.LoadFile(without, nil)
	if err != nil || got[0].Tokens != nil {
		t.Errorf("LoadFile(no tokens key) = tokens %#v, %v; want nil", got[0].Tokens, err)
	}
	got, err = tenant.LoadFile(empty, nil)
	if err != nil || got[0].Tokens == nil || len(got[0].Tokens) != 0 {
		t.Errorf("LoadFile(tokens: []) = tokens %#v, %v; want empty, not nil", got[0].Tokens, err)
	}
}

// Secrets for rotation: a "secrets" list, or a secret_env variable
// holding several whsec_ secrets separated by spaces.
func TestLoadFileSecrets(t *testing.T) {
	oldS, newS := answer.SecretFromRaw("the old secret, 24 bytes+"), answer.SecretFromRaw("the new secret, 24 bytes+")
	dir := t.TempDir()
	list := filepath.Join(dir, "list.yaml")
	write(t, list, strings.Replace(validYAML, "secret: s", "secrets: ["+oldS+", "+newS+"]", 1))
	fromEnv := filepath.Join(dir, "env.yaml")
	write(t, fromEnv, strings.Replace(validYAML, "secret: s", "secret_env: ES_SECRETS", 1))
	plain := filepath.Join(dir, "plain.yaml")
	write(t, plain, strings.Replace(validYAML, "secret: s", "secret_env: ES_PLAIN", 1))
	getenv := envOf(map[string]string{"ES_SECRETS": " " + oldS + "  " + newS + "\n", "ES_PLAIN": "plain secret with spaces"})
	for _, tc := range []struct {
		path string
		want []string
	}{
		{list, []string{oldS, newS}},
		{fromEnv, []string{oldS, newS}},
		{plain, []string{answer.SecretFromRaw("plain secret with spaces")}},
	} {
		got, err := tenant.LoadFile(tc.path, getenv)
		if err != nil || !slices.Equal(got[0].EconomySystem.Secrets, tc.want) {
			t.Errorf("LoadFile(%s) = %d secrets, %v; want %d", filepath.Base(tc.path), len(got), err, len(tc.want))
		}
	}
	bad := filepath.Join(dir, "bad.yaml")
	write(t, bad, strings.Replace(validYAML, "secret: s", "secrets: [raw-secret-in-a-list]", 1))
	if _, err := tenant.LoadFile(bad, nil); !errors.Is(err, tenant.ErrInvalid) || strings.Contains(err.Error(), "raw-secret-in-a-list") {
		t.Errorf("LoadFile(a secrets entry not in the whsec_ form) = %v; want ErrInvalid without the secret", err)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file, content string
		want                []string // each must be in the error
	}{
		{"secret_env unset", "a.yaml", strings.Replace(validYAML, "secret: s", "secret_env: NOT_SET", 1),
			[]string{"tenant 1", `"0101"`, "secret_env NOT_SET is not set"}},
		{"secret and secret_env", "a.yaml", strings.Replace(validYAML, "secret: s", "secret: s, secret_env: SECRET", 1),
			[]string{"secret or secret_env, not both"}},
		{"token and sha256", "a.yaml", validYAML + "    tokens: [{role: ingest, name: x, token: t, sha256: " + strings.Repeat("a", 64) + "}]\n",
			[]string{"sha256 or token, not both"}},
		{"no token", "a.yaml", validYAML + "    tokens: [{role: ingest, name: x}]\n",
			[]string{`token 1 ("x"): give sha256 or token`}},
		{"bad hash", "a.yaml", validYAML + "    tokens: [{role: ingest, name: x, sha256: abc}]\n",
			[]string{`token "x"`, "64 lower-case hex digits"}},
		{"admin token in a tenant", "a.yaml", validYAML + "    tokens: [{role: admin, name: x, token: t}]\n",
			[]string{"role must be ingest or caseworker"}},
		{"unknown field", "a.yaml", strings.Replace(validYAML, "cvr:", "cvrr:", 1),
			[]string{"field cvrr not found"}},
		{"invalid tenant", "a.yaml", strings.Replace(strings.Replace(validYAML, `"64942212"`, `"123"`, 1), "name: København", "name: \"\"", 1),
			[]string{"tenant 1", `cvr "123" is not 8 digits`, "name is empty"}},
		{"duplicate kommune", "a.yaml", validYAML + strings.TrimPrefix(validYAML, "tenants:\n"),
			[]string{"tenant 2", "kommune 0101 is also tenant 1"}},
		{"no tenants", "a.yaml", "tenants: []\n", []string{"no tenants"}},
		{"empty file", "a.yaml", "", []string{"no tenants"}},
		{"not YAML", "a.yaml", "tenants: [\n", []string{"yaml"}},
		{"JSON unknown field", "a.json", `{"tenants": [{"kommune": "0101", "colour": "red"}]}`, []string{`unknown field "colour"`}},
		{"JSON syntax", "a.json", `{"tenants": [}`, []string{"invalid character"}},
		{"extension", "a.toml", validYAML, []string{`extension ".toml"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.file)
			write(t, path, tc.content)
			got, err := tenant.LoadFile(path, envOf(map[string]string{"SECRET": "x"}))
			if err == nil {
				t.Fatalf("LoadFile = %d tenants, nil; want an error", len(got))
			}
			if !errors.Is(err, tenant.ErrInvalid) {
				t.Errorf("LoadFile = %v, want ErrInvalid", err)
			}
			for _, w := range append([]string{path}, tc.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("LoadFile = %q, want it to contain %q", err, w)
				}
			}
		})
	}
	if _, err := tenant.LoadFile(filepath.Join(t.TempDir(), "missing.yaml"), nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadFile(missing) = %v, want fs.ErrNotExist", err)
	}
}

// Seed stores what is missing and leaves stored municipalities alone: a
// restart with a tenants file must not undo the admin API's changes.
func TestSeedStoresOnlyWhatIsMissing(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	tenants, err := tenant.LoadFile("testdata/tenants.yaml", envOf(map[string]string{"EFAKTURA_SECRET_0101": "kbh-secret"}))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := tenant.Seed(ctx, e.store, tenants); err != nil || n != len(tenants) {
		t.Fatalf("Seed = %d, %v; want %d stored", n, err, len(tenants))
	}
	first, err := e.store.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := len(readEvents(t, ctx, e.js))
	changed := slices.Clone(tenants)
	changed[0].Name = "renamed in the file" // a restart with an edited file
	if n, err := tenant.Seed(ctx, e.store, changed); err != nil || n != 0 {
		t.Fatalf("second Seed = %d, %v; want 0 stored", n, err)
	}
	second, err := e.store.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(first, second); d != "" {
		t.Errorf("a second Seed changed the stored tenants:\n%s", d)
	}
	if after := len(readEvents(t, ctx, e.js)); after != before {
		t.Errorf("a second Seed added %d events to the stream, want 0", after-before)
	}
	for _, s := range readEvents(t, ctx, e.js) {
		for _, sec := range []string{"kbh-secret", "dev-secret-0751", "ingest-kbh-dev", tenant.HashToken("ingest-kbh-dev")} {
			if strings.Contains(s.raw, sec) {
				t.Errorf("event %s contains a secret or token", s.event.ID())
			}
		}
	}

	// An invalid tenant does not stop the others.
	bad := example("0153")
	bad.Name = ""
	other := example("0147")
	_, err = tenant.Seed(ctx, e.store, []tenant.Tenant{bad, other})
	if !errors.Is(err, tenant.ErrInvalid) {
		t.Errorf("Seed(invalid, valid) = %v, want ErrInvalid", err)
	}
	if _, err := e.store.Get(ctx, "0147"); err != nil {
		t.Errorf("the valid tenant after an invalid one was not seeded: %v", err)
	}
}
