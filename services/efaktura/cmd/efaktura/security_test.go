package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/pkg/bus/bustest"
	"github.com/kp-efaktura/efaktura/pkg/efaktura"
	"github.com/kp-efaktura/efaktura/pkg/natsauth/natsauthtest"
	"github.com/kp-efaktura/efaktura/pkg/redistest"
	"github.com/kp-efaktura/efaktura/services/erpsim"
	"github.com/kp-efaktura/efaktura/services/validate"
)

// The tenants file of the secured system: municipality 0101, answered by
// an ERP simulator, with the senders of the sample bundles.
const secureTenants = `tenants:
  - kommune: "0101"
    name: Sikker Kommune
    cvr: "29189846"
    economy_system: {id: erp, name: ERP, endpoint: %q, secret: erp-secret}
    senders:
      - {type: CVR, id: "12345674"}
      - {type: CVR, id: "24680134"}
      - {type: EAN, id: "7350000000030"}
    agreements:
      forside: {state: approved}
      bagside: {state: approved}
    tokens:
      - {role: ingest, name: erp, token: ingest-s}
      - {role: caseworker, name: cw, token: case-s}
`

// TestEveryWorkerWithItsOwnIdentity runs the four workers as their bin/
// commands do, each with its own nkey against an embedded server that
// loads the shipped permissions (deploy/nats/permissions.conf), over TLS
// with client certificates of a test CA; idempotency keys in a TLS-only
// Redis with an ACL user; ingest's and decide's APIs on HTTPS. A bundle
// goes the whole way to the economy system, and the server refuses
// nothing on the way. A worker without credentials is refused.
func TestEveryWorkerWithItsOwnIdentity(t *testing.T) {
	ca := natsauthtest.NewCA(t)
	ns := natsauthtest.Start(t, natsauthtest.Options{TLS: ca, Verify: true})
	redisCert, redisKey := ca.Issue(t, "redis", true)
	rs := redistest.StartTLS(t, redistest.TLS{CertFile: redisCert, KeyFile: redisKey, CAFile: ca.File, User: "efaktura", Password: "redis-secret"})
	apiCert, apiKey := ca.Issue(t, "api", true)
	erp := httptest.NewServer(erpsim.New(erpsim.Config{Secrets: map[string]string{"erp": "erp-secret"}}))
	t.Cleanup(erp.Close)
	tenants := filepath.Join(t.TempDir(), "tenants.yaml")
	if err := os.WriteFile(tenants, fmt.Appendf(nil, secureTenants, erp.URL+erpsim.PathAnswers), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	addr := map[string]string{"ingest": freeAddr(t), "decide": freeAddr(t), "admin": freeAddr(t)}
	metrics := map[string]string{}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}, Timeout: 10 * time.Second}
	do := func(method, url, token string, body []byte) (int, []byte, error) {
		req, err := http.NewRequest(method, url, bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if strings.HasSuffix(url, "/v1/bundles") {
			req.Header.Set("Content-Type", "application/xml")
		} else if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	done := make(chan error, len(workers()))
	for _, cmd := range workers() {
		clientCert, clientKey := ca.Issue(t, cmd.Name, false)
		metrics[cmd.Name] = freeAddr(t)
		env := map[string]string{
			"NATS_URL": ns.ClientURL(), "NATS_NKEY": ns.Identities[cmd.Name].SeedFile,
			"NATS_CA": ca.File, "NATS_CERT": clientCert, "NATS_KEY": clientKey,
			"REDIS_URL": rs.URL(), "REDIS_CA": ca.File,
			"EFAKTURA_METRICS": metrics[cmd.Name], "EFAKTURA_HTTP": addr[cmd.Name],
			"EFAKTURA_TLS_CERT": apiCert, "EFAKTURA_TLS_KEY": apiKey,
			"EFAKTURA_ACK_WAIT": "2s", "EFAKTURA_LEASE": "3s", "RESPOND_BACKOFF": "100ms",
			"EFAKTURA_LOG_LEVEL": "warn",
		}
		if cmd.Name == "decide" {
			env["EFAKTURA_TENANTS"] = tenants
			env["EFAKTURA_ADMIN_HTTP"] = addr["admin"]
			env["EFAKTURA_ADMIN_TOKEN"] = "admin-s"
		}
		go func() { done <- cmd.Run(ctx, nil, func(k string) string { return env[k] }) }()
		// Each worker ready (NATS connected as itself, its streams and
		// consumers provisioned, Redis answering over TLS) before the next
		// starts: nats-server v2.15.2 races (-race) between one client's
		// stream update and another's consumer creation on that stream.
		bustest.Eventually(t, cmd.Name+" to be ready", func() error {
			code, body, err := do("GET", "http://"+metrics[cmd.Name]+"/readyz", "", nil)
			if err != nil || code != 200 {
				return fmt.Errorf("GET /readyz: %d %s %v", code, body, err)
			}
			return nil
		})
	}
	t.Cleanup(func() {
		cancel()
		for range workers() {
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("a worker returned %v after shutdown", err)
				}
			case <-time.After(60 * time.Second):
				t.Fatal("a worker did not stop")
			}
		}
	})

	bundle, err := efaktura.Sample(efaktura.SampleOptions{Documents: 3, LinesPerDocument: 2, Seed: 16}).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	bustest.Eventually(t, "ingest to take the bundle over HTTPS", func() error {
		code, body, err := do("POST", "https://"+addr["ingest"]+"/v1/bundles", "ingest-s", bundle)
		if err != nil || code != 202 {
			return fmt.Errorf("POST /v1/bundles: %d %s %v", code, body, err)
		}
		return nil
	})
	approved := map[string]bool{}
	bustest.Eventually(t, "three documents approved", func() error {
		_, body, err := do("GET", "https://"+addr["decide"]+"/v1/documents?state=awaiting_verdict", "case-s", nil)
		if err != nil {
			return err
		}
		var page struct {
			Documents []struct {
				ID string `json:"id"`
			} `json:"documents"`
		}
		json.Unmarshal(body, &page)
		for _, d := range page.Documents {
			if code, _, _ := do("POST", "https://"+addr["decide"]+"/v1/documents/"+d.ID+"/verdict", "case-s", []byte(`{"decision":"approve"}`)); code == 200 {
				approved[d.ID] = true
			}
		}
		if len(approved) < 3 {
			return fmt.Errorf("%d of 3 approved", len(approved))
		}
		return nil
	})
	bustest.Eventually(t, "three answers at the economy system", func() error {
		_, body, err := do("GET", erp.URL+erpsim.PathAnswers, "", nil)
		if err != nil {
			return err
		}
		var answers []erpsim.Recorded
		json.Unmarshal(body, &answers)
		if len(answers) != 3 {
			return fmt.Errorf("%d answers", len(answers))
		}
		return nil
	})
	// The agreements table on decide's admin address reads respond's
	// queues as decide (issue 15): within its permissions.
	if code, body, err := do("GET", "https://"+addr["admin"]+"/v1/agreements", "admin-s", nil); err != nil || code != 200 || !strings.Contains(string(body), `"parked_answers":0`) {
		t.Errorf("GET /v1/agreements on decide's admin address: %d %s %v", code, body, err)
	}
	if v := ns.Violations(); len(v) > 0 {
		t.Errorf("the server refused the workers %d time(s) during the flow: %q", len(v), v)
	}

	t.Run("without credentials", func(t *testing.T) {
		clientCert, clientKey := ca.Issue(t, "anonymous", false)
		env := map[string]string{"NATS_URL": ns.ClientURL(), "NATS_CA": ca.File, "NATS_CERT": clientCert, "NATS_KEY": clientKey,
			"EFAKTURA_METRICS": freeAddr(t), "EFAKTURA_START_WAIT": "1s"}
		err := validate.Command().Run(ctx, nil, func(k string) string { return env[k] })
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization violation") {
			t.Errorf("validate without credentials: %v, want an authorization violation", err)
		}
	})
	t.Run("another worker's identity cannot start validate", func(t *testing.T) {
		// ingest's identity may not create validate's consumer.
		clientCert, clientKey := ca.Issue(t, "ingest-as-validate", false)
		env := map[string]string{"NATS_URL": ns.ClientURL(), "NATS_NKEY": ns.Identities["ingest"].SeedFile,
			"NATS_CA": ca.File, "NATS_CERT": clientCert, "NATS_KEY": clientKey,
			"EFAKTURA_METRICS": freeAddr(t), "EFAKTURA_START_WAIT": "2s"}
		// Its requests get no answer, the replies' subscription being
		// refused: it would wait for ever, hence the timeout.
		run, stop := context.WithTimeout(ctx, 3*time.Second)
		defer stop()
		err := validate.Command().Run(run, nil, func(k string) string { return env[k] })
		if err == nil {
			t.Error("validate ran with ingest's identity")
		}
		refused := false
		for _, v := range ns.Violations() {
			refused = refused || strings.Contains(v, `Subscription Violation - Subject "_INBOX.validate.`)
		}
		if !refused {
			t.Errorf("the server did not refuse ingest's identity validate's replies: %q", ns.Violations())
		}
	})
}
