package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/kp-efaktura/efaktura/pkg/cpr"
)

// Headers a dead letter carries besides the original event's.
const (
	headerDLQError      = "Efaktura-Dlq-Error"
	headerDLQDeliveries = "Efaktura-Dlq-Deliveries"
	headerDLQService    = "Efaktura-Dlq-Service"
	headerDLQConsumer   = "Efaktura-Dlq-Consumer"
	headerDLQSubject    = "Efaktura-Dlq-Subject"
	headerDLQStreamSeq  = "Efaktura-Dlq-Stream-Seq"
	headerDLQTime       = "Efaktura-Dlq-Time"
)

// deadLetter stores the original message with the error, the delivery
// count and the consumer in the dead-letter stream, then acks the original.
// If the dead letter cannot be stored, the original is nak'ed instead, so
// nothing is lost.
func (b *Bus) deadLetter(ctx context.Context, r *route, m jetstream.Msg, e cloudevents.Event, deliveries uint64, cause error) {
	span := trace.SpanFromContext(ctx)
	span.RecordError(cause)
	span.SetStatus(codes.Error, "dead-lettered")
	msg := nats.NewMsg(b.cfg.dlqSubject(b.cfg.Service))
	for k, v := range m.Headers() {
		msg.Header[k] = v
	}
	var seq uint64
	if md, err := m.Metadata(); err == nil {
		seq = md.Sequence.Stream
	}
	msg.Header.Set(headerMsgID, fmt.Sprintf("dlq/%s/%d", r.durable, seq))
	// Error texts may quote data; the dead letter must not spread a CPR number.
	msg.Header.Set(headerDLQError, percentEncode(cpr.Mask(cause.Error())))
	msg.Header.Set(headerDLQDeliveries, strconv.FormatUint(deliveries, 10))
	msg.Header.Set(headerDLQService, b.cfg.Service)
	msg.Header.Set(headerDLQConsumer, r.durable)
	msg.Header.Set(headerDLQSubject, m.Subject())
	msg.Header.Set(headerDLQStreamSeq, strconv.FormatUint(seq, 10))
	msg.Header.Set(headerDLQTime, time.Now().UTC().Format(time.RFC3339Nano))
	msg.Data = m.Data()
	log := b.eventLog(r, e, deliveries)
	if _, err := b.js.PublishMsg(ctx, msg); err != nil {
		log.ErrorContext(ctx, "dead letter could not be stored; the event stays for redelivery", "err", err)
		m.NakWithDelay(b.cfg.Backoff[len(b.cfg.Backoff)-1])
		return
	}
	log.ErrorContext(ctx, "event dead-lettered", "err", cpr.Mask(cause.Error()), "stream_seq", seq)
	if r.onFailure != nil {
		if err := b.publish(ctx, r.onFailure(e, cause, int(deliveries), true)); err != nil {
			// The dead letter is stored (its id makes a second copy a
			// duplicate); redeliver to publish the notice again.
			log.ErrorContext(ctx, "dead-letter events not published; the event stays for redelivery", "err", err)
			m.NakWithDelay(b.cfg.Backoff[len(b.cfg.Backoff)-1])
			return
		}
	}
	b.metrics.deadLettered(ctx, r, e.Type())
	b.ack(ctx, r, m, e, deliveries)
}

// DeadLetter is an event a consumer gave up on.
type DeadLetter struct {
	Seq        uint64    // sequence in the dead-letter stream
	Subject    string    // the original subject
	StreamSeq  uint64    // the original's sequence in the event stream
	Service    string    // the worker
	Consumer   string    // its durable consumer
	Error      string    // why it failed, CPR numbers masked
	Deliveries int       // how often it was tried
	At         time.Time // when it was given up
	// Event is the original CloudEvent; EventErr says why it could not be
	// decoded, for events that were malformed to begin with.
	Event    cloudevents.Event
	EventErr error

	header nats.Header
	data   []byte
}

// DeadLetters reads and replays the dead letters of one event stream.
type DeadLetters struct {
	js  jetstream.JetStream
	cfg Config
}

