package respond

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

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
// the economy system's endpoint, with the headers
//
//	Content-Type: application/json
//	Idempotency-Key: <answer id>
//	X-Efaktura-Timestamp: <Unix seconds>
//	X-Efaktura-Signature: sha256=<hex HMAC-SHA256 of timestamp + "." + body>
//
// keyed with the economy system's secret (see answer.Sign). A 2xx status is a
// delivery; 408, 429, 5xx and network errors are transient; any other
// status (other 4xx, a redirect, which is never followed) is permanent.
// It is safe for concurrent use.
type HTTPDeliverer struct {
	// Client sends the requests. [NewHTTPDeliverer] sets one with
	// timeouts that does not follow redirects.
	Client *http.Client
	// Now is the clock of the signature timestamp; nil means time.Now.
	Now func() time.Time
}

var _ Deliverer = (*HTTPDeliverer)(nil)

// DefaultHTTPTimeout bounds one delivery: connect, send, and read the
// economy system's answer.
const DefaultHTTPTimeout = 30 * time.Second

// maxResponse bounds how much of a response body is read (and dropped) so
// the connection can be reused.
const maxResponse = 64 << 10

// NewHTTPDeliverer returns an [HTTPDeliverer] whose requests time out
// after timeout (0 means [DefaultHTTPTimeout]), with connect, TLS and
// response-header timeouts below that.
func NewHTTPDeliverer(timeout time.Duration) *HTTPDeliverer {
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
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
	return &HTTPDeliverer{Client: &http.Client{
		Transport: transport,
		Timeout:   timeout,
		// A POST must not silently turn into a GET elsewhere: a redirect
		// is reported as the permanent error it is (fix the endpoint).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
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
	if es.Secret == "" {
		return fail(0, true, errors.New("the economy system has no signing secret"))
	}
	body, err := json.Marshal(a)
	if err != nil {
		return fail(0, true, fmt.Errorf("encode answer: %w", err))
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	ts := answer.Timestamp(now())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fail(0, true, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(answer.HeaderIdempotencyKey, a.AnswerID)
	req.Header.Set(answer.HeaderTimestamp, ts)
	req.Header.Set(answer.HeaderSignature, answer.Sign(es.Secret, ts, body))
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
	case s == http.StatusRequestTimeout, s == http.StatusTooManyRequests, s >= 500:
		return fail(s, false, nil)
	default:
		return fail(s, true, nil)
	}
}
