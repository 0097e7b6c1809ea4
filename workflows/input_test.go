package workflows

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/qesflow/qesflow/treezor"
)

func TestInputValidation(t *testing.T) {
	cases := []struct {
		name string
		in   Input
		want string
	}{
		{"empty user", Input{}, "user id is empty"},
		{"user with @", Input{UserID: "a@b"}, "character outside"},
		{"long user", Input{UserID: strings.Repeat("1", MaxUserIDLen+1)}, "longer than"},
		{"country", Input{UserID: "42", Country: "DEU"}, "ISO 3166-1"},
		{"redirect", Input{UserID: "42", RedirectURL: "javascript:alert(1)//secret.example"}, "redirect URL is not"},
		{"negative timeout", Input{UserID: "42", Policy: &PolicyOverride{UserTimeout: -time.Second}}, "userTimeout -1s is negative"},
		{"too many attempts", Input{UserID: "42", Policy: &PolicyOverride{MaxAttempts: 99}}, "maxAttempts"},
		{"override code", Input{UserID: "42", Policy: &PolicyOverride{ReasonPolicies: map[int]treezor.Policy{42: treezor.PolicyRetryNow}}}, "code 42 outside"},
		{"override policy", Input{UserID: "42", Policy: &PolicyOverride{ReasonPolicies: map[int]treezor.Policy{3011: "SOMETIMES"}}}, "unknown policy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.in.Validate()
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "secret.example", "errors never quote the redirect URL")
		})
	}
	require.NoError(t, input().Validate())
}

func TestInvalidInputFailsTheWorkflowWithoutCallingTreezor(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	api := newFakeAPI()
	env := newEnv(t, &ts, api)
	env.ExecuteWorkflow(QESOnboarding, Input{UserID: "not/valid"})
	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	require.Error(t, err)
	applicationError(t, err, ErrTypeInvalidInput)
	require.Empty(t, api.initiations())
}
