package workflows

import (
	"strconv"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	"github.com/qesflow/qesflow/treezor"
)

// Business metrics, emitted through the SDK's workflow metrics handler, which drops them while
// a history is replayed (so each is counted once) and adds no command. Label values are
// bounded: states from the enum, reason categories and catalog codes ("other" for a code the
// catalog does not know), decisions clear/reject; never a user id.
const (
	MetricStarted          = "qesflow_onboardings_started_total"
	MetricEnded            = "qesflow_onboardings_ended_total"          // label state
	MetricDuration         = "qesflow_onboarding_duration_seconds"      // label state: start to the terminal state
	MetricAttempts         = "qesflow_onboarding_attempts_total"        // label state: attempts of ended onboardings
	MetricReasons          = "qesflow_reason_codes_total"               // labels category, code
	MetricComplianceOpened = "qesflow_compliance_cases_opened_total"    // no label
	MetricComplianceDone   = "qesflow_compliance_cases_decided_total"   // label decision
	MetricDecisionTime     = "qesflow_compliance_decision_time_seconds" // label decision: case opened to decision
)

// metricsHandler is the run's replay-safe metrics handler.
func metricsHandler(ctx workflow.Context) client.MetricsHandler {
	return workflow.GetMetricsHandler(ctx)
}

// countState counts what entering state s means for the business metrics.
func (o *onboarding) countState(s State) {
	if o.metrics == nil {
		return
	}
	switch {
	case s == StateComplianceReview && o.st.State != StateComplianceReview:
		o.metrics.Counter(MetricComplianceOpened).Inc(1)
	case s.Terminal():
		m := o.metrics.WithTags(map[string]string{"state": string(s)})
		m.Counter(MetricEnded).Inc(1)
		m.Counter(MetricAttempts).Inc(int64(o.st.Attempt))
		if len(o.st.Timeline) > 0 {
			m.Timer(MetricDuration).Record(o.now().Sub(o.st.Timeline[0].Time))
		}
	}
}

// countReason counts one reason code an identification ended with.
func (o *onboarding) countReason(r treezor.Reason) {
	if o.metrics == nil {
		return
	}
	code := "other"
	if r.Known {
		code = strconv.Itoa(r.Code)
	}
	o.metrics.WithTags(map[string]string{"category": string(r.Category), "code": code}).Counter(MetricReasons).Inc(1)
}

// countDecision counts a compliance decision and the time the case waited for it.
func (o *onboarding) countDecision(decision string) {
	if o.metrics == nil {
		return
	}
	m := o.metrics.WithTags(map[string]string{"decision": decision})
	m.Counter(MetricComplianceDone).Inc(1)
	for i := len(o.st.Timeline) - 1; i >= 0; i-- {
		e := o.st.Timeline[i]
		if e.Kind == KindState && e.State == StateComplianceReview && (i == 0 || o.st.Timeline[i-1].State != StateComplianceReview) {
			m.Timer(MetricDecisionTime).Record(o.now().Sub(e.Time))
			return
		}
	}
}
