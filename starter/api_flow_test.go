package starter

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/workflows"
)

// TestOnboardingAPI drives the API's branches through the whole product (Temporal, worker,
// bridge, simulator): idempotent creation under concurrency, Treezor's 428, fraud kept from
// the end user, compliance decisions, cancellation, restarts and the rules for a new run.
// The subtests share one environment and use one Treezor user each.
func TestOnboardingAPI(t *testing.T) {
	env := newFlowEnv(t, Config{})

	t.Run("concurrent creates share one run and one identification", func(t *testing.T) {
		env.t, env.api.t = t, t
		userID := env.fullUser("FR")
		const callers = 4
		answers := make([]apiResponse, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = env.create(userID, keyOnboarding, nil)
			}()
		}
		wg.Wait()
		var runIDs, urls []string
		created := 0
		for _, a := range answers {
			o := env.onboarding(a)
			if a.Status == http.StatusCreated {
				require.True(t, o.Created)
				created++
			}
			runIDs = append(runIDs, o.RunID)
			urls = append(urls, o.IdentificationURL)
		}
		require.GreaterOrEqual(t, created, 1)
		require.Len(t, slices.Compact(runIDs), 1, "one run: %v", runIDs)
		require.Len(t, slices.Compact(urls), 1, "one URL")
		require.NotEmpty(t, urls[0])
		require.Len(t, env.sim.Identifications(userID), 1, "one identification at Treezor")

		// A later call is never "created".
		again := env.create(userID, keyOnboarding, nil)
		require.Equal(t, http.StatusOK, again.Status)
		require.Equal(t, runIDs[0], env.onboarding(again).RunID)
	})

	t.Run("428 is 422 with the missing fields, then restart", func(t *testing.T) {
		env.t, env.api.t = t, t
		userID := env.sim.CreateUser(treezorsim.User{Firstname: "Grace", Lastname: "Hopper", Country: "FR"})
		r := env.create(userID, keyOnboarding, nil)
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, "body: %s", r.Body)
		p := r.problem(t)
		require.Equal(t, ProblemTypePrefix+KindUserDataIncomplete.String(), p.Type)
		require.Equal(t, "User data incomplete", p.Title)
		require.Equal(t, []string{"email", "phone"}, p.MissingFields)
		require.Equal(t, workflows.WorkflowID(userID), p.WorkflowID)
		require.NotEmpty(t, p.RunID)
		require.Equal(t, workflows.StateUserDataIncomplete, env.details(userID).State)
		us, _ := env.userStatus(userID)
		require.Equal(t, workflows.ActionCompletePersonalData, us.ActionRequired)

		// Asking again changes nothing: still 422, same run.
		r = env.create(userID, keyOnboarding, nil)
		require.Equal(t, http.StatusUnprocessableEntity, r.Status)
		require.Equal(t, p.RunID, r.problem(t).RunID)
		require.Empty(t, env.sim.Identifications(userID))

		// The onboarding system fixes the user, then restarts; the next create gets the URL.
		require.NoError(t, env.sim.UpdateUser(treezorsim.User{UserID: userID, Email: "grace@example.com", Phone: "+33698765432"}))
		r = env.api.do(http.MethodPost, "/v1/onboardings/"+userID+"/restart", keyOnboarding, `{"reason":"user data completed"}`)
		require.Equal(t, http.StatusOK, r.Status, "body: %s", r.Body)
		var ack actionResponse
		r.decode(t, &ack)
		require.Equal(t, actionResponse{UserID: userID, WorkflowID: workflows.WorkflowID(userID), Action: workflows.UpdateRestart,
			State: workflows.UserStatusPreparing, Attempt: 1}, ack, "the user-safe state the restart led to")

		var o onboardingResponse
		eventually(t, "an identification URL after the restart", func() bool {
			r := env.create(userID, keyOnboarding, nil)
			if r.Status != http.StatusOK {
				require.Equal(t, http.StatusUnprocessableEntity, r.Status, "body: %s", r.Body)
				return false
			}
			o = env.onboarding(r)
			return o.IdentificationURL != ""
		})
		require.Equal(t, p.RunID, o.RunID, "the same run went on")
		_, url := env.identification(userID)
		require.Equal(t, url, o.IdentificationURL)
	})

	t.Run("fraud never reaches the end user; compliance rejects; override starts again", func(t *testing.T) {
		env.t, env.api.t = t, t
		userID := env.fullUser("FR")
		first := env.onboarding(env.create(userID, keyOnboarding, nil))
		identID, _ := env.identification(userID)
		require.NoError(t, env.sim.Act(identID, treezorsim.Fraud(3201)))
		st := env.waitState(userID, workflows.StateComplianceReview)
		require.Equal(t, 3201, st.ReasonCode, "compliance sees the reason")

		us, body := env.userStatus(userID)
		require.Equal(t, workflows.UserStatusUnderReview, us.Status)
		requireNoFraudHint(t, body)
		// Asking for the URL again tells nothing either.
		r := env.create(userID, keyOnboarding, nil)
		o := env.onboarding(r)
		require.Empty(t, o.IdentificationURL)
		require.Equal(t, underReview, o.Status)
		requireNoFraudHint(t, r.Body)
		require.Empty(t, env.api.logs.FilterMessage("user-status query exposed an internal state; masked it").All(),
			"the workflow's own user view is safe; the API's mask never had to act")

		r = env.api.do(http.MethodPost, "/v1/onboardings/"+userID+"/compliance-decision", keyCompliance,
			`{"decision":"reject","note":"s3cr3t-note: forged document"}`)
		require.Equal(t, http.StatusOK, r.Status, "body: %s", r.Body)
		var decided actionResponse
		r.decode(t, &decided)
		require.Equal(t, string(workflows.StateRejected), decided.State, "compliance sees the internal state")
		res := env.waitClosed(userID)
		require.Equal(t, workflows.StateRejected, res.State)
		us, body = env.userStatus(userID)
		require.Equal(t, workflows.UserStatusClosed, us.Status)
		require.True(t, us.Final)
		requireNoFraudHint(t, body)

		// Rejected: 409 for the onboarding system, which learns nothing of the verdict.
		r = env.create(userID, keyOnboarding, nil)
		require.Equal(t, http.StatusConflict, r.Status, "body: %s", r.Body)
		p := r.problem(t)
		require.Equal(t, ProblemTypePrefix+KindRejected.String(), p.Type)
		require.Nil(t, p.LastResult)
		requireNoFraudHint(t, r.Body)
		// A compliance key sees the result and the note, but still needs the override.
		r = env.create(userID, keyBoth, nil)
		require.Equal(t, http.StatusConflict, r.Status)
		p = r.problem(t)
		require.Equal(t, workflows.StateRejected, p.LastResult.State)
		require.NotEmpty(t, p.LastResult.Note)

		r = env.create(userID, keyBoth, map[string]any{"override": true})
		require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)
		again := env.onboarding(r)
		require.True(t, again.Created)
		require.NotEqual(t, first.RunID, again.RunID, "a new run under the same workflow id")
		require.Equal(t, first.WorkflowID, again.WorkflowID)
		env.requireNewIdentification(userID, first, again)
		env.api.requireLogsClean("s3cr3t-note", "forged document")
	})

	t.Run("compliance clears a suspicion: a new attempt", func(t *testing.T) {
		env.t, env.api.t = t, t
		userID := env.fullUser("FR")
		first := env.onboarding(env.create(userID, keyOnboarding, nil))
		identID, _ := env.identification(userID)

		// A decision outside a compliance review is refused with the current state.
		r := env.api.do(http.MethodPost, "/v1/onboardings/"+userID+"/compliance-decision", keyCompliance, `{"decision":"clear"}`)
		require.Equal(t, http.StatusConflict, r.Status, "body: %s", r.Body)
		p := r.problem(t)
		require.Equal(t, ProblemTypePrefix+KindNotApplicable.String(), p.Type)
		require.Equal(t, string(workflows.StateAwaitingUser), p.State)
		// A restart of a running attempt too, in the onboarding scope's words.
		r = env.api.do(http.MethodPost, "/v1/onboardings/"+userID+"/restart", keyOnboarding, ``)
		require.Equal(t, http.StatusConflict, r.Status, "body: %s", r.Body)
		require.Equal(t, workflows.UserStatusActionRequired, r.problem(t).State)

		require.NoError(t, env.sim.Act(identID, treezorsim.Fraud(3205)))
		env.waitState(userID, workflows.StateComplianceReview)
		r = env.api.do(http.MethodPost, "/v1/onboardings/"+userID+"/compliance-decision", keyCompliance,
			`{"decision":"clear","note":"checked by phone"}`)
		require.Equal(t, http.StatusOK, r.Status, "body: %s", r.Body)
		env.waitState(userID, workflows.StateAwaitingUser)

		second := env.onboarding(env.create(userID, keyOnboarding, nil))
		require.Equal(t, first.RunID, second.RunID)
		require.NotEmpty(t, second.IdentificationURL)
		require.NotEqual(t, first.IdentificationURL, second.IdentificationURL, "a new identification")
		require.Greater(t, second.Attempt, first.Attempt)
		require.Equal(t, "checked by phone", env.details(userID).ComplianceNote)
	})

	t.Run("cancel ends the onboarding; a new run may start", func(t *testing.T) {
		env.t, env.api.t = t, t
		userID := env.fullUser("FR")
		first := env.onboarding(env.create(userID, keyOnboarding, nil))
		r := env.api.do(http.MethodPost, "/v1/onboardings/"+userID+"/cancel", keyOnboarding, `{"reason":"duplicate account"}`)
		require.Equal(t, http.StatusOK, r.Status, "body: %s", r.Body)
		var ack actionResponse
		r.decode(t, &ack)
		require.Equal(t, workflows.UserStatusCancelled, ack.State)
		require.Equal(t, workflows.StateOperatorCancelled, env.waitClosed(userID).State)

		us, _ := env.userStatus(userID)
		require.Equal(t, workflows.UserStatusCancelled, us.Status)
		require.True(t, us.Final)
		require.Equal(t, workflows.StateOperatorCancelled, env.details(userID).State, "queries work on a closed run")

		for _, c := range []struct{ path, key, body string }{
			{"/restart", keyOnboarding, ``},
			{"/cancel", keyOnboarding, `{}`},
			{"/compliance-decision", keyCompliance, `{"decision":"clear"}`},
		} {
			r := env.api.do(http.MethodPost, "/v1/onboardings/"+userID+c.path, c.key, c.body)
			require.Equal(t, http.StatusConflict, r.Status, "%s: %s", c.path, r.Body)
			p := r.problem(t)
			require.Equal(t, ProblemTypePrefix+KindClosed.String(), p.Type)
			require.Equal(t, first.RunID, p.RunID)
			require.Contains(t, p.Detail, "Completed")
		}

		again := env.onboarding(env.create(userID, keyOnboarding, nil))
		require.True(t, again.Created)
		require.NotEqual(t, first.RunID, again.RunID)
		env.requireNewIdentification(userID, first, again)
	})

	t.Run("an expired onboarding lets a new run start", func(t *testing.T) {
		env.t, env.api.t = t, t
		// A second API on the same cluster whose onboardings expire after two seconds.
		quick := startAPI(t, env.tc, Config{Policy: &workflows.PolicyOverride{UserTimeout: 2 * time.Second}})
		userID := env.fullUser("FR")
		r := quick.do(http.MethodPost, "/v1/onboardings", keyOnboarding, map[string]any{"userId": userID})
		first := env.onboarding(r)
		require.True(t, first.Created)
		require.Equal(t, workflows.StateExpired, env.waitClosed(userID).State)
		us, _ := env.userStatus(userID)
		require.Equal(t, workflows.UserStatusExpired, us.Status)

		again := env.onboarding(env.create(userID, keyOnboarding, nil))
		require.True(t, again.Created)
		require.NotEqual(t, first.RunID, again.RunID)
		env.requireNewIdentification(userID, first, again)
	})

	t.Run("a user Treezor does not know is 422 treezor-user-unknown; the onboarding waits for a restart", func(t *testing.T) {
		env.t, env.api.t = t, t
		userID := "unknown-at-treezor" // the simulator answers 404 for it
		r := env.create(userID, keyOnboarding, nil)
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, "body: %s", r.Body)
		p := r.problem(t)
		require.Equal(t, ProblemTypePrefix+KindTreezorUserUnknown.String(), p.Type)
		firstRun := p.RunID
		env.waitState(userID, workflows.StateUserUnknown)

		// The onboarding is not over: the same call joins it and gets the same answer.
		r = env.create(userID, keyOnboarding, nil)
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, "body: %s", r.Body)
		require.Equal(t, ProblemTypePrefix+KindTreezorUserUnknown.String(), r.problem(t).Type)
		require.Equal(t, firstRun, r.problem(t).RunID, "the onboarding waits in USER_UNKNOWN, it did not end")
	})

	env.t, env.api.t = t, t
	env.api.requireLogsClean(keyOnboarding, keyCompliance, keyBoth, "app.example.com", "ada@example.com", "/identifications/")
}

// requireNewIdentification checks that a new run of the user's onboarding got a new
// identification at Treezor, not the previous run's one replayed for its accessTag.
func (e *flowEnv) requireNewIdentification(userID string, before, after onboardingResponse) {
	e.t.Helper()
	require.NotEmpty(e.t, after.IdentificationURL)
	require.NotEqual(e.t, before.IdentificationID, after.IdentificationID,
		"the new run got the previous run's identification back: Treezor replayed the accessTag "+
			"(the workflow's accessTag must differ between runs; simulator replays so far: %d)", e.sim.Stats().AccessTagReplays)
	require.Len(e.t, e.sim.Identifications(userID), 2)
}

var fraudCode = regexp.MustCompile(`\b32\d\d\b`)

// requireNoFraudHint fails when an end-user-facing body hints at fraud or compliance.
func requireNoFraudHint(t *testing.T, body []byte) {
	t.Helper()
	upper := strings.ToUpper(string(body))
	for _, word := range []string{"FRAUD", "COMPLIANCE", "SUSPIC", "REJECTED"} {
		require.NotContains(t, upper, word, "body: %s", body)
	}
	require.False(t, fraudCode.Match(body), "a 32xx reason code in %s", body)
}
