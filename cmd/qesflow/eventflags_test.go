package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/outbound"
	"github.com/qesflow/qesflow/outbound/outboundtest"
)

// TestWorkerEventFlags: endpoints and secrets from the environment or a file; a missing or
// malformed secret and an http:// endpoint on another host are refused, and no error
// repeats a secret; deliveries are counted in the registry.
func TestWorkerEventFlags(t *testing.T) {
	secret := outboundtest.Secret("worker-flags")
	parse := func(t *testing.T, args ...string) *eventFlags {
		t.Helper()
		f, err := parseWorkerFlags(append([]string{"--treezor-base-url", "https://x.example", "--treezor-client-id", "id"}, args...), io.Discard)
		require.NoError(t, err)
		return f.events
	}
	for _, env := range []string{"QESFLOW_EVENTS_ENDPOINTS", "QESFLOW_EVENTS_COMPLIANCE_ENDPOINTS", "QESFLOW_EVENTS_SECRETS", "QESFLOW_EVENTS_SECRETS_FILE", "QESFLOW_EVENTS_ALLOW_HTTP"} {
		t.Setenv(env, "")
	}

	s, err := parse(t).sender(nil)
	require.NoError(t, err)
	require.Nil(t, s, "no endpoint: no events")

	rcv := outboundtest.NewReceiver(t, secret)
	t.Setenv("QESFLOW_EVENTS_ENDPOINTS", "backend="+rcv.URL)
	t.Setenv("QESFLOW_EVENTS_SECRETS", secret)
	reg := prometheus.NewRegistry()
	s, err = parse(t).sender(reg)
	require.NoError(t, err)
	require.Equal(t, []string{"backend"}, s.Endpoints())
	require.NoError(t, s.Send(context.Background(), "backend", outbound.Message{ID: "msg_1", Event: outbound.Event{Type: outbound.TypeStarted}}))
	require.Len(t, rcv.Accepted(), 1)
	families, err := reg.Gather()
	require.NoError(t, err)
	require.Equal(t, "qesflow_event_deliveries_total", families[0].GetName())
	require.Equal(t, 1.0, families[0].GetMetric()[0].GetCounter().GetValue())

	file := filepath.Join(t.TempDir(), "secrets")
	require.NoError(t, os.WriteFile(file, []byte(secret+"\n"), 0o600))
	t.Setenv("QESFLOW_EVENTS_SECRETS", "")
	s, err = parse(t, "--events-secrets-file", file).sender(nil)
	require.NoError(t, err)
	require.NotNil(t, s)

	// Per-endpoint secrets from a file, and an opt-in compliance endpoint with its own.
	other, compliance := outboundtest.Secret("worker-flags-b"), outboundtest.Secret("worker-flags-c")
	rcvB, rcvC := outboundtest.NewReceiver(t, other), outboundtest.NewReceiver(t, compliance)
	t.Setenv("QESFLOW_EVENTS_ENDPOINTS", "backend="+rcv.URL+",b="+rcvB.URL)
	t.Setenv("QESFLOW_EVENTS_COMPLIANCE_ENDPOINTS", "audit="+rcvC.URL)
	require.NoError(t, os.WriteFile(file, []byte("backend="+secret+"\nb="+other+"\naudit="+compliance+"\n"), 0o600))
	s, err = parse(t, "--events-secrets-file", file).sender(nil)
	require.NoError(t, err)
	require.Equal(t, []string{"backend", "b", "audit"}, s.Endpoints())
	for _, ep := range s.Endpoints() {
		require.NoError(t, s.Send(context.Background(), ep, outbound.Message{ID: "msg_" + ep, Event: outbound.Event{Type: outbound.TypeStarted}}))
	}
	require.Len(t, rcvB.Accepted(), 1, "b's deliveries verify under b's secret")
	require.Len(t, rcvC.Accepted(), 1)
	require.Len(t, rcv.Accepted(), 2, "backend's too")
	t.Setenv("QESFLOW_EVENTS_COMPLIANCE_ENDPOINTS", "")

	for _, tc := range []struct {
		name, endpoints, compliance, secrets, want string
	}{
		{"no secret", "https://app.example/events", "", "", "needs a signing secret"},
		{"not a whsec secret", "https://app.example/events", "", "hunter2-hunter2-hunter2-hunter2", "starts with whsec_"},
		{"http to another host", "http://app.example/events", "", secret, "use https://"},
		{"bad endpoint", "backend=ftp://app.example", "", secret, "want http(s)://"},
		{"endpoint without a secret", "a=https://app.example/a,b=https://app.example/b", "", "a=" + secret, "no signing secret for endpoint b"},
		{"secret of no endpoint", "a=https://app.example/a", "", "a=" + secret + ",typo=" + other, "typo, which is no event endpoint"},
		{"compliance endpoint sharing the secret", "https://app.example/a", "audit=https://audit.example/e", secret, "compliance endpoint audit needs a secret of its own"},
		{"compliance endpoint named like another", "audit=https://app.example/a", "audit=https://audit.example/e", "audit=" + compliance, "configured twice"},
		{"compliance endpoint over http", "", "audit=http://audit.example/e", "audit=" + compliance, "--events-compliance-endpoints audit: use https://"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("QESFLOW_EVENTS_ENDPOINTS", tc.endpoints)
			t.Setenv("QESFLOW_EVENTS_COMPLIANCE_ENDPOINTS", tc.compliance)
			t.Setenv("QESFLOW_EVENTS_SECRETS", tc.secrets)
			_, err := parse(t).sender(nil)
			require.ErrorContains(t, err, tc.want)
			if tc.secrets != "" {
				require.NotContains(t, err.Error(), strings.TrimPrefix(tc.secrets, outbound.SecretPrefix))
			}
		})
	}
}
