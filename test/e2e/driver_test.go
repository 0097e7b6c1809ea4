package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/workflows"
)

// Polling intervals of the driver: the simulator is in memory, the API costs a query.
const (
	simPoll = 100 * time.Millisecond
	apiPoll = 500 * time.Millisecond
)

// flow is one scripted onboarding and what the driver saw of it.
type flow struct {
	userID string
	script script

	err      error         // where the driver got stuck or what surprised it
	elapsed  time.Duration // from the first call to the terminal state
	terminal workflows.State
}

// driver plays the onboarding backend, the end user, Treezor's KYC desk and compliance.
type driver struct {
	sim  *treezorsim.Simulator
	api  *apiClient
	logf func(format string, args ...any)
}

// run drives one flow to its terminal state, as its script says.
func (d *driver) run(ctx context.Context, f *flow) error {
	s := f.script
	user := treezorsim.User{
		UserID: f.userID, Firstname: "Chaos", Lastname: "Monkey", Email: f.userID + "@example.com",
		Country: s.country, Phone: "+33600000000",
	}
	complete := user
	if s.missingPhone {
		user.Phone = ""
	}
	d.sim.CreateUser(user)

	firstIdent, err := d.start(ctx, f.userID, s)
	if err != nil {
		return err
	}
	if s.missingPhone {
		if err := d.sim.UpdateUser(complete); err != nil {
			return fmt.Errorf("fix user: %w", err)
		}
		if err := d.api.restart(ctx, f.userID); err != nil {
			return fmt.Errorf("restart after the user was fixed: %w", err)
		}
	}
	for i, at := range s.attempts {
		if err := d.attempt(ctx, f.userID, s, i+1, at, firstIdent); err != nil {
			return fmt.Errorf("attempt %d: %w", i+1, err)
		}
	}
	if s.kyc != "" {
		if s.country == "DE" && !s.payinEarly {
			if err := d.sim.Payin(f.userID); err != nil {
				return fmt.Errorf("SEPA payin: %w", err)
			}
		}
		if err := d.decideKYC(ctx, f.userID, s.kyc); err != nil {
			return err
		}
	}
	st, err := d.waitTerminal(ctx, f.userID)
	f.terminal = st.State
	return err
}

// start posts the onboarding and returns the identification the answer named ("" for a
// user with missing data, whose answer must be 422 naming the field).
func (d *driver) start(ctx context.Context, userID string, s script) (string, error) {
	status, body, err := d.api.start(ctx, userID, s.country)
	if err != nil {
		return "", fmt.Errorf("start: %w", err)
	}
	if s.missingPhone {
		var p problem
		if status != http.StatusUnprocessableEntity || json.Unmarshal(body, &p) != nil || !slices.Contains(p.MissingFields, "phone") {
			return "", fmt.Errorf("start: want 422 naming phone, got %d: %s", status, body)
		}
		return "", nil
	}
	var a onboardingAnswer
	if status == http.StatusUnprocessableEntity || json.Unmarshal(body, &a) != nil || a.IdentificationID == "" {
		return "", fmt.Errorf("start: want an identification, got %d: %s", status, body)
	}
	return a.IdentificationID, nil
}

// attempt plays one identification: the user's actions, then the follow-up the script
// asks for.
func (d *driver) attempt(ctx context.Context, userID string, s script, n int, at attemptPlan, firstIdent string) error {
	ident, err := d.waitIdentification(ctx, userID, n)
	if err != nil {
		return err
	}
	if n == 1 && firstIdent != "" && ident != firstIdent {
		return fmt.Errorf("the API answered identification %s, Treezor created %s", firstIdent, ident)
	}
	if at.success && s.country == "DE" && s.payinEarly {
		if err := d.sim.Payin(userID); err != nil {
			return fmt.Errorf("SEPA payin: %w", err)
		}
	}
	for _, a := range at.actions {
		if err := d.sim.Act(ident, a); err != nil {
			return err
		}
	}
	switch at.then {
	case stepRestart:
		if err := d.waitState(ctx, userID, workflows.StateWaitingForUser); err != nil {
			return err
		}
		return d.act(ctx, userID, workflows.StateWaitingForUser, "restart", func() error { return d.api.restart(ctx, userID) })
	case stepClear, stepReject:
		if err := d.waitState(ctx, userID, workflows.StateComplianceReview); err != nil {
			return err
		}
		decision := workflows.DecisionClear
		if at.then == stepReject {
			decision = workflows.DecisionReject
		}
		return d.decideCase(ctx, userID, decision)
	}
	return nil
}

// decideCase sends the compliance decision and checks that the onboarding left review.
func (d *driver) decideCase(ctx context.Context, userID, decision string) error {
	return d.act(ctx, userID, workflows.StateComplianceReview, "compliance-decision", func() error { return d.api.decide(ctx, userID, decision) })
}

