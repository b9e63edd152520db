package respond

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"

	"github.com/kp-efaktura/efaktura/pkg/answer"
	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

// Deliverer sends answers to municipalities' economy systems. It is the
// port of respond to the outside world: [HTTPDeliverer] is the adapter in
// use; a Serviceplatformen SF1590_D (FakturaInformationSvarAfsend) adapter
// will implement it once the service's WSDL is available (it is not
// public, and nothing here imitates it).
//
// Deliver returns the economy system's receipt, or an error; an error that
// is a [*DeliveryError] with Permanent set is not retried (the answer is
// dead-lettered, or its queue paused; see [Worker]), any other error is
// retried with backoff. The same answer
// may be delivered more than once (a retry after a lost response, a
// redelivery after a crash): an adapter must pass the answer's AnswerID on so
// the economy system can drop the repeat.
type Deliverer interface {
	Deliver(ctx context.Context, es tenant.EconomySystem, a answer.Answer) (Receipt, error)
}

// Receipt is what an economy system said when it accepted an answer.
type Receipt struct {
	// Status is its HTTP status code, e.g. 200.
	Status int
}

// DeliveryError is a failed delivery, classified for the retry decision.
type DeliveryError struct {
	// EconomySystem is the id of the economy system addressed.
	EconomySystem string
	// Status is the economy system's HTTP status; 0 when no response came
	// (a network error or timeout) or the request could not be built.
	Status int
	// Permanent is true when a retry cannot help: a 4xx other than 408 and
	// 429, a redirect, or an answer or economy system that cannot be sent
	// (no endpoint, no secret).
	Permanent bool
	// Err is the cause, when there is one besides the status.
	Err error
	// RetryAfter is how long a 429 or 503 asked to wait before the next
	// attempt (its Retry-After header, seconds or a date); 0 when it did
	// not say.
	RetryAfter time.Duration
}

