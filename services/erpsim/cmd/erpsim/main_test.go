package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kp-efaktura/efaktura/services/erpsim"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfig(t *testing.T) {
	c, err := loadConfig([]string{"--secret", "es-1=a", "--secret", "es-2=b=c", "--fail", "0.3", "--delay", "20ms"},
		env(map[string]string{"EFAKTURA_ERPSIM_SECRETS": "es-9=z"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.sim.Secrets) != 2 || c.sim.Secrets["es-1"] != "a" || c.sim.Secrets["es-2"] != "b=c" || c.sim.FailRatio != 0.3 || c.sim.Delay != 20*time.Millisecond || c.addr != ":8090" {
		t.Errorf("loadConfig = %+v, want the flags' secrets over the environment's", c)
	}
	c, err = loadConfig(nil, env(map[string]string{"EFAKTURA_ERPSIM_SECRETS": "es-1=a, es-2=b"}), io.Discard)
	if err != nil || len(c.sim.Secrets) != 2 || c.sim.Secrets["es-2"] != "b" {
		t.Errorf("loadConfig from the environment = %+v, %v", c, err)
	}
	if got := secrets(c.sim.Secrets).String(); got != "es-1=***,es-2=***" {
		t.Errorf("secrets shown as %q, want them masked", got)
	}
}

func TestLoadConfigRejects(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, nil, "no economy system"},
		{[]string{"--secret", "es-1"}, nil, "ID=SECRET"},
		{[]string{"--secret", "es-1=a", "--secret", "es-1=b"}, nil, "twice"},
		{nil, map[string]string{"EFAKTURA_ERPSIM_SECRETS": "es-1=a,broken"}, "EFAKTURA_ERPSIM_SECRETS"},
		{[]string{"--secret", "es-1=a", "--fail", "2"}, nil, "between 0 and 1"},
		{[]string{"--secret", "es-1=a", "--delay", "-1s"}, nil, "negative"},
	} {
		_, err := loadConfig(tc.args, env(tc.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("loadConfig(%q, %v) = %v, want an error about %s", tc.args, tc.env, err, tc.want)
		}
	}
}

func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--http", "127.0.0.1:0", "--secret", "es-1=a"}, env(nil), io.Discard, func(a string) { addrs <- a })
	}()
	var addr string
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("run = %v before listening", err)
	}
	resp, err := http.Get("http://" + addr + erpsim.PathAnswers)
	if err != nil {
		t.Fatal(err)
	}
	var list []erpsim.Recorded
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != http.StatusOK || len(list) != 0 {
		t.Errorf("GET answers = %d %v %v, want 200 and an empty list", resp.StatusCode, list, err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run = %v after shutdown, want nil", err)
	}
}
