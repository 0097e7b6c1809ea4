package scaleout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/qesflow/qesflow/workflows"
)

// pollInterval is how often a flow reads its onboarding's status while it waits.
const pollInterval = 500 * time.Millisecond

// driver plays the onboarding system, the end users and the compliance officers, over HTTP
// only: the API for onboardings, the simulator's /sim endpoints for what users and Treezor's
// KYC desk do.
type driver struct {
	http *httpClient
	c    *cluster
}

func (d *driver) createUser(ctx context.Context, userID string) error {
	return d.http.do(ctx, http.MethodPost, d.c.simURL+"/sim/users", "", map[string]string{
		"userId": userID, "firstname": "Zoë", "lastname": "Scale", "email": "zoe@example.com",
		"country": "FR", "phone": "+33600000000",
	}, nil)
}

// onboardingAnswer is the part of POST /v1/onboardings the test reads.
type onboardingAnswer struct {
	IdentificationID string `json:"identificationId"`
	Attempt          int    `json:"attempt"`
}

// startOnboarding asks the API for the user's identification. The call is idempotent, so a
// transient failure (e.g. 504 while the worker that held the task was killed) is retried.
func (d *driver) startOnboarding(ctx context.Context, userID string) (string, error) {
	var a onboardingAnswer
	err := retry(ctx, "start onboarding of "+userID, func() error {
		a = onboardingAnswer{}
		return d.http.do(ctx, http.MethodPost, d.c.apiURL+"/v1/onboardings", d.c.onboardingKey, map[string]string{"userId": userID}, &a)
	})
	if err == nil && a.IdentificationID == "" {
		err = fmt.Errorf("start onboarding of %s: no identification id in the answer", userID)
	}
	return a.IdentificationID, err
}

// act has the user (or the provider) act on an identification through the simulator.
func (d *driver) act(ctx context.Context, identificationID, action string, reasonCode int) error {
	body := map[string]any{"action": action}
	if reasonCode != 0 {
		body["reasonCode"] = reasonCode
	}
	return d.http.do(ctx, http.MethodPost, d.c.simURL+"/sim/identifications/"+identificationID+"/actions", "", body, nil)
}

func (d *driver) details(ctx context.Context, userID string) (workflows.Status, error) {
	var st workflows.Status
	err := d.http.do(ctx, http.MethodGet, d.c.apiURL+"/v1/onboardings/"+userID+"/details", d.c.complianceKey, nil, &st)
	return st, err
}

// waitFor polls the onboarding's internal status until cond holds. A terminal state that
// does not satisfy cond ends the wait with an error at once.
func (d *driver) waitFor(ctx context.Context, userID, what string, cond func(workflows.Status) bool) (workflows.Status, error) {
	var last workflows.Status
	var lastErr error
	for {
		st, err := d.details(ctx, userID)
		switch {
		case err == nil && cond(st):
			return st, nil
		case err == nil && st.State.Terminal():
			return st, fmt.Errorf("user %s: waiting for %s, the onboarding ended %s (attempt %d)", userID, what, st.State, st.Attempt)
		case err == nil:
			last = st
		case !transient(err):
			return st, fmt.Errorf("user %s: waiting for %s: %w", userID, what, err)
		default:
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("user %s: waiting for %s: %w (last state %q, last error %v)", userID, what, ctx.Err(), last.State, lastErr)
		case <-time.After(pollInterval):
		}
	}
}

func (d *driver) waitState(ctx context.Context, userID string, want workflows.State) (workflows.Status, error) {
	return d.waitFor(ctx, userID, string(want), func(s workflows.Status) bool { return s.State == want })
}

// decideKYC has Treezor's KYC desk decide the user's review. The workflow enters
// KYC_REVIEW_PENDING before its activity asks Treezor, so the simulator may not know the
// review yet (409): that is retried.
func (d *driver) decideKYC(ctx context.Context, userID, decision string) error {
	for {
		err := d.http.do(ctx, http.MethodPost, d.c.simURL+"/sim/users/"+userID+"/kycreview", "",
			map[string]string{"decision": decision, "comment": "scale-out test"}, nil)
		var se *statusError
		if err == nil || !errors.As(err, &se) || se.status != http.StatusConflict {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("user %s: KYC decision: %w (last answer %v)", userID, ctx.Err(), err)
		case <-time.After(pollInterval):
		}
	}
}

// complianceDecision has a compliance officer decide a fraud suspicion through the API.
func (d *driver) complianceDecision(ctx context.Context, userID, decision string) error {
	return retry(ctx, "compliance decision for "+userID, func() error {
		return d.http.do(ctx, http.MethodPost, d.c.apiURL+"/v1/onboardings/"+userID+"/compliance-decision", d.c.complianceKey,
			workflows.ComplianceDecision{Decision: decision, Note: "scale-out test"}, nil)
	})
}

// simStats is the part of GET /sim/stats the test reads.
type simStats struct {
	IdentificationsCreated map[string]int `json:"identificationsCreated"`
	KYCReviewRequests      map[string]int `json:"kycReviewRequests"`
	WebhooksEmitted        int            `json:"webhooksEmitted"`
	WebhooksDelivered      int            `json:"webhooksDelivered"`
	WebhooksFailed         int            `json:"webhooksFailed"`
	WebhooksRetried        int            `json:"webhooksRetried"`
	Pending                int            `json:"pending"`
}

func (d *driver) simStats(ctx context.Context) (simStats, error) {
	var s simStats
	err := d.http.do(ctx, http.MethodGet, d.c.simURL+"/sim/stats", "", nil, &s)
	return s, err
}

// waitSimIdle waits until the simulator has no webhook left to deliver.
func (d *driver) waitSimIdle(ctx context.Context) (simStats, error) {
	for {
		s, err := d.simStats(ctx)
		if err == nil && s.Pending == 0 {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return s, fmt.Errorf("simulator still has %d webhooks to deliver: %w (last error %v)", s.Pending, ctx.Err(), err)
		case <-time.After(pollInterval):
		}
	}
}

// simUser is the part of GET /sim/users/{userId} the test reads.
type simUser struct {
	Deliveries []struct {
		WebhookID string `json:"webhookId"`
		Webhook   string `json:"webhook"`
		OK        bool   `json:"ok"`
		Attempts  int    `json:"attempts"`
		Status    int    `json:"status"`
	} `json:"deliveries"`
}

func (d *driver) simUser(ctx context.Context, userID string) (simUser, error) {
	var u simUser
	err := d.http.do(ctx, http.MethodGet, d.c.simURL+"/sim/users/"+userID, "", nil, &u)
	return u, err
}