func (e *DeliveryError) Error() string {
	kind := "transient"
	if e.Permanent {
		kind = "permanent"
	}
	switch {
	case e.Status != 0 && e.Err != nil:
		return fmt.Sprintf("deliver answer to economy system %q (%s): status %d %s: %v", e.EconomySystem, kind, e.Status, http.StatusText(e.Status), e.Err)
	case e.Status != 0:
		return fmt.Sprintf("deliver answer to economy system %q (%s): status %d %s", e.EconomySystem, kind, e.Status, http.StatusText(e.Status))
	default:
		return fmt.Sprintf("deliver answer to economy system %q (%s): %v", e.EconomySystem, kind, e.Err)
	}
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// permanentDelivery reports whether err is a [*DeliveryError] marked
// permanent.
func permanentDelivery(err error) bool {
	var de *DeliveryError
	return errors.As(err, &de) && de.Permanent
}

// holdsQueue reports whether a permanent failure is about the economy
// system rather than the answer: refused credentials (401, 403), an
// endpoint that is not there (404, 410), a redirect, or nothing to send
// with. Every answer would fail alike, so the municipality's queue waits,
// in order, for a tenant change. Any other refusal (400, 409, 422, ...) is
// about this answer alone: it is dead-lettered and the queue goes on.
// Without a status (nothing could be sent: no endpoint, no secret) it is
// the economy system's record that must change. A transient failure
// never holds the queue: a network error has no status either.
func holdsQueue(err error) bool {
	var de *DeliveryError
	if !errors.As(err, &de) || !de.Permanent {
		return false
	}
	switch s := de.Status; {
	case s == 0, s == 401, s == 403, s == 404, s == 410, s >= 300 && s < 400:
		return true
	}
	return false
}

// HTTPDeliverer delivers answers as JSON over HTTP: one POST per answer to
// the economy system's endpoint, signed as Standard Webhooks
// (https://www.standardwebhooks.com/) specify:
//
//	Content-Type: application/json
//	Idempotency-Key: <answer id>
//	webhook-id: <answer id>
//	webhook-timestamp: <Unix seconds of this attempt>
//	webhook-signature: v1,<base64 HMAC-SHA256 of id + "." + timestamp + "." + body> ...
//
// with one signature per secret of the economy system (see
// tenant.EconomySystem.Secrets), separated by spaces; the receiver checks
// them with answer.VerifyWebhook. The signatures are made with the
// Standard Webhooks Go library. A 2xx status is a delivery; 408, 429, 5xx
// and network errors are transient, with the Retry-After of a 429 or 503
// in [DeliveryError].RetryAfter; any other status (other 4xx, a redirect,
// which is never followed) is permanent.
//
// Each attempt is an HTTP client span ("POST", with url.template the
// endpoint's path, which holds no ids) in the trace of the context given
// to Deliver.
// It is safe for concurrent use.
type HTTPDeliverer struct {
	// Client sends the requests. [NewHTTPDeliverer] sets one with
	// timeouts that does not follow redirects.
	Client *http.Client
	// Now is the clock of the signature timestamp and of a Retry-After
	// date; nil means time.Now.
	Now func() time.Time
}

var _ Deliverer = (*HTTPDeliverer)(nil)

// DefaultHTTPTimeout bounds one delivery: connect, send, and read the
// economy system's answer.
const DefaultHTTPTimeout = 30 * time.Second

// maxResponse bounds how much of a response body is read (and dropped) so
// the connection can be reused.
const maxResponse = 64 << 10

// DelivererOption configures [NewHTTPDeliverer].
type DelivererOption func(*delivererOptions)

type delivererOptions struct {
	tracer trace.TracerProvider
}

// WithTracerProvider sets the provider of the deliveries' client spans,
// e.g. the bus's (bus.Bus.TracerProvider); default the global one.
func WithTracerProvider(tp trace.TracerProvider) DelivererOption {
	return func(o *delivererOptions) { o.tracer = tp }
}

// NewHTTPDeliverer returns an [HTTPDeliverer] whose requests time out
// after timeout (0 means [DefaultHTTPTimeout]), with connect, TLS and
// response-header timeouts below that, and which traces each request as
// an HTTP client span.
func NewHTTPDeliverer(timeout time.Duration, opts ...DelivererOption) *HTTPDeliverer {
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	var o delivererOptions
	for _, opt := range opts {
		opt(&o)
	}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: min(10*time.Second, timeout), KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   min(10*time.Second, timeout),
		ResponseHeaderTimeout: timeout,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   16,
		ForceAttemptHTTP2:     true,
	}
	otelOpts := []otelhttp.Option{
		// The HTTP client conventions name the span by the method.
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
		// efaktura_delivery_duration_seconds measures deliveries already;
		// no second, unlabelled histogram of the same requests.
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
	}
	if o.tracer != nil {
		otelOpts = append(otelOpts, otelhttp.WithTracerProvider(o.tracer))
	}
	return &HTTPDeliverer{Client: &http.Client{
		Transport: otelhttp.NewTransport(urlTemplate{transport}, otelOpts...),
		Timeout:   timeout,
		// A POST must not silently turn into a GET elsewhere: a redirect
		// is reported as the permanent error it is (fix the endpoint).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// urlTemplate gives the client span otelhttp started url.template: the
// endpoint's path. An economy system's endpoint holds no ids, so the path
// is its own low-cardinality template.
type urlTemplate struct{ next http.RoundTripper }

func (u urlTemplate) RoundTrip(r *http.Request) (*http.Response, error) {
	trace.SpanFromContext(r.Context()).SetAttributes(attribute.String("url.template", cmp.Or(r.URL.Path, "/")))
	return u.next.RoundTrip(r)
}

// Deliver POSTs a to es.Endpoint. It returns a [*DeliveryError] on failure.
func (d *HTTPDeliverer) Deliver(ctx context.Context, es tenant.EconomySystem, a answer.Answer) (Receipt, error) {
	fail := func(status int, permanent bool, err error) (Receipt, error) {
		return Receipt{}, &DeliveryError{EconomySystem: es.ID, Status: status, Permanent: permanent, Err: err}
	}
	u, err := url.Parse(es.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fail(0, true, fmt.Errorf("endpoint %q is not an http or https URL", es.Endpoint))
	}
	secrets := es.SigningSecrets()
	if len(secrets) == 0 {
		return fail(0, true, errors.New("the economy system has no signing secret"))
	}
	if a.AnswerID == "" || strings.Contains(a.AnswerID, ".") {
		return fail(0, true, fmt.Errorf("answer id %q cannot be a webhook-id: empty or holding a full stop", a.AnswerID))
	}
	body, err := json.Marshal(a)
	if err != nil {
		return fail(0, true, fmt.Errorf("encode answer: %w", err))
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	ts := now()
	sigs := make([]string, 0, len(secrets))
	for i, secret := range secrets {
		// The secret was validated as whsec_ when stored (tenant); the
		// error names it by position, never quotes it.
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			return fail(0, true, fmt.Errorf("signing secret %d: not usable", i+1))
		}
		sig, err := wh.Sign(a.AnswerID, ts, body)
		if err != nil {
			return fail(0, true, fmt.Errorf("sign with secret %d: %w", i+1, err))
		}
		sigs = append(sigs, sig)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fail(0, true, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(answer.HeaderIdempotencyKey, a.AnswerID)
	req.Header.Set(answer.HeaderWebhookID, a.AnswerID)
	req.Header.Set(answer.HeaderWebhookTimestamp, answer.Timestamp(ts))
	req.Header.Set(answer.HeaderWebhookSignature, strings.Join(sigs, " "))
	client := d.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fail(0, false, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	resp.Body.Close()
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return Receipt{Status: s}, nil
	case s == http.StatusTooManyRequests, s == http.StatusServiceUnavailable:
		return Receipt{}, &DeliveryError{EconomySystem: es.ID, Status: s,
			RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now())}
	case s == http.StatusRequestTimeout, s >= 500:
		return fail(s, false, nil)
	default:
		return fail(s, true, nil)
	}
}

// parseRetryAfter reads a Retry-After header (RFC 9110 §10.2.3): delay
// seconds, or an HTTP date, counted from now. It returns 0 when the header
// is absent or malformed, or the date has passed.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(v, 10, 63); err == nil {
		// A number of seconds too large for a Duration is as good as forever;
		// the worker bounds it.
		return time.Duration(min(secs, uint64(math.MaxInt64/int64(time.Second)))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now))
	}
	return 0
}
