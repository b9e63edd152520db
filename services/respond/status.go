package respond

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kp-efaktura/efaktura/events"
)

// QueueStatus is the state of one municipality's answer queue, as
// JetStream keeps it: the consumer respond-answers-<kommune> of the stream
// of queued answers.
type QueueStatus struct {
	Kommune string `json:"kommune"`
	// Paused is set while the queue waits for the municipality's record
	// to change: its agreements do not allow answers, or its economy
	// system refused efaktura.
	Paused bool `json:"paused"`
	// Waiting counts the answers queued, the one being sent included.
	Waiting uint64 `json:"waiting"`
	// HeadQueuedAt is when the answer at the head was queued; zero when
	// none waits.
	HeadQueuedAt time.Time `json:"head_queued_at,omitzero"`
	// Redelivered counts the answers tried more than once and not yet
	// delivered: the head, while it fails.
	Redelivered int `json:"redelivered"`
}

// Queues returns the state of every municipality's answer queue in stream
// (default [DefaultStream]) of the worker named service (default
// "respond"), sorted by kommune.
func Queues(ctx context.Context, js jetstream.JetStream, stream, service string) ([]QueueStatus, error) {
	if stream == "" {
		stream = DefaultStream
	}
	if service == "" {
		service = "respond"
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("respond: answer stream %s: %w", stream, err)
	}
	prefix := service + "-" + QueueHandler("")
	var out []QueueStatus
	lister := s.ListConsumers(ctx)
	for info := range lister.Info() {
		kommune, ok := strings.CutPrefix(info.Name, prefix)
		if !ok || !events.ValidKommune(kommune) {
			continue
		}
		q := QueueStatus{Kommune: kommune, Paused: info.Paused, Waiting: info.NumPending + uint64(info.NumAckPending), Redelivered: info.NumRedelivered}
		if q.Waiting > 0 {
			subject, _ := events.Subject(kommune, events.TypeAnswerQueued)
			head, err := s.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(subject))
			switch {
			case err == nil:
				q.HeadQueuedAt = head.Time.UTC()
			case !errors.Is(err, jetstream.ErrMsgNotFound): // sent meanwhile
				return nil, fmt.Errorf("respond: head of %s's queue: %w", kommune, err)
			}
		}
		out = append(out, q)
	}
	if err := lister.Err(); err != nil {
		return nil, fmt.Errorf("respond: list answer queues: %w", err)
	}
	slices.SortFunc(out, func(a, b QueueStatus) int { return strings.Compare(a.Kommune, b.Kommune) })
	return out, nil
}
