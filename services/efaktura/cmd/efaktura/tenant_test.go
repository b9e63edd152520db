package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/pkg/answer"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

const (
	testAdminToken = "cli-admin-token"
	testSecret     = "cli-signing-secret"
)

// adminServer serves tenant.NewAdminAPI over a real store on an embedded
// JetStream and returns its URL.
func adminServer(t *testing.T) (string, *tenant.Store) {
	t.Helper()
	s := natstest.Start(t)
	nc := natstest.Connect(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	nop := func(context.Context, ...cloudevents.Event) error { return nil }
	store, err := tenant.NewStore(ctx, js, tenant.StoreConfig{}, nop)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := tenant.NewRegistry(ctx, js, tenant.StoreConfig{}, tenant.HashToken(testAdminToken))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant.NewAdminAPI(store, reg))
	t.Cleanup(srv.Close)
	return srv.URL, store
}

const tenantsYAML = `tenants:
  - kommune: "0751"
    name: Aarhus
    cvr: "55133018"
    economy_system:
      id: prisme-aar
      name: Fujitsu Prisme
      endpoint: https://erp.aarhus.example/svar
      secret_env: CLI_TEST_SECRET
    senders:
      - {type: CVR, id: "12345674", nets: false}
      - {type: EAN, id: "5790000000012", nets: true}
    agreements:
      forside: {state: approved}
      bagside: {state: requested}
    tokens:
      - {role: ingest, name: prisme-aar, token: cli-ingest-token}
  - kommune: "0101"
    name: København
    cvr: "64942212"
    economy_system: {id: opus-kbh, name: KMD Opus, endpoint: "https://erp.kbh.example/svar", secret: kbh-secret}
    agreements:
      forside: {state: approved}
      bagside: {state: approved}
`

