package workflows

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/qesflow/qesflow/activities"
	"github.com/qesflow/qesflow/treezor"
)

const testUser = "42"

// testLogger discards the SDK's logs unless QESFLOW_TEST_LOG is set.
func testLogger() log.Logger {
	var w io.Writer = io.Discard
	if os.Getenv("QESFLOW_TEST_LOG") != "" {
		w = os.Stderr
	}
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(w, nil)))
}

// newEnv is a test environment with the workflow and the real activities over api.
func newEnv(t *testing.T, ts *testsuite.WorkflowTestSuite, api *fakeAPI) *testsuite.TestWorkflowEnvironment {
	ts.SetLogger(testLogger())
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(QESOnboarding, workflow.RegisterOptions{Name: WorkflowName})
	env.RegisterActivity(&activities.Activities{Treezor: api, Store: activities.FSDocumentStore{Dir: t.TempDir()}})
	env.SetTestTimeout(20 * time.Second)
	return env
}

// input is the default test input (France: no SEPA step) with opts applied.
func input(opts ...func(*Input)) Input {
	in := Input{UserID: testUser, Country: "FR", RedirectURL: "https://app.example/onboarding/done"}
	for _, opt := range opts {
		opt(&in)
	}
	return in
}

func policy(in *Input) *PolicyOverride {
	if in.Policy == nil {
		in.Policy = &PolicyOverride{}
	}
	return in.Policy
}

// OnboardingSuite runs the workflow in the SDK's test environment (mock clock) with the
// real activities over an in-memory Treezor.
type OnboardingSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env   *testsuite.TestWorkflowEnvironment
	api   *fakeAPI
	start time.Time
	// scheduled and ran count the delayed callbacks: every one must have run, or an
	// assertion inside it was silently skipped.
	scheduled, ran int
	// noAutoDocuments turns off the document.create webhook that follows every successful
	// qes.finalized (as at Treezor) for tests that send their own.
	noAutoDocuments bool
}

func TestOnboardingSuite(t *testing.T) { suite.Run(t, new(OnboardingSuite)) }

func (s *OnboardingSuite) SetupTest() {
	s.api = newFakeAPI()
	s.env = newEnv(s.T(), &s.WorkflowTestSuite, s.api)
	s.start = s.env.Now()
	s.scheduled, s.ran = 0, 0
	s.noAutoDocuments = false
}

func (s *OnboardingSuite) SetupSubTest() { s.SetupTest() }

func (s *OnboardingSuite) TearDownSubTest() { s.TearDownTest() }

func (s *OnboardingSuite) TearDownTest() {
	s.env.AssertExpectations(s.T())
	s.Equal(s.scheduled, s.ran, "every scheduled callback (signals, checks) ran before the workflow ended")
}

// at runs fn d after the start, on the workflow clock.
func (s *OnboardingSuite) at(d time.Duration, fn func()) {
	s.scheduled++
	s.env.RegisterDelayedCallback(func() {
		s.ran++
		fn()
	}, d)
}

// webhook signals events d after the start.
func (s *OnboardingSuite) webhook(d time.Duration, evs ...treezor.Event) {
	s.at(d, func() {
		for _, ev := range evs {
			if ev.Type == treezor.EventUserKYCReview {
				s.api.sawReview(ev.KYCReview)
			}
			s.env.SignalWorkflow(SignalWebhook, ev)
			if ev.Type == treezor.EventQESFinalized && ev.Result == treezor.ResultSuccess && !s.noAutoDocuments {
				s.env.SignalWorkflow(SignalWebhook, documentCreated("doc-"+ev.IdentificationID))
			}
		}
	})
}

// action sends an operator action (an update) d after the start.
func (s *OnboardingSuite) action(d time.Duration, name string, arg any) *actionAnswer {
	ans := &actionAnswer{}
	s.at(d, func() { sendAction(s.T(), s.env, name, arg, ans) })
	return ans
}

// actionAnswer collects the answer of one operator action.
type actionAnswer struct {
	done     bool
	result   ActionResult
	err      error
	rejected error
}

// sendAction sends an operator action now; ans (may be nil) gets its answer.
func sendAction(t *testing.T, env *testsuite.TestWorkflowEnvironment, name string, arg any, ans *actionAnswer) {
	if ans == nil {
		ans = &actionAnswer{}
	}
	env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
		OnReject: func(err error) { ans.done, ans.rejected = true, err },
		OnComplete: func(v any, err error) {
			ans.done, ans.err = true, err
			if err == nil {
				ans.result = decodeActionResult(t, v)
			}
		},
	}, arg)
}

