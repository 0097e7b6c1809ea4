package activities

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/outbound"
	"github.com/qesflow/qesflow/outbound/outboundtest"
)

// TestDeliverEventResumesWhereItStopped: with two endpoints, one down, the attempt fails
// after the other took the event; the retry (its heartbeat says who has it) sends only to
// the one that failed, with the same webhook id. A 410 endpoint is reported gone, and a
// skipped one gets nothing.
func TestDeliverEventResumesWhereItStopped(t *testing.T) {
	secret := outboundtest.Secret("deliver-activity")
	up, down, gone := outboundtest.NewReceiver(t, secret), outboundtest.NewReceiver(t, secret), outboundtest.NewReceiver(t, secret)
	skipped := outboundtest.NewReceiver(t, secret)
	down.SetStatus(http.StatusServiceUnavailable)
	gone.SetStatus(http.StatusGone)
	secrets, err := outbound.ParseSecrets(secret)
	require.NoError(t, err)
	sender, err := outbound.NewSender(outbound.Config{Secrets: secrets, Endpoints: []outbound.Endpoint{
		{Name: "up", URL: up.URL}, {Name: "down", URL: down.URL}, {Name: "gone", URL: gone.URL}, {Name: "skipped", URL: skipped.URL},
	}})
	require.NoError(t, err)
	in := DeliverEventInput{Message: outbound.Message{ID: "msg_resume", Event: outbound.Event{Type: outbound.TypeUnderReview}},
		Skip: []string{"skipped"}}

	env := activityEnv(&Activities{Events: sender})
	_, err = env.ExecuteActivity(DeliverEventName, in)
	require.ErrorContains(t, err, "endpoint down answered 503")
	require.Len(t, up.Accepted(), 1)
	require.Len(t, gone.All(), 1)

	// The retry: Temporal hands the last heartbeat back.
	down.SetStatus(http.StatusNoContent)
	env = activityEnv(&Activities{Events: sender})
	env.SetHeartbeatDetails(DeliverEventResult{Delivered: []string{"up"}, Gone: []string{"gone"}})
	v, err := env.ExecuteActivity(DeliverEventName, in)
	require.NoError(t, err)
	var res DeliverEventResult
	require.NoError(t, v.Get(&res))
	require.Equal(t, DeliverEventResult{Delivered: []string{"up", "down"}, Gone: []string{"gone"}}, res)
	require.Len(t, up.All(), 1, "the endpoint that had the event does not get it again")
	require.Len(t, gone.All(), 1)
	require.Empty(t, skipped.All())
	require.Equal(t, "msg_resume", down.Accepted()[0].ID)
	require.Equal(t, "msg_resume", up.Accepted()[0].ID)

	// No sender: no endpoint, nothing to do.
	env = activityEnv(&Activities{})
	_, err = env.ExecuteActivity(DeliverEventName, in)
	require.NoError(t, err)
}