func TestTenantCommands(t *testing.T) {
	url, store := adminServer(t)
	t.Setenv("CLI_TEST_SECRET", testSecret)
	file := writeFile(t, "tenants.yaml", []byte(tenantsYAML))
	api := []string{"--api", url, "--token", testAdminToken}
	cmd := func(args ...string) []string { return append(args, api...) }

	code, stdout, stderr := runCmd(t, nil, cmd("tenant", "put", file)...)
	if code != exitOK || !strings.Contains(stdout, "0751 Aarhus: saved, version") || !strings.Contains(stdout, "0101 København: saved") {
		t.Fatalf("tenant put: exit %d, %q, %q", code, stdout, stderr)
	}
	stored, err := store.Get(context.Background(), "0751")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(stored.EconomySystem.Secrets, []string{answer.SecretFromRaw(testSecret)}) || len(stored.Tokens) != 1 || stored.Tokens[0].SHA256 != tenant.HashToken("cli-ingest-token") {
		t.Errorf("after tenant put, 0751 = %+v; want the plain secret from the environment as whsec_ and the hashed token", stored)
	}

	// Rotation: tenant secret makes a new whsec_ secret; the variable holds
	// the old and the new one, then the new one alone.
	code, stdout, stderr = runCmd(t, nil, "tenant", "secret")
	newSecret := strings.TrimSpace(stdout)
	if key, err := answer.ParseSecret(newSecret); code != exitOK || err != nil || len(key) != 32 {
		t.Fatalf("tenant secret: exit %d, %d bytes of key, %v, %q", code, len(key), err, stderr)
	}
	if _, again, _ := runCmd(t, nil, "tenant", "secret"); strings.TrimSpace(again) == newSecret {
		t.Error("tenant secret printed the same secret twice")
	}
	for _, secrets := range [][]string{{answer.SecretFromRaw(testSecret), newSecret}, {newSecret}} {
		t.Setenv("CLI_TEST_SECRET", strings.Join(secrets, " "))
		if code, _, stderr := runCmd(t, nil, cmd("tenant", "put", file)...); code != exitOK {
			t.Fatalf("tenant put with %d secrets: exit %d, %s", len(secrets), code, stderr)
		}
		if stored, _ = store.Get(context.Background(), "0751"); !slices.Equal(stored.EconomySystem.Secrets, secrets) {
			t.Errorf("after tenant put, 0751 has %d secrets, want %d", len(stored.EconomySystem.Secrets), len(secrets))
		}
	}

	code, stdout, stderr = runCmd(t, nil, cmd("tenant", "list")...)
	if code != exitOK {
		t.Fatalf("tenant list: exit %d, %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("tenant list = %q, want a header and 2 rows", stdout)
	}
	for i, want := range [][]string{
		{"KOMMUNE", "NAME", "ECONOMY SYSTEM", "FORSIDE", "BAGSIDE", "ANSWERS"},
		{"0101", "København", "opus-kbh", "approved", "approved", "yes"},
		{"0751", "Aarhus", "prisme-aar", "approved", "requested", "no (agreement_not_approved)"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("tenant list line %d = %q, want %q in it", i+1, lines[i], w)
			}
		}
	}

	code, stdout, _ = runCmd(t, nil, cmd("tenant", "list", "--json")...)
	var rows []tenant.Tenant
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var tn tenant.Tenant
		if err := json.Unmarshal([]byte(line), &tn); err != nil {
			t.Fatalf("tenant list --json line %q: %v", line, err)
		}
		rows = append(rows, tn)
	}
	if code != exitOK || len(rows) != 2 || rows[0].Kommune != "0101" || rows[1].Senders[1].ID != "5790000000012" {
		t.Errorf("tenant list --json: exit %d, %+v", code, rows)
	}

	code, stdout, stderr = runCmd(t, nil, cmd("tenant", "get", "0751")...)
	for _, want := range []string{"kommune         0751", "Fujitsu Prisme", "https://erp.aarhus.example/svar", "bagside         requested, naming prisme-aar",
		"answers         parked: the bagside agreement is requested, not approved", "EAN 5790000000012 (Nets)", "version"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("tenant get 0751 lacks %q:\n%s", want, stdout)
		}
	}
	if code != exitOK {
		t.Errorf("tenant get: exit %d, %s", code, stderr)
	}

	code, stdout, stderr = runCmd(t, nil, cmd("agreement", "set", "0751", "bagside", "approved")...)
	if code != exitOK || !strings.Contains(stdout, "0751 Aarhus: bagside agreement approved, naming prisme-aar") || !strings.Contains(stdout, "answers: allowed") {
		t.Errorf("agreement set: exit %d, %q, %q", code, stdout, stderr)
	}
	code, stdout, _ = runCmd(t, nil, cmd("agreement", "set", "--economy-system", "other", "0751", "forside", "approved", "--json")...)
	var tn tenant.Tenant
	if err := json.Unmarshal([]byte(stdout), &tn); err != nil || code != exitOK {
		t.Fatalf("agreement set --json: exit %d, %q: %v", code, stdout, err)
	}
	if a := tn.Agreements[tenant.Forside]; a.EconomySystem != "other" {
		t.Errorf("agreement set --economy-system other: forside = %+v", a)
	}

	// Nothing printed holds a secret or a token hash.
	for _, args := range [][]string{cmd("tenant", "list", "--json"), cmd("tenant", "get", "0751", "--json"), cmd("tenant", "get", "0751")} {
		_, stdout, _ := runCmd(t, nil, args...)
		for _, sec := range []string{testSecret, "kbh-secret", answer.SecretFromRaw("kbh-secret"), newSecret, tenant.HashToken("cli-ingest-token"), `"secret"`, `"secrets"`, `"tokens"`} {
			if strings.Contains(stdout, sec) {
				t.Errorf("%v prints %q", args, sec)
			}
		}
	}
}