func decodeActionResult(t *testing.T, v any) ActionResult {
	switch r := v.(type) {
	case ActionResult:
		return r
	case converter.EncodedValue:
		var out ActionResult
		require.NoError(t, r.Get(&out))
		return out
	}
	t.Fatalf("unexpected action result %T", v)
	return ActionResult{}
}

func (s *OnboardingSuite) status() Status {
	v, err := s.env.QueryWorkflow(QueryStatus)
	s.Require().NoError(err)
	var st Status
	s.Require().NoError(v.Get(&st))
	return st
}

func (s *OnboardingSuite) userStatus() UserStatus {
	v, err := s.env.QueryWorkflow(QueryUserStatus)
	s.Require().NoError(err)
	var us UserStatus
	s.Require().NoError(v.Get(&us))
	return us
}

// expectState checks the state d after the start.
func (s *OnboardingSuite) expectState(d time.Duration, want State) {
	s.at(d, func() { s.Equal(want, s.status().State, "state at %s", d) })
}

// check runs assertions on the status d after the start.
func (s *OnboardingSuite) check(d time.Duration, fn func(Status)) {
	s.at(d, func() { fn(s.status()) })
}

// run executes the workflow to its end and returns its Result.
func (s *OnboardingSuite) run(in Input) Result {
	s.env.ExecuteWorkflow(QESOnboarding, in)
	s.Require().True(s.env.IsWorkflowCompleted())
	return runResult(s.T(), s.env)
}

// runResult is the Result an ended run left: its value, or, for an onboarding that ended
// FAILED, the details of the error the execution failed with (ChangeRelease).
func runResult(t *testing.T, env *testsuite.TestWorkflowEnvironment) Result {
	t.Helper()
	if err := env.GetWorkflowError(); err != nil {
		r, ok := FailedResult(err)
		require.True(t, ok, "the run failed: %v", err)
		require.Equal(t, StateFailed, r.State, "only a FAILED onboarding fails the execution")
		return r
	}
	var r Result
	require.NoError(t, env.GetWorkflowResult(&r))
	require.NotEqual(t, StateFailed, r.State, "a FAILED onboarding fails the execution")
	return r
}

// elapsed is the workflow time since the start.
func (s *OnboardingSuite) elapsed() time.Duration { return s.env.Now().Sub(s.start) }

// urlAnswer collects the answer of one identification-url update.
type urlAnswer struct {
	done     bool
	at       time.Duration
	result   IdentificationURLResult
	err      error
	rejected error
}

// requestURL sends the identification-url update d after the start.
func (s *OnboardingSuite) requestURL(d time.Duration) *urlAnswer {
	ans := &urlAnswer{}
	s.at(d, func() {
		s.env.UpdateWorkflow(UpdateIdentificationURL, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { ans.rejected = err },
			OnComplete: func(v any, err error) {
				ans.done, ans.err, ans.at = true, err, s.elapsed()
				if err == nil {
					ans.result = decodeURLResult(s.T(), v)
				}
			},
		})
	})
	return ans
}

func decodeURLResult(t *testing.T, v any) IdentificationURLResult {
	switch r := v.(type) {
	case IdentificationURLResult:
		return r
	case converter.EncodedValue:
		var out IdentificationURLResult
		require.NoError(t, r.Get(&out))
		return out
	}
	t.Fatalf("unexpected update result %T", v)
	return IdentificationURLResult{}
}

// applicationError unwraps an ApplicationError of the given type.
func applicationError(t *testing.T, err error, errType string) *temporal.ApplicationError {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want an ApplicationError, got %T: %v", err, err)
	require.Equal(t, errType, appErr.Type())
	return appErr
}

// notes lists the timeline notes (optionally of one webhook id).
func notes(st Status, webhookID string) []string {
	var out []string
	for _, e := range st.Timeline {
		if webhookID == "" || e.WebhookID == webhookID {
			out = append(out, e.Note)
		}
	}
	return out
}

// states lists the states the timeline went through, in order.
func states(st Status) []State {
	var out []State
	for _, e := range st.Timeline {
		if e.Kind == KindState && (len(out) == 0 || out[len(out)-1] != e.State) {
			out = append(out, e.State)
		}
	}
	return out
}

// hasNote reports whether some note starts with prefix.
func hasNote(list []string, prefix string) bool {
	for _, n := range list {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// requireNoURL fails if v, as JSON, contains an identification URL or a presigned URL.
func requireNoURL(t *testing.T, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	require.NotContains(t, string(b), "idnow.example")
	require.NotContains(t, string(b), "X-Amz-Signature")
}
