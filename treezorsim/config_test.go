package treezorsim

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"zero value", Config{}, ""},
		{"full", Config{WebhookURL: "http://localhost:8081/webhooks/treezor", PublicURL: "https://sim.example.com", DuplicateRate: 0.5, AutoKYCDecision: KYCRefuse}, ""},
		{"relative webhook URL", Config{WebhookURL: "/webhooks"}, "webhook URL"},
		{"public URL scheme", Config{PublicURL: "ftp://x"}, "public URL"},
		{"rate above 1", Config{ReorderRate: 1.5}, "reorder rate"},
		{"negative rate", Config{APIFaultRate: -0.1}, "API fault rate"},
		{"auto decision", Config{AutoKYCDecision: "maybe"}, "auto KYC decision"},
		{"documents", Config{DocumentsPerSuccess: 3}, "documents per success"},
		{"negative duration", Config{WebhookRetryInterval: -time.Second}, "webhook retry interval"},
		{"negative delay", Config{MaxDelay: -time.Second}, "chaos delays"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestNewDefaultsAndClamps(t *testing.T) {
	s := New(Config{DuplicateRate: 7, APIFaultHangShare: -1}, nil)
	defer s.Close()
	require.Equal(t, DevClientID, s.cfg.ClientID)
	require.Equal(t, DevClientSecret, s.cfg.ClientSecret)
	require.Equal(t, DevWebhookSecret, s.cfg.WebhookSecret)
	require.Equal(t, DefaultWebhookMaxAttempts, s.cfg.WebhookMaxAttempts)
	require.Equal(t, DefaultDocumentURLTTL, s.cfg.DocumentURLTTL)
	c := s.Chaos()
	require.Equal(t, 1.0, c.DuplicateRate)
	require.Equal(t, 0.0, c.APIFaultHangShare)
	require.Equal(t, DefaultAPIFaultTimeout, c.APIFaultTimeout)
}

func TestServeShutsDownOnContextDone(t *testing.T) {
	s := New(Config{}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeListener(ctx, ln) }()

	base := "http://" + ln.Addr().String()
	eventually(t, func() bool {
		resp, err := http.Get(base + "/sim/stats")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "the simulator serves")
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(waitTimeout):
		t.Fatal("Serve did not return after the context ended")
	}
}

// TestLogsCarryNoPII runs every kind of action and checks that no name, e-mail, phone,
// URL or secret reaches the logs.
func TestLogsCarryNoPII(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	h := newHarnessWithLogger(t, zap.New(core), func(c *Config) { c.AutoKYCDecision, c.AutoKYCDelay = KYCValidate, 0 })
	h.sim.CreateUser(completeUser("12001", "DE"))
	ident, err := h.client.InitiateQES(context.Background(), "12001", "https://app.example.com/back", "tag")
	require.NoError(t, err)
	require.NoError(t, h.sim.Act(ident.IdentificationID, Success()))
	require.NoError(t, h.sim.Payin("12001"))
	_, err = h.client.RequestKYCReview(context.Background(), "12001", "")
	require.NoError(t, err)
	h.waitIdle()
	h.rec.setFailFirst(h.rec.callCount() + 2) // some failed attempts are logged too
	require.NoError(t, h.sim.Payin("12001"))
	h.waitIdle()
	require.Equal(t, 2, h.sim.Stats().WebhooksRetried)
	h.postForm("/identifications/"+ident.IdentificationID+"/actions", map[string][]string{"action": {"success"}})

	require.NotZero(t, logs.Len())
	var all strings.Builder
	for _, e := range logs.All() {
		all.WriteString(e.Message)
		for k, v := range e.ContextMap() {
			all.WriteString(" " + k + "=")
			all.WriteString(fmt.Sprint(v))
		}
		all.WriteString("\n")
	}
	text := all.String()
	require.Contains(t, text, "12001", "logs name the user id")
	require.Contains(t, text, ident.IdentificationID)
	for _, secret := range []string{"Ada", "Lovelace", "ada@example.com", "+33612345678", "http://", "https://", testClientSecret, testWebhookSecret} {
		require.NotContains(t, text, secret)
	}
}
