package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/qesflow/qesflow/internal/httpclient"
	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/workflows"
)

// onboardingClient drives onboardings the way the onboarding backend and the end user do:
// POST /v1/onboardings, then the user completes the identification at the provider.
type onboardingClient struct {
	p      *product
	apiURL string
	http   *http.Client
}

func newOnboardingClient(p *product, apiURL string, concurrency int) *onboardingClient {
	return &onboardingClient{p: p, apiURL: apiURL, http: httpclient.New(concurrency, time.Minute)}
}

// createUsers adds the users prefix-first … prefix-(first+n-1) to the simulator, with every
// field QES needs (the provider's data, not part of any measurement).
func (o *onboardingClient) createUsers(prefix string, first, n int) {
	for i := first; i < first+n; i++ {
		o.p.sim.CreateUser(treezorsim.User{
			UserID: userID(prefix, i), Firstname: "Bench", Lastname: "User", Email: "bench@example.com",
			Country: "FR", Phone: "+33600000000",
		})
	}
}

func userID(prefix string, i int) string { return fmt.Sprintf("%s-%d", prefix, i) }

// parked is an onboarding waiting at AWAITING_USER.
type parked struct {
	userID, runID, identificationID string
}

// start is POST /v1/onboardings: it answers once the identification exists.
func (o *onboardingClient) start(ctx context.Context, user string) (parked, error) {
	body, _ := json.Marshal(map[string]string{"userId": user})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.apiURL+"/v1/onboardings", bytes.NewReader(body))
	if err != nil {
		return parked{}, err
	}
	req.Header.Set("Authorization", "Bearer "+o.p.apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := o.http.Do(req)
	if err != nil {
		return parked{}, fmt.Errorf("start onboarding of %s: %w", user, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return parked{}, fmt.Errorf("start onboarding of %s: read answer: %w", user, err)
	}
	if resp.StatusCode != http.StatusCreated {
		return parked{}, fmt.Errorf("start onboarding of %s: status %d: %.200s", user, resp.StatusCode, raw)
	}
	var answer struct {
		RunID            string `json:"runId"`
		IdentificationID string `json:"identificationId"`
		Status           string `json:"status"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return parked{}, fmt.Errorf("start onboarding of %s: decode answer: %w", user, err)
	}
	if answer.IdentificationID == "" || answer.Status != string(workflows.StateAwaitingUser) {
		return parked{}, fmt.Errorf("start onboarding of %s: no identification (status %s)", user, answer.Status)
	}
	return parked{userID: user, runID: answer.RunID, identificationID: answer.IdentificationID}, nil
}

// complete has the user succeed at the provider (the simulator then sends the signed
// webhooks, the workflow requests the KYC review, the simulator validates it and sends the
// decision webhook) and waits for the onboarding to end validated.
func (o *onboardingClient) complete(ctx context.Context, p parked) error {
	if err := o.p.sim.Act(p.identificationID, treezorsim.Success()); err != nil {
		return fmt.Errorf("complete identification of %s: %w", p.userID, err)
	}
	var res workflows.Result
	if err := workflowResult(ctx, o.p.client, workflows.WorkflowID(p.userID), p.runID, &res); err != nil {
		return fmt.Errorf("onboarding of %s: %w", p.userID, err)
	}
	if res.State != workflows.StateCompletedValidated {
		return fmt.Errorf("onboarding of %s ended %s, want %s", p.userID, res.State, workflows.StateCompletedValidated)
	}
	return nil
}

// reviewWebhooks are the webhooks the provider sends when it puts an identification under
// review: qes.created and qes.processing.
const reviewWebhooks = 2

// review has the provider put the identification under review and waits until the bridge
// accepted both webhooks (answered 2xx: the signals are in the workflow's history).
func (o *onboardingClient) review(ctx context.Context, p parked) error {
	if err := o.p.sim.Act(p.identificationID, treezorsim.ReviewPending()); err != nil {
		return fmt.Errorf("put identification of %s under review: %w", p.userID, err)
	}
	return waitFor(ctx, 20*time.Millisecond, func() (bool, error) {
		return len(o.p.sim.DeliveredOK(p.userID)) >= reviewWebhooks, nil
	})
}

// run is one whole onboarding.
func (o *onboardingClient) run(ctx context.Context, user string) error {
	p, err := o.start(ctx, user)
	if err != nil {
		return err
	}
	return o.complete(ctx, p)
}
