package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kp-efaktura/efaktura/events"
	"github.com/kp-efaktura/efaktura/pkg/answer"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// The admin API's address and token when neither flag nor environment
// gives them.
const defaultAPI = "http://127.0.0.1:8080"

const (
	tenantSynopsis = "efaktura tenant list [--api URL] [--token TOKEN] [--json]\n" +
		"       efaktura tenant get [--api URL] [--token TOKEN] [--json] KOMMUNE\n" +
		"       efaktura tenant put [--api URL] [--token TOKEN] [--json] FILE\n" +
		"       efaktura tenant secret"
	agreementSynopsis = "efaktura agreement set [--api URL] [--token TOKEN] [--economy-system ID] [--json] KOMMUNE forside|bagside requested|approved|rejected|withdrawn\n" +
		"       efaktura agreement status [--api URL] [--token TOKEN] [--ready true|false] [--mismatch] [--csv|--json]"
)

// runTenant lists, shows and loads municipalities through the admin API.
// Exit status: 0 done, 1 the API refused a tenant (invalid, unknown,
// changed concurrently) or the file's content is invalid, 2 usage, I/O,
// connection and authentication errors.
func runTenant(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	sub, code, ok := subcommand(args, tenantSynopsis, stderr, "list", "get", "put", "secret")
	if !ok {
		return code
	}
	if sub == "secret" {
		return newSecret(args[1:], stdout, stderr)
	}
	fs := newFlagSet("tenant "+sub, tenantSynopsis)
	flags := apiFlagsVar(fs)
	asJSON := fs.Bool("json", false, "print one JSON object per tenant (JSON Lines), as the admin API returns it")
	operands, err := fs.parse(args[1:], stdout, stderr)
	if err != nil {
		return parseStatus(err)
	}
	switch {
	case sub == "list" && len(operands) != 0:
		return fs.usageError(stderr, "list takes no arguments")
	case sub == "get" && len(operands) != 1:
		return fs.usageError(stderr, "get needs one kommune code")
	case sub == "get" && !events.ValidKommune(operands[0]):
		return fs.usageError(stderr, "%q is not a kommune code (4 digits)", operands[0])
	case sub == "put" && len(operands) != 1:
		return fs.usageError(stderr, "put needs one file (YAML or JSON, with a list \"tenants\")")
	}
	c, err := flags.client()
	if err != nil {
		return fs.usageError(stderr, "%v", err)
	}
	name := "efaktura tenant " + sub
	switch sub {
	case "list":
		var list tenant.TenantList
		if err := c.do(ctx, http.MethodGet, "/v1/tenants", nil, &list); err != nil {
			return apiFailure(stderr, name, err)
		}
		if *asJSON {
			return writeJSONLines(stdout, stderr, list.Tenants...)
		}
		writeTenantTable(stdout, list.Tenants)
		return exitOK
	case "get":
		var t tenant.Tenant
		if err := c.do(ctx, http.MethodGet, "/v1/tenants/"+operands[0], nil, &t); err != nil {
			return apiFailure(stderr, name, err)
		}
		if *asJSON {
			return writeJSONLines(stdout, stderr, t)
		}
		writeTenant(stdout, t)
		return exitOK
	default: // put
		return putTenants(ctx, c, operands[0], *asJSON, stdout, stderr)
	}
}

// putTenants PUTs each tenant of a file, going on after a failure.
func putTenants(ctx context.Context, c *adminClient, path string, asJSON bool, stdout, stderr io.Writer) int {
	// Secrets given as secret_env are read from this process's environment.
	tenants, err := tenant.LoadFile(path, os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "efaktura tenant put: %v\n", err)
		if errors.Is(err, tenant.ErrInvalid) {
			return exitInvalid
		}
		return exitError
	}
	status := exitOK
	for _, t := range tenants {
		var saved tenant.Tenant
		if err := c.do(ctx, http.MethodPut, "/v1/tenants/"+t.Kommune, t, &saved); err != nil {
			status = max(status, apiFailure(stderr, "efaktura tenant put: kommune "+t.Kommune, err))
			continue
		}
		if asJSON {
			if code := writeJSONLines(stdout, stderr, saved); code != exitOK {
				return code
			}
			continue
		}
		fmt.Fprintf(stdout, "%s %s: saved, version %d\n", saved.Kommune, show(saved.Name), saved.Version)
	}
	return status
}

