package devstack

import (
	"io"
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/workflows"
)

// TestBusinessMetricsExported: after a fraud case is opened and rejected, the workflow's
// business metrics are on the stack's /metrics with bounded labels.
func TestBusinessMetricsExported(t *testing.T) {
	s := startStack(t, freeConfig(t.TempDir(), true))
	fraudCase(t, s, "7501")
	code := call(t, http.MethodPost, s.APIURL+"/v1/onboardings/7501/compliance-decision", s.Credentials.ComplianceKey,
		map[string]string{"decision": "reject", "note": "forged"}, nil)
	require.Equal(t, http.StatusOK, code)
	waitState(t, s, "7501", workflows.StateRejected)

	resp, err := http.Get(s.APIURL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	text := string(b)
	for _, want := range []string{
		`(?m)^` + workflows.MetricStarted + `\{[^}]*\} 1$`,
		`(?m)^` + workflows.MetricReasons + `\{[^}]*category="FRAUD_SUSPICION"[^}]*code="3201"[^}]*\} 1$`,
		`(?m)^` + workflows.MetricComplianceOpened + `\{[^}]*\} 1$`,
		`(?m)^` + workflows.MetricComplianceDone + `\{[^}]*decision="reject"[^}]*\} 1$`,
		`(?m)^` + workflows.MetricDecisionTime + `_count\{[^}]*decision="reject"[^}]*\} 1$`,
		`(?m)^` + workflows.MetricEnded + `\{[^}]*state="REJECTED"[^}]*\} 1$`,
		`(?m)^` + workflows.MetricDuration + `_count\{[^}]*state="REJECTED"[^}]*\} 1$`,
	} {
		require.Regexp(t, regexp.MustCompile(want), text)
	}
	require.NotContains(t, text, `"7501"`, "no user id in a label")
}