// OpenDeadLetters returns the dead letters of the stream named in cfg
// (Stream; default "EFAKTURA").
func OpenDeadLetters(js jetstream.JetStream, cfg Config) *DeadLetters {
	return &DeadLetters{js: js, cfg: cfg.WithDefaults()}
}

// ErrNoDeadLetter is returned by Get and Replay for an unknown sequence.
var ErrNoDeadLetter = errors.New("bus: no such dead letter")

// List returns up to limit dead letters, oldest first, of one service or
// of all when service is "".
func (d *DeadLetters) List(ctx context.Context, service string, limit int) ([]DeadLetter, error) {
	filter := d.cfg.dlqSubject("*")
	if service != "" {
		filter = d.cfg.dlqSubject(service)
	}
	c, err := d.js.OrderedConsumer(ctx, d.cfg.dlqStream(), jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		return nil, fmt.Errorf("bus: read dead letters: %w", err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("bus: read dead letters: %w", err)
	}
	want := min(int(info.NumPending), limit)
	var out []DeadLetter
	for len(out) < want {
		batch, err := c.Fetch(want-len(out), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, fmt.Errorf("bus: read dead letters: %w", err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				return nil, err
			}
			out = append(out, parseDeadLetter(ctx, md.Sequence.Stream, m.Headers(), m.Data()))
		}
		if err := batch.Error(); err != nil {
			return nil, fmt.Errorf("bus: read dead letters: %w", err)
		}
		if n == 0 {
			break
		}
	}
	return out, nil
}

// Get returns the dead letter with sequence seq.
func (d *DeadLetters) Get(ctx context.Context, seq uint64) (DeadLetter, error) {
	s, err := d.js.Stream(ctx, d.cfg.dlqStream())
	if err != nil {
		return DeadLetter{}, fmt.Errorf("bus: dead-letter stream: %w", err)
	}
	raw, err := s.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return DeadLetter{}, fmt.Errorf("%w: %d", ErrNoDeadLetter, seq)
	}
	if err != nil {
		return DeadLetter{}, fmt.Errorf("bus: dead letter %d: %w", seq, err)
	}
	return parseDeadLetter(ctx, seq, raw.Header, raw.Data), nil
}

// Replay publishes the dead letter seq again on its original subject and
// removes it from the dead-letter stream. Consumers that had completed the
// event skip it (their idempotency store knows it); the one that failed
// gets it again. The replayed copy gets a new Nats-Msg-Id, so the
// duplicate window does not drop it.
func (d *DeadLetters) Replay(ctx context.Context, seq uint64) error {
	dl, err := d.Get(ctx, seq)
	if err != nil {
		return err
	}
	msg := nats.NewMsg(dl.Subject)
	for k, v := range dl.header {
		if !strings.HasPrefix(k, "Efaktura-Dlq-") {
			msg.Header[k] = v
		}
	}
	msg.Header.Set(headerMsgID, fmt.Sprintf("%s/replay/%d", dl.header.Get(headerMsgID), seq))
	msg.Data = dl.data
	if _, err := d.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("bus: replay dead letter %d: %w", seq, err)
	}
	s, err := d.js.Stream(ctx, d.cfg.dlqStream())
	if err != nil {
		return fmt.Errorf("bus: dead-letter stream: %w", err)
	}
	if err := s.DeleteMsg(ctx, seq); err != nil {
		return fmt.Errorf("bus: replayed dead letter %d but could not remove it: %w", seq, err)
	}
	return nil
}

func parseDeadLetter(ctx context.Context, seq uint64, h nats.Header, data []byte) DeadLetter {
	dl := DeadLetter{
		Seq:      seq,
		Subject:  h.Get(headerDLQSubject),
		Service:  h.Get(headerDLQService),
		Consumer: h.Get(headerDLQConsumer),
		Error:    percentDecode(h.Get(headerDLQError)),
		header:   h,
		data:     data,
	}
	dl.StreamSeq, _ = strconv.ParseUint(h.Get(headerDLQStreamSeq), 10, 64)
	dl.Deliveries, _ = strconv.Atoi(h.Get(headerDLQDeliveries))
	dl.At, _ = time.Parse(time.RFC3339Nano, h.Get(headerDLQTime))
	dl.Event, dl.EventErr = decode(ctx, h, data)
	return dl
}