// runAgreement records the state of a municipality's service agreement
// through the admin API. Exit status as for runTenant.
func runAgreement(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	sub, code, ok := subcommand(args, agreementSynopsis, stderr, "set", "status")
	if !ok {
		return code
	}
	if sub == "status" {
		return runAgreementStatus(ctx, args, stdout, stderr)
	}
	fs := newFlagSet("agreement set", agreementSynopsis)
	flags := apiFlagsVar(fs)
	economySystem := fs.String("economy-system", "", "`id` of the economy system the agreement names; default: the one it names already, or for a new agreement the municipality's")
	asJSON := fs.Bool("json", false, "print the municipality as JSON, as the admin API returns it")
	operands, err := fs.parse(args[1:], stdout, stderr)
	if err != nil {
		return parseStatus(err)
	}
	if len(operands) != 3 {
		return fs.usageError(stderr, "set needs a kommune code, an agreement (forside or bagside) and a state (requested, approved, rejected or withdrawn)")
	}
	kommune, name, state := operands[0], tenant.AgreementName(operands[1]), tenant.AgreementState(operands[2])
	switch {
	case !events.ValidKommune(kommune):
		return fs.usageError(stderr, "%q is not a kommune code (4 digits)", kommune)
	case name != tenant.Forside && name != tenant.Bagside:
		return fs.usageError(stderr, "agreement %q: expected forside or bagside", name)
	case state != tenant.Requested && state != tenant.Approved && state != tenant.Rejected && state != tenant.Withdrawn:
		return fs.usageError(stderr, "state %q: expected requested, approved, rejected or withdrawn", state)
	}
	c, err := flags.client()
	if err != nil {
		return fs.usageError(stderr, "%v", err)
	}
	var saved tenant.Tenant
	body := tenant.AgreementRequest{State: state, EconomySystem: *economySystem}
	if err := c.do(ctx, http.MethodPut, "/v1/tenants/"+kommune+"/agreements/"+string(name), body, &saved); err != nil {
		return apiFailure(stderr, "efaktura agreement set", err)
	}
	if *asJSON {
		return writeJSONLines(stdout, stderr, saved)
	}
	a := saved.Agreements[name]
	fmt.Fprintf(stdout, "%s %s: %s agreement %s, naming %s (version %d)\n", saved.Kommune, show(saved.Name), name, a.State, show(a.EconomySystem), saved.Version)
	fmt.Fprintf(stdout, "answers: %s\n", answers(saved, true))
	return exitOK
}

// apiFlags are the flags that reach the admin API.
type apiFlags struct {
	api, token *string
	// envs are the environment variables read, in order, when --token is
	// empty; missing is the error when none is set either.
	envs    []string
	missing string
}

func apiFlagsVar(fs *flagSet) apiFlags {
	return apiFlags{
		api: fs.String("api", envOr("EFAKTURA_API", defaultAPI), "admin API base `URL` (env EFAKTURA_API)"),
		// No default from the environment here: -h prints defaults.
		token:   fs.String("token", "", "admin bearer `token`; default env EFAKTURA_ADMIN_TOKEN, which is better: flags show in the process list"),
		envs:    []string{"EFAKTURA_ADMIN_TOKEN"},
		missing: "no admin token: set EFAKTURA_ADMIN_TOKEN or give --token",
	}
}

func (f apiFlags) client() (*adminClient, error) {
	u, err := url.Parse(*f.api)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--api %q is not an http or https URL", *f.api)
	}
	token := *f.token
	for _, env := range f.envs {
		if token == "" {
			token = envOr(env, "")
		}
	}
	if token == "" {
		return nil, errors.New(f.missing)
	}
	return &adminClient{
		base:  strings.TrimRight(u.String(), "/"),
		token: token,
		http:  &http.Client{Timeout: 30 * time.Second},
	}, nil
}

// adminClient calls the admin API (tenant.NewAdminAPI).
type adminClient struct {
	base  string
	token string
	http  *http.Client
}

// apiError is an error answer of the admin API.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s (HTTP %d %s)", e.msg, e.status, http.StatusText(e.status))
}

// do sends in as JSON (when not nil) and decodes a 2xx answer into out.
func (c *adminClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err // names the method and URL, never the token
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read the answer: %w", method, c.base+path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(raw[:min(len(raw), 200)]))
		}
		return &apiError{status: resp.StatusCode, msg: e.Error}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not what the admin API returns: %w", method, c.base+path, err)
	}
	return nil
}

