package webhookbridge

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qesflow/qesflow/treezor"
)

// Outcomes of one webhook delivery: the values of the "outcome" label and of the "status"
// field of the answer.
const (
	OutcomeSignalled           = "signalled"
	OutcomeDuplicate           = "duplicate" // defined for dashboards; dedupe happens in the workflow, the bridge never sees it
	OutcomeNoOnboarding        = "no-onboarding"
	OutcomeIgnored             = "ignored"
	OutcomeBadSignature        = "bad-signature"
	OutcomeMalformed           = "malformed"
	OutcomeTooLarge            = "too-large"
	OutcomeUnsupportedMedia    = "unsupported-media-type"
	OutcomeTemporalUnavailable = "temporal-unavailable"
	OutcomeBadRequest          = "bad-request"
	// OutcomeUndecodable: a signed event of a handled type whose payload cannot be decoded
	// (answered 500: Treezor redelivers while an operator looks).
	OutcomeUndecodable = "undecodable"
	// OutcomeInconsistent: the unsigned event type contradicts the signed payload (400).
	OutcomeInconsistent = "inconsistent"
	// OutcomeUnroutable: a signed event that names no user to route to (200: a 4xx would
	// mean nothing to Treezor).
	OutcomeUnroutable = "unroutable"
	// OutcomeIdentificationPending: a QES event routed by identification id that visibility
	// does not show yet, within the grace period (503 + Retry-After: Treezor redelivers).
	OutcomeIdentificationPending = "identification-pending"
	// OutcomeWalletPending: a validated SEPA credit transfer whose wallet no onboarding shows
	// in visibility yet, within the payin grace (503 + Retry-After: Treezor redelivers).
	OutcomeWalletPending = "wallet-pending"
)

// eventTypeOther labels webhook types the bridge does not route (keeps the label bounded).
const eventTypeOther = "other"

var knownEventTypes = map[string]bool{
	treezor.EventQESCreated: true, treezor.EventQESProcessing: true, treezor.EventQESAborted: true,
	treezor.EventQESFinalized: true, treezor.EventUserKYCReview: true, treezor.EventDocumentCreate: true,
	treezor.EventPayinCreate: true, treezor.EventPayinUpdate: true, treezor.EventUserKYCRequest: true,
}

func eventTypeLabel(t string) string {
	if knownEventTypes[t] {
		return t
	}
	return eventTypeOther
}

type metrics struct {
	requests            *prometheus.CounterVec
	duration            *prometheus.HistogramVec
	signatureMismatches *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qesflow_bridge_requests_total",
			Help: "Treezor webhooks received by the bridge, by event type and outcome.",
		}, []string{"event_type", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "qesflow_bridge_request_duration_seconds",
			Help:    "Time to handle one Treezor webhook, Temporal signal included, by outcome.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"outcome"}),
		signatureMismatches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qesflow_bridge_signature_mismatches_total",
			Help: "Treezor webhooks whose signature matches no configured secret (answered 500, Treezor redelivers), by hint of the configured secrets.",
		}, []string{"key_hint"}),
	}
	if reg != nil {
		m.requests = registerOrExisting(reg, m.requests)
		m.duration = registerOrExisting(reg, m.duration)
		m.signatureMismatches = registerOrExisting(reg, m.signatureMismatches)
	}
	return m
}

func (m *metrics) observe(eventType, outcome string, elapsed time.Duration) {
	m.requests.WithLabelValues(eventTypeLabel(eventType), outcome).Inc()
	m.duration.WithLabelValues(outcome).Observe(elapsed.Seconds())
}

// registerOrExisting registers c or returns the equal collector registered before (a second
// bridge in the same process shares the series).
func registerOrExisting[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}