func TestTenantCommandErrors(t *testing.T) {
	url, _ := adminServer(t)
	t.Setenv("EFAKTURA_ADMIN_TOKEN", "")
	t.Setenv("CLI_TEST_SECRET", "")
	api := []string{"--api", url, "--token", testAdminToken}
	invalid := writeFile(t, "bad.yaml", []byte(strings.Replace(tenantsYAML, `cvr: "55133018"`, `cvr: "1"`, 1)))
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no subcommand", []string{"tenant"}, exitError, "Usage: efaktura tenant list"},
		{"unknown subcommand", []string{"tenant", "delete"}, exitError, "Usage: efaktura tenant list"},
		{"help", []string{"tenant", "-h"}, exitOK, "Usage: efaktura tenant list"},
		{"get without kommune", append([]string{"tenant", "get"}, api...), exitError, "get needs one kommune code"},
		{"get bad kommune", append([]string{"tenant", "get", "abc"}, api...), exitError, `"abc" is not a kommune code`},
		{"list with operand", append([]string{"tenant", "list", "x"}, api...), exitError, "list takes no arguments"},
		{"no token", []string{"tenant", "list", "--api", url}, exitError, "no admin token"},
		{"bad api", []string{"tenant", "list", "--api", "ftp://x", "--token", "t"}, exitError, "is not an http or https URL"},
		{"wrong token", []string{"tenant", "list", "--api", url, "--token", "wrong"}, exitError, "HTTP 401"},
		{"unknown tenant", append([]string{"tenant", "get", "0999"}, api...), exitInvalid, "HTTP 404"},
		{"unreachable", []string{"tenant", "list", "--api", "http://127.0.0.1:1", "--token", "t"}, exitError, "efaktura tenant list:"},
		{"put missing file", append([]string{"tenant", "put", "/nonexistent/tenants.yaml"}, api...), exitError, "no such file"},
		{"put invalid file", append([]string{"tenant", "put", invalid}, api...), exitInvalid, `cvr "1" is not 8 digits`},
		{"agreement no subcommand", []string{"agreement"}, exitError, "Usage: efaktura agreement set"},
		{"agreement few operands", append([]string{"agreement", "set", "0101", "forside"}, api...), exitError, "set needs a kommune code"},
		{"agreement bad name", append([]string{"agreement", "set", "0101", "middle", "approved"}, api...), exitError, `agreement "middle"`},
		{"agreement bad state", append([]string{"agreement", "set", "0101", "forside", "pending"}, api...), exitError, `state "pending"`},
		{"agreement unknown tenant", append([]string{"agreement", "set", "0999", "forside", "approved"}, api...), exitInvalid, "HTTP 404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, nil, tc.args...)
			out := stderr
			if tc.code == exitOK {
				out = stdout + stderr
			}
			if code != tc.code || !strings.Contains(out, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.stderr)
			}
			if strings.Contains(stderr, testAdminToken) {
				t.Errorf("stderr shows the token: %q", stderr)
			}
		})
	}
}

func TestTenantPutGoesOnAfterARefusal(t *testing.T) {
	url, store := adminServer(t)
	t.Setenv("CLI_TEST_SECRET", testSecret)
	// Every tenant of the file is tried, and the worst status wins.
	file := writeFile(t, "tenants.yaml", []byte(tenantsYAML))
	code, _, stderr := runCmd(t, nil, "tenant", "put", file, "--api", url, "--token", "wrong")
	if code != exitError || strings.Count(stderr, "HTTP 401") != 2 {
		t.Errorf("tenant put with a wrong token: exit %d, %q; want 2 and both tenants refused", code, stderr)
	}
	if _, err := store.Get(context.Background(), "0751"); err == nil {
		t.Error("a tenant was saved without a valid token")
	}
}

func TestTenantTokenFromEnvironment(t *testing.T) {
	url, _ := adminServer(t)
	t.Setenv("EFAKTURA_ADMIN_TOKEN", testAdminToken)
	t.Setenv("EFAKTURA_API", url)
	code, stdout, stderr := runCmd(t, nil, "tenant", "list")
	if code != exitOK || stdout != "no tenants\n" {
		t.Errorf("tenant list with EFAKTURA_ADMIN_TOKEN and EFAKTURA_API: exit %d, %q, %q", code, stdout, stderr)
	}
	_, stdout, _ = runCmd(t, nil, "tenant", "list", "-h")
	if strings.Contains(stdout, testAdminToken) {
		t.Errorf("tenant list -h shows the token from the environment:\n%s", stdout)
	}
}
