package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/pkg/natstest"
	"github.com/kp-efaktura/efaktura/services/respond"
)

func TestAnswersSetAsideAndResend(t *testing.T) {
	s := natstest.Start(t)
	js, err := jetstream.New(natstest.Connect(t, s))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: respond.DefaultBucket})
	if err != nil {
		t.Fatal(err)
	}
	const key = "0101.00000000000000000001.answer-1"
	raw, _ := json.Marshal(respond.Parked{
		Answer:   respond.Answer{AnswerID: "answer-1", DocumentID: "doc-1", Kommune: "0101", ReceiptNo: "R1"},
		Attempts: 1, LastError: "economy system erp-sim answered 422",
	})
	if _, err := kv.Put(ctx, "failed."+key, raw); err != nil {
		t.Fatal(err)
	}
	url := s.ClientURL()

	code, stdout, stderr := runCmd(t, nil, "answers", "set-aside", "--nats", url, "--json")
	var got setAsideJSON
	if err := json.Unmarshal([]byte(stdout), &got); code != exitOK || err != nil {
		t.Fatalf("answers set-aside: exit %d, %q, %s", code, stdout, stderr)
	}
	if got.Key != key || got.AnswerID != "answer-1" || got.Attempts != 1 || !strings.Contains(got.LastError, "422") {
		t.Errorf("set-aside = %+v", got)
	}
	if code, _, stderr := runCmd(t, nil, "answers", "resend", "--nats", url, key); code != exitOK {
		t.Fatalf("answers resend: exit %d, %s", code, stderr)
	}
	if _, err := kv.Get(ctx, key); err != nil {
		t.Errorf("the answer is not back in its queue: %v", err)
	}
	if code, stdout, _ := runCmd(t, nil, "answers", "set-aside", "--nats", url); code != exitOK || !strings.Contains(stdout, "no answers set aside") {
		t.Errorf("set-aside after the resend: exit %d, %q", code, stdout)
	}
	if code, _, stderr := runCmd(t, nil, "answers", "resend", "--nats", url, "0101.nothing"); code != exitError || !strings.Contains(stderr, "no answer set aside") {
		t.Errorf("resend of an unknown key: exit %d, %s", code, stderr)
	}
	if code, _, _ := runCmd(t, nil, "answers", "resend", "--nats", url); code == exitOK {
		t.Error("resend without a key succeeded")
	}
}
