package treezorsim

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/treezor"
)

func TestParseReceivers(t *testing.T) {
	tests := []struct {
		setting string
		want    []string
	}{
		{"", nil},
		{"http://a/webhooks", []string{"http://a/webhooks"}},
		{"http://a/w, http://b/w", []string{"http://a/w", "http://b/w"}},
		{" http://a/w ,,http://b/w,", []string{"http://a/w", "http://b/w"}},
	}
	for _, tc := range tests {
		t.Run(tc.setting, func(t *testing.T) {
			require.Equal(t, tc.want, parseReceivers(tc.setting).urls)
		})
	}
}

func TestReceiversTakeTurns(t *testing.T) {
	r := parseReceivers("http://a/w,http://b/w,http://c/w")
	var firsts []string
	for range 4 {
		firsts = append(firsts, r.at(r.start()))
	}
	require.Equal(t, []string{"http://a/w", "http://b/w", "http://c/w", "http://a/w"}, firsts)
	turn := r.start() // b's turn; the retries go on from there
	require.Equal(t, []string{"http://b/w", "http://c/w", "http://a/w"}, []string{r.at(turn), r.at(turn + 1), r.at(turn + 2)})

	none := parseReceivers("")
	require.Empty(t, none.at(none.start()))
}

func TestConfigValidateWebhookURLs(t *testing.T) {
	tests := []struct {
		name, setting, wantErr string
	}{
		{"two", "http://a:8081/webhooks/treezor,https://b/webhooks/treezor", ""},
		{"second relative", "http://a/w,/w", "webhook URL 2 of 2"},
		{"only commas", " , ", "lists no URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Config{WebhookURL: tc.setting}.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

// TestWebhooksAlternateBetweenReceivers: with two URLs, the attempts of one user's
// webhooks go to each in turn.
func TestWebhooksAlternateBetweenReceivers(t *testing.T) {
	second := newReceiver(t, testWebhookSecret)
	var first *receiver
	h := newHarness(t, func(c *Config) { c.WebhookURL = "" })
	first = h.rec
	h.sim.SetWebhookURL(first.srv.URL + ", " + second.srv.URL)
	ident := h.initiate("8601", "FR")
	require.NoError(t, h.sim.Act(ident.IdentificationID, Cancel(3103))) // qes.created, qes.processing, qes.finalized
	h.waitIdle()

	require.Equal(t, []string{treezor.EventQESCreated, treezor.EventQESFinalized}, eventTypes(first.forUser("8601")))
	require.Equal(t, []string{treezor.EventQESProcessing}, eventTypes(second.forUser("8601")))
	require.Len(t, h.sim.DeliveredOK("8601"), 3)
	require.Zero(t, h.sim.Stats().WebhooksRetried)
}

// TestRetryGoesToTheOtherReceiver: a receiver that is down (nothing listens) costs each
// webhook that meets it one failed attempt; the retry goes to the receiver that is up, and
// every webhook is delivered.
func TestRetryGoesToTheOtherReceiver(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := "http://" + ln.Addr().String() + "/webhooks/treezor"
	require.NoError(t, ln.Close())

	h := newHarness(t, func(c *Config) { c.WebhookURL = "" })
	h.sim.SetWebhookURL(down + "," + h.rec.srv.URL)
	for _, user := range []string{"8701", "8702"} {
		ident := h.initiate(user, "FR")
		require.NoError(t, h.sim.Act(ident.IdentificationID, Fraud(3207)))
	}
	h.waitIdle()

	for _, user := range []string{"8701", "8702"} {
		require.Equal(t, []string{treezor.EventQESCreated, treezor.EventQESProcessing, treezor.EventQESFinalized},
			eventTypes(h.rec.forUser(user)), "user %s", user)
		for _, d := range h.sim.Deliveries(user) {
			require.True(t, d.OK, "%s of user %s", d.Webhook, user)
			require.LessOrEqual(t, d.Attempts, 2, "%s of user %s took %d attempts", d.Webhook, user, d.Attempts)
		}
	}
	stats := h.sim.Stats()
	require.Zero(t, stats.WebhooksFailed)
	require.Positive(t, stats.WebhooksRetried)
	require.Equal(t, 6, stats.WebhooksDelivered)
}