// apiFailure reports err and returns the exit status: 1 when the API refused
// the request's content, 2 otherwise.
func apiFailure(stderr io.Writer, what string, err error) int {
	fmt.Fprintf(stderr, "%s: %v\n", what, err)
	var ae *apiError
	if errors.As(err, &ae) {
		switch ae.status {
		case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge:
			return exitInvalid
		}
	}
	return exitError
}

func writeJSONLines(stdout, stderr io.Writer, ts ...tenant.Tenant) int {
	enc := json.NewEncoder(stdout)
	for _, t := range ts {
		if err := enc.Encode(t.Public()); err != nil {
			fmt.Fprintf(stderr, "efaktura: write: %v\n", err)
			return exitError
		}
	}
	return exitOK
}

func writeTenantTable(w io.Writer, ts []tenant.Tenant) {
	if len(ts) == 0 {
		fmt.Fprintln(w, "no tenants")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KOMMUNE\tNAME\tECONOMY SYSTEM\tFORSIDE\tBAGSIDE\tANSWERS")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Kommune, show(t.Name), show(t.EconomySystem.ID),
			agreementState(t, tenant.Forside), agreementState(t, tenant.Bagside), answers(t, false))
	}
	tw.Flush()
}

func agreementState(t tenant.Tenant, name tenant.AgreementName) string {
	if a, ok := t.Agreements[name]; ok {
		return string(a.State)
	}
	return "-"
}

// answers says whether answers may flow: with the reason code, or in full.
func answers(t tenant.Tenant, full bool) string {
	ok, reason, detail := t.AnswersAllowed()
	switch {
	case ok && full:
		return "allowed: both agreements are approved and name the economy system"
	case ok:
		return "yes"
	case full:
		return "parked: " + detail
	default:
		return "no (" + string(reason) + ")"
	}
}

func writeTenant(w io.Writer, t tenant.Tenant) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "kommune\t%s\n", t.Kommune)
	fmt.Fprintf(tw, "name\t%s\n", show(t.Name))
	fmt.Fprintf(tw, "cvr\t%s\n", show(t.CVR))
	es := t.EconomySystem
	fmt.Fprintf(tw, "economy system\t%s (%s), answers to %s\n", show(es.ID), show(es.Name), show(es.Endpoint))
	for _, name := range tenant.AgreementNames {
		a, ok := t.Agreements[name]
		if !ok {
			fmt.Fprintf(tw, "%s\tnot requested\n", name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s, naming %s, since %s\n", name, a.State, show(a.EconomySystem), a.UpdatedAt.Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "answers\t%s\n", answers(t, true))
	if len(t.Senders) == 0 {
		fmt.Fprint(tw, "senders\tnone\n")
	}
	for i, s := range t.Senders {
		label := ""
		if i == 0 {
			label = "senders"
		}
		nets := ""
		if s.Nets {
			nets = " (Nets)"
		}
		fmt.Fprintf(tw, "%s\t%s %s%s\n", label, show(s.Type), show(s.ID), nets)
	}
	fmt.Fprintf(tw, "version\t%d, changed %s\n", t.Version, t.UpdatedAt.Format(time.RFC3339))
	tw.Flush()
}

// secretBytes is the size of a new signing secret's key: Standard Webhooks
// asks for 24 to 64 random bytes.
const secretBytes = 32

// newSecret prints a new economy-system signing secret in the Standard
// Webhooks form, whsec_ and the base64 of 32 random bytes, for a tenants
// file's secret_env variable or "secrets" list. It talks to no API: the
// secret goes to the economy system and into efaktura by the operator.
func newSecret(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("tenant secret", tenantSynopsis)
	operands, err := fs.parse(args, stdout, stderr)
	if err != nil {
		return parseStatus(err)
	}
	if len(operands) != 0 {
		return fs.usageError(stderr, "secret takes no arguments")
	}
	key := make([]byte, secretBytes)
	if _, err := rand.Read(key); err != nil {
		fmt.Fprintf(stderr, "efaktura tenant secret: %v\n", err)
		return exitError
	}
	fmt.Fprintln(stdout, answer.SecretPrefix+base64.StdEncoding.EncodeToString(key))
	return exitOK
}
