package webhookbridge

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/qesflow/qesflow/internal/httpserver"
	"github.com/qesflow/qesflow/treezor"
)

// bridge handles POST /webhooks/treezor.
type bridge struct {
	cfg        Config
	log        *zap.Logger
	metrics    *metrics
	keyHint    string
	mismatches mismatchLog
}

// delivery is what the bridge learnt of one webhook, for the answer, the log and the metrics.
type delivery struct {
	eventType  string
	webhookID  string
	userID     string
	workflowID string
	requestID  string
}

// outcome is how a delivery ended: the HTTP status, the outcome label and a short reason
// (never payload data).
type outcome struct {
	status int
	label  string
	reason string
}

func (b *bridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	d := &delivery{requestID: httpserver.RequestIDFrom(r.Context())}
	o := b.handle(r, d)
	elapsed := time.Since(start)
	b.metrics.observe(d.eventType, o.label, elapsed)
	b.logOutcome(r, d, o, elapsed)
	writeAnswer(w, d, o)
}

// handle runs the steps in order: media type, size, envelope, signature, event, route, signal.
// Nothing is signalled unless every check before passed.
func (b *bridge) handle(r *http.Request, d *delivery) outcome {
	if !acceptedMediaType(r.Header.Get("Content-Type")) {
		return outcome{http.StatusUnsupportedMediaType, OutcomeUnsupportedMedia, "content type must be application/json or text/plain"}
	}
	body, o, ok := b.readBody(r)
	if !ok {
		return o
	}
	env, err := treezor.DecodeEnvelope(body)
	if err != nil {
		return outcome{http.StatusBadRequest, OutcomeMalformed, "body is not a Treezor webhook envelope"}
	}
	d.eventType, d.webhookID = env.Webhook, printableID(env.WebhookID)
	if err := treezor.Verify(b.cfg.Secrets, env); err != nil {
		// As Treezor's integrity-checks guide asks: a 5xx, so that Treezor redelivers (what a
		// secret rotation needs); nothing is signalled.
		b.signatureMismatch(d)
		return outcome{http.StatusInternalServerError, OutcomeBadSignature, "signature does not match"}
	}
	b.signatureMatched()
	if !validWebhookID(env.WebhookID) {
		// Treezor always sends a webhook id (a UUID); a body without a usable one is not a
		// Treezor envelope, signed or not.
		return outcome{http.StatusBadRequest, OutcomeMalformed, "webhook_id is missing or invalid"}
	}
	ev, err := env.Event()
	switch {
	case errors.Is(err, treezor.ErrInconsistent):
		// The unsigned type contradicts the signed payload: no redelivery makes it valid.
		return outcome{http.StatusBadRequest, OutcomeInconsistent, "event type does not match the signed payload"}
	case err != nil:
		// A signed event of a type we handle: answer 5xx so Treezor keeps it while an
		// operator looks (logged with the webhook id, counted).
		return outcome{http.StatusInternalServerError, OutcomeUndecodable, "signed payload cannot be decoded for this event type"}
	}
	if !ev.Known {
		return outcome{http.StatusOK, OutcomeIgnored, ""}
	}
	return b.route(r.Context(), ev, d)
}

// readBody reads at most MaxBody bytes; a larger body is refused whole.
func (b *bridge) readBody(r *http.Request) ([]byte, outcome, bool) {
	tooLarge := outcome{http.StatusRequestEntityTooLarge, OutcomeTooLarge, "body exceeds the size limit"}
	if r.ContentLength > b.cfg.MaxBody {
		return nil, tooLarge, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, b.cfg.MaxBody+1))
	if err != nil {
		return nil, outcome{http.StatusBadRequest, OutcomeBadRequest, "body could not be read"}, false
	}
	if int64(len(body)) > b.cfg.MaxBody {
		return nil, tooLarge, false
	}
	return body, outcome{}, true
}

// acceptedMediaType accepts application/json and text/plain (Treezor sends either), with any
// parameters, and a missing Content-Type.
func acceptedMediaType(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || mt == "text/plain"
}

// logOutcome writes the one line of every webhook. It carries what the access log line would
// (route, status, duration, request id), so that line is demoted to debug level
// (httpserver.OutcomeLogged): one line per webhook instead of two.
func (b *bridge) logOutcome(r *http.Request, d *delivery, o outcome, elapsed time.Duration) {
	msg, level := "webhook handled", zapcore.InfoLevel
	switch {
	case o.label == OutcomeUndecodable:
		msg, level = "signed webhook cannot be decoded, Treezor will retry", zapcore.ErrorLevel
	case o.label == OutcomeBadSignature:
		msg, level = "webhook signature does not match, Treezor will retry", zapcore.DebugLevel // logged once per key set (signatureMismatch)
	case o.status >= 500:
		msg, level = "webhook not delivered, Treezor will retry", zapcore.WarnLevel
	case o.status >= 400:
		msg, level = "webhook refused", zapcore.WarnLevel
	}
	ce := b.log.Check(level, msg)
	if ce == nil {
		return
	}
	fields := make([]zap.Field, 0, 10)
	fields = append(fields,
		zap.String("outcome", o.label),
		zap.Int("status", o.status),
		zap.String("eventType", eventTypeLabel(d.eventType)),
		zap.String("webhookId", d.webhookID),
		zap.String("userId", d.userID),
		zap.String("workflowId", d.workflowID),
		zap.String("requestId", d.requestID),
		zap.String("route", r.Pattern),
		zap.Duration("duration", elapsed),
	)
	if o.reason != "" {
		fields = append(fields, zap.String("reason", o.reason))
	}
	ce.Write(fields...)
	httpserver.OutcomeLogged(r.Context())
}
