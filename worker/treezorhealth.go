package worker

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qesflow/qesflow/treezor"
)

// infraReasons are the reasons of failures that are ours, not the user's: the values of
// the reason label of qesflow_treezor_failing.
var infraReasons = []string{
	treezor.ReasonUnavailable, treezor.ReasonAuth, treezor.ReasonForbidden, treezor.ReasonTokenRefused,
	treezor.ReasonTLS, treezor.ReasonNetwork, treezor.ReasonTimeout, treezor.ReasonNotTreezor, treezor.ReasonMalformed,
}

// reasonHints tell an operator where to look for each reason.
var reasonHints = map[string]string{
	treezor.ReasonAuth:         "the access token is refused: check TREEZOR_CLIENT_ID and the client secret",
	treezor.ReasonTokenRefused: "the token request is refused: check TREEZOR_CLIENT_ID, the client secret and TREEZOR_SCOPES",
	treezor.ReasonForbidden:    "Treezor answers 403: check TREEZOR_SCOPES and the features enabled for the client",
	treezor.ReasonTLS:          "the TLS handshake fails: check TREEZOR_TLS_CERT_FILE, TREEZOR_TLS_KEY_FILE and TREEZOR_TLS_CA_FILE",
	treezor.ReasonNotTreezor:   "the answer is not Treezor's: check TREEZOR_BASE_URL",
	treezor.ReasonMalformed:    "the answer is not Treezor's: check TREEZOR_BASE_URL",
	treezor.ReasonNetwork:      "Treezor cannot be reached: check TREEZOR_BASE_URL and the network",
	treezor.ReasonTimeout:      "Treezor does not answer in time",
	treezor.ReasonUnavailable:  "Treezor answers 5xx or 429",
}

// TreezorHealth follows the outcome of the worker's Treezor calls: it counts them
// (qesflow_treezor_calls_total{op,outcome}), shows the reason of an ongoing failure
// (qesflow_treezor_failing{reason} is 1 for it) and answers readiness. Treezor calls are
// failing from a call that fails for a reason of ours (treezor.FailureInfra) until the
// next call that gets an answer. Answers about a user (428, 400, 404 user unknown) are
// answers: they do not make the worker unready. Pass Observe as treezor.Config.Observe.
type TreezorHealth struct {
	calls   *prometheus.CounterVec
	failing *prometheus.GaugeVec
	now     func() time.Time

	mu     sync.Mutex
	reason string // "" while calls succeed
	since  time.Time
	last   string // the last failure's text (no secret, URL or user id)
}

// NewTreezorHealth registers the metrics in reg (nil: not registered).
func NewTreezorHealth(reg prometheus.Registerer) *TreezorHealth {
	h := &TreezorHealth{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qesflow_treezor_calls_total",
			Help: "Treezor API calls by operation and outcome (ok, user, canceled, or the reason of a failure that is not the user's).",
		}, []string{"op", "outcome"}),
		failing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "qesflow_treezor_failing",
			Help: "1 for the reason Treezor calls are failing (tls, auth, forbidden, token_refused, not_treezor, ...), 0 otherwise.",
		}, []string{"reason"}),
		now: time.Now,
	}
	for _, r := range infraReasons {
		h.failing.WithLabelValues(r).Set(0)
	}
	if reg != nil {
		reg.MustRegister(h.calls, h.failing)
	}
	return h
}

// Observe records the outcome of one Treezor call.
func (h *TreezorHealth) Observe(op string, err error) {
	kind, reason := treezor.Classify(err)
	outcome := reason
	switch kind {
	case treezor.FailureNone:
		outcome = "ok"
	case treezor.FailureUser:
		outcome = "user"
	}
	h.calls.WithLabelValues(op, outcome).Inc()
	if kind == treezor.FailureCanceled {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if kind != treezor.FailureInfra {
		if h.reason != "" {
			h.failing.WithLabelValues(h.reason).Set(0)
			h.reason, h.last = "", ""
		}
		return
	}
	if h.reason != reason {
		if h.reason != "" {
			h.failing.WithLabelValues(h.reason).Set(0)
		}
		h.reason, h.since = reason, h.now()
		h.failing.WithLabelValues(reason).Set(1)
	}
	h.last = err.Error()
}

// Ready fails while Treezor calls are failing for a reason of ours, naming it.
func (h *TreezorHealth) Ready(context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.reason == "" {
		return nil
	}
	return fmt.Errorf("treezor calls failing (%s) since %s: %s; last error: %s",
		h.reason, h.since.UTC().Format(time.RFC3339), reasonHints[h.reason], h.last)
}