// act sends an operator action once (the API client repeats it only on 5xx and transport
// errors) and checks that the onboarding leaves the state it acts on. Issue 18: an action
// answered 200, or 409 as "a retried call already applied", used to be sometimes not in
// effect, because the action reached the run in the workflow task of the webhook that put
// the run in that state, and its validator ran before the webhook was applied. That is
// fixed (change action-after-delivered), so an action not in effect fails the flow, with
// the onboarding's timeline and the last 409 the client accepted.
func (d *driver) act(ctx context.Context, userID string, from workflows.State, action string, send func() error) error {
	if err := send(); err != nil {
		return err
	}
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := poll(wait, apiPoll, func() (bool, error) {
		st, err := d.api.details(wait, userID)
		return err == nil && st.State != from, nil
	})
	if err == nil || ctx.Err() != nil {
		return err
	}
	var b strings.Builder
	st, derr := d.api.details(ctx, userID)
	if derr != nil {
		return fmt.Errorf("%s not in effect after 30s (details: %w)", action, derr)
	}
	for _, e := range st.Timeline {
		fmt.Fprintf(&b, "\n  %s %s %s %s %s %s", e.Time.Format("15:04:05.000"), e.Kind, e.EventType, e.IdentificationID, e.State, e.Note)
	}
	return fmt.Errorf("%s not in effect after 30s: state %s attempt %d; last 409 accepted: %s; timeline:%s", action, st.State, st.Attempt,
		d.api.lastConflict("/v1/onboardings/"+userID+"/"+action), b.String())
}

// waitIdentification waits until Treezor holds the user's n-th identification.
func (d *driver) waitIdentification(ctx context.Context, userID string, n int) (string, error) {
	var id string
	err := poll(ctx, simPoll, func() (bool, error) {
		idents := d.sim.Identifications(userID)
		if len(idents) < n {
			return false, nil
		}
		id = idents[n-1].ID
		return true, nil
	})
	if err != nil {
		return "", fmt.Errorf("wait for identification %d: %w", n, err)
	}
	return id, nil
}

// waitState polls the API until the onboarding is in state want; a terminal state first
// is an error.
func (d *driver) waitState(ctx context.Context, userID string, want workflows.State) error {
	var last workflows.State
	err := poll(ctx, apiPoll, func() (bool, error) {
		st, err := d.api.details(ctx, userID)
		if err != nil {
			return false, err
		}
		last = st.State
		if st.State != want && st.State.Terminal() {
			return false, fmt.Errorf("ended %s", st.State)
		}
		return st.State == want, nil
	})
	if err != nil {
		return fmt.Errorf("wait for %s (last seen %s): %w", want, last, err)
	}
	return nil
}

// decideKYC decides the KYC review at Treezor once the workflow asked for it.
func (d *driver) decideKYC(ctx context.Context, userID string, decision treezorsim.KYCDecision) error {
	err := poll(ctx, simPoll, func() (bool, error) {
		err := d.sim.DecideKYC(userID, decision, "chaos desk")
		if errors.Is(err, treezorsim.ErrNoPendingReview) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		d.logTimeline(userID, "no KYC review to decide")
		return fmt.Errorf("decide the KYC review: %w", err)
	}
	return nil
}

// logTimeline logs the onboarding's timeline, for a flow that did not go as its script says.
func (d *driver) logTimeline(userID, why string) {
	if d.logf == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := d.api.details(ctx, userID)
	if err != nil {
		return
	}
	var b strings.Builder
	for _, e := range st.Timeline {
		fmt.Fprintf(&b, "\n  %s %s %s %s %s %s", e.Time.Format("15:04:05.000"), e.Kind, e.EventType, e.IdentificationID, e.State, e.Note)
	}
	d.logf("chaos: %s: %s (state %s attempt %d):%s", userID, why, st.State, st.Attempt, b.String())
}

// waitTerminal polls the API until the onboarding reached a terminal state.
func (d *driver) waitTerminal(ctx context.Context, userID string) (workflows.Status, error) {
	var st workflows.Status
	err := poll(ctx, apiPoll, func() (bool, error) {
		var err error
		st, err = d.api.details(ctx, userID)
		return err == nil && st.State.Terminal(), err
	})
	if err != nil {
		return st, fmt.Errorf("wait for a terminal state (last seen %s): %w", st.State, err)
	}
	return st, nil
}

// poll calls cond every interval until it reports done, fails, or ctx ends.
func poll(ctx context.Context, interval time.Duration, cond func() (bool, error)) error {
	for {
		done, err := cond()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}
