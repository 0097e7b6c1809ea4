package outbound_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/outbound"
	"github.com/qesflow/qesflow/outbound/outboundtest"
)

// Test secrets: whsec_ and base64 of 32 bytes, as the specification's examples.
var (
	oldSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("old-secret-old-secret-old-secr32"))
	newSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("new-secret-new-secret-new-secr32"))
)

// receiver is an httptest backend that verifies every delivery with the Standard Webhooks
// library and keeps what verified.
type receiver struct {
	srv    *httptest.Server
	wh     *standardwebhooks.Webhook
	status int

	mu       sync.Mutex
	verified []outbound.Event
	ids      []string
	failures []error
}

func newReceiver(t *testing.T, secret string) *receiver {
	wh, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	r := &receiver{wh: wh, status: http.StatusNoContent}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := r.wh.Verify(body, req.Header); err != nil {
			r.failures = append(r.failures, err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var ev outbound.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			r.failures = append(r.failures, err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.verified = append(r.verified, ev)
		r.ids = append(r.ids, req.Header.Get("webhook-id"))
		w.WriteHeader(r.status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func message(seq int) outbound.Message {
	return outbound.Message{ID: "msg_test" + strings.Repeat("0", seq), Event: outbound.Event{
		Type: outbound.TypeUnderReview, Timestamp: time.Now().UTC().Truncate(time.Second),
		Data: outbound.Data{UserID: "42", Sequence: seq, Status: "UNDER_REVIEW", Message: "Under review.", Attempt: 1},
	}}
}

func sender(t *testing.T, secrets string, eps ...outbound.Endpoint) *outbound.Sender {
	ss, err := outbound.ParseSecrets(secrets)
	require.NoError(t, err)
	s, err := outbound.NewSender(outbound.Config{Endpoints: eps, Secrets: ss})
	require.NoError(t, err)
	return s
}

// TestSendVerifiesWithTheStandardLibrary: a delivery verifies with the specification's own
// Go library, for every event type, and carries the webhook id it was given.
func TestSendVerifiesWithTheStandardLibrary(t *testing.T) {
	rcv := newReceiver(t, oldSecret)
	s := sender(t, oldSecret, outbound.Endpoint{Name: "backend", URL: rcv.srv.URL})
	for i, typ := range outbound.Types {
		msg := message(i + 1)
		msg.Event.Type = typ
		require.NoError(t, s.Send(context.Background(), "backend", msg))
	}
	require.Empty(t, rcv.failures)
	require.Len(t, rcv.verified, len(outbound.Types))
	for i, ev := range rcv.verified {
		require.Equal(t, outbound.Types[i], ev.Type)
		require.Equal(t, message(i+1).ID, rcv.ids[i])
	}
}

// TestSecretRotation: during a rotation both secrets sign, so a receiver on the old one
// and a receiver on the new one both verify; a receiver on another secret does not.
func TestSecretRotation(t *testing.T) {
	onOld, onNew := newReceiver(t, oldSecret), newReceiver(t, newSecret)
	other := newReceiver(t, "whsec_"+base64.StdEncoding.EncodeToString([]byte("another-secret-another-secr-32b")))
	s := sender(t, oldSecret+" "+newSecret,
		outbound.Endpoint{Name: "old", URL: onOld.srv.URL}, outbound.Endpoint{Name: "new", URL: onNew.srv.URL},
		outbound.Endpoint{Name: "other", URL: other.srv.URL})
	require.NoError(t, s.Send(context.Background(), "old", message(1)))
	require.NoError(t, s.Send(context.Background(), "new", message(1)))
	require.Error(t, s.Send(context.Background(), "other", message(1)))
	require.Len(t, onOld.verified, 1)
	require.Len(t, onNew.verified, 1)
	require.Len(t, other.failures, 1)
	require.ErrorIs(t, other.failures[0], standardwebhooks.ErrNoMatchingSignature)
}

// TestSendOutcomes: 2xx delivers, 410 is ErrGone, any other status an error to retry; no
// error shows the endpoint's URL (it may hold a token).
func TestSendOutcomes(t *testing.T) {
	for _, tc := range []struct {
		status int
		gone   bool
		ok     bool
	}{
		{http.StatusOK, false, true}, {http.StatusNoContent, false, true}, {http.StatusGone, true, false},
		{http.StatusInternalServerError, false, false}, {http.StatusUnauthorized, false, false},
		{http.StatusTooManyRequests, false, false},
	} {
		rcv := newReceiver(t, oldSecret)
		rcv.status = tc.status
		var outcomes []string
		ss, _ := outbound.ParseSecrets(oldSecret)
		url := rcv.srv.URL + "/hook?token=sekret"
		s, err := outbound.NewSender(outbound.Config{Endpoints: []outbound.Endpoint{{Name: "backend", URL: url}}, Secrets: ss,
			Observe: func(_, o string) { outcomes = append(outcomes, o) }})
		require.NoError(t, err)
		err = s.Send(context.Background(), "backend", message(1))
		require.Equal(t, tc.ok, err == nil, "status %d: %v", tc.status, err)
		require.Equal(t, tc.gone, errors.Is(err, outbound.ErrGone), "status %d", tc.status)
		if err != nil {
			require.NotContains(t, err.Error(), "sekret")
			require.Contains(t, err.Error(), "backend")
		}
		require.Len(t, outcomes, 1)
	}
	// A receiver that is down: the error names the endpoint, not the URL.
	ss, _ := outbound.ParseSecrets(oldSecret)
	s, err := outbound.NewSender(outbound.Config{Secrets: ss, Timeout: time.Second,
		Endpoints: []outbound.Endpoint{{Name: "backend", URL: "http://127.0.0.1:1/hook?token=sekret"}}})
	require.NoError(t, err)
	err = s.Send(context.Background(), "backend", message(1))
	require.Error(t, err)
	require.NotContains(t, err.Error(), "sekret")
}

func TestParseSecrets(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		fail bool
	}{
		{oldSecret, 1, false},
		{oldSecret + "," + newSecret, 2, false},
		{oldSecret + " " + newSecret, 2, false},
		{"", 0, false},
		{"not-a-secret", 0, true},
		{"whsec_!!!", 0, true},
		{"whsec_" + base64.StdEncoding.EncodeToString([]byte("short")), 0, true},
	} {
		got, err := outbound.ParseSecrets(tc.in)
		require.Equal(t, tc.fail, err != nil, "%q: %v", tc.in, err)
		require.Len(t, got, tc.n)
		if err != nil {
			require.NotContains(t, err.Error(), tc.in, "an error never repeats the secret")
		}
		for _, s := range got {
			require.NotContains(t, s.String()+"", strings.TrimPrefix(oldSecret, "whsec_"))
		}
	}
}

func TestParseEndpoints(t *testing.T) {
	eps, err := outbound.ParseEndpoints("https://a.example/hook, crm=https://b.example/events")
	require.NoError(t, err)
	require.Equal(t, []outbound.Endpoint{{Name: "backend", URL: "https://a.example/hook"}, {Name: "crm", URL: "https://b.example/events"}}, eps)
	for _, bad := range []string{"ftp://x", "a=https://x,a=https://y", "name=", "https://"} {
		_, err := outbound.ParseEndpoints(bad)
		require.Error(t, err, bad)
	}
}

// TestPerEndpointSecrets: each endpoint's deliveries are signed with its own secrets (all
// of them during a rotation) and verify, with the Standard Webhooks library, under those
// only; an endpoint without secrets of its own uses the shared ones.
func TestPerEndpointSecrets(t *testing.T) {
	secretA1, secretA2 := outboundtest.Secret("endpoint-a-old"), outboundtest.Secret("endpoint-a-new")
	secretB, shared := outboundtest.Secret("endpoint-b"), outboundtest.Secret("shared")
	rcvA := outboundtest.NewReceiver(t, secretA2)
	rcvB := outboundtest.NewReceiver(t, secretB)
	rcvC := outboundtest.NewReceiver(t, shared)
	sharedSecrets, own, err := outbound.ParseEndpointSecrets(
		"a=" + secretA1 + ", a=" + secretA2 + "\nb=" + secretB + " " + shared)
	require.NoError(t, err)
	s, err := outbound.NewSender(outbound.Config{Secrets: sharedSecrets, Endpoints: []outbound.Endpoint{
		{Name: "a", URL: rcvA.URL, Secrets: own["a"]},
		{Name: "b", URL: rcvB.URL, Secrets: own["b"]},
		{Name: "c", URL: rcvC.URL},
	}})
	require.NoError(t, err)
	msg := outbound.Message{ID: "msg_per_endpoint", Event: outbound.Event{Type: outbound.TypeStarted, Timestamp: time.Now().UTC()}}
	for _, ep := range s.Endpoints() {
		require.NoError(t, s.Send(context.Background(), ep, msg), ep)
	}
	verifies := func(d outboundtest.Delivery, secret string) bool {
		wh, err := standardwebhooks.NewWebhook(secret)
		require.NoError(t, err)
		return wh.Verify(d.Body, d.Header) == nil
	}
	all := []string{secretA1, secretA2, secretB, shared}
	for _, tc := range []struct {
		rcv  *outboundtest.Receiver
		want []string // the secrets its deliveries verify under
	}{
		{rcvA, []string{secretA1, secretA2}},
		{rcvB, []string{secretB}},
		{rcvC, []string{shared}},
	} {
		got := tc.rcv.Accepted()
		require.Len(t, got, 1)
		require.Empty(t, tc.rcv.Failures())
		for _, secret := range all {
			require.Equal(t, slices.Contains(tc.want, secret), verifies(got[0], secret), "%s under secret %d", tc.rcv.URL, slices.Index(all, secret))
		}
	}
	require.Len(t, strings.Fields(rcvA.Accepted()[0].Header.Get("webhook-signature")), 2, "one signature per secret of a")
}

func TestParseEndpointSecrets(t *testing.T) {
	good := outboundtest.Secret("good")
	tests := []struct {
		name, list, err string
		shared          int
		own             map[string]int
	}{
		{"shared only", good, "", 1, map[string]int{}},
		{"per endpoint, rotated", "a=" + good + ",a=" + good + ",b=" + good, "", 0, map[string]int{"a": 2, "b": 1}},
		{"both", good + " a=" + good, "", 1, map[string]int{"a": 1}},
		{"padding is not a name", outbound.SecretPrefix + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXM=", "", 1, map[string]int{}},
		{"not whsec", "hunter2", "starts with whsec_", 0, nil},
		{"name without whsec", "a=hunter2", "endpoint a", 0, nil},
		{"empty name", "=" + good, "starts with whsec_", 0, nil},
		{"short key", "a=" + outbound.SecretPrefix + "c2hvcnQ=", "at least 24 bytes", 0, nil},
	}
	for _, tc := range tests {
		shared, own, err := outbound.ParseEndpointSecrets(tc.list)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.name)
			require.NotContains(t, err.Error(), "hunter2", "no error repeats a secret")
			continue
		}
		require.NoError(t, err, tc.name)
		require.Len(t, shared, tc.shared, tc.name)
		counts := map[string]int{}
		for name, secrets := range own {
			counts[name] = len(secrets)
		}
		require.Equal(t, tc.own, counts, tc.name)
	}
}

// TestComplianceEndpointView: a compliance endpoint receives the internal view
// (data.internal, with the fraud reason) and the compliance-only events; a user-safe
// endpoint receives neither, even when asked to send one.
func TestComplianceEndpointView(t *testing.T) {
	userSecret, complianceSecret := outboundtest.Secret("user-view"), outboundtest.Secret("compliance-view")
	rcvUser := outboundtest.NewReceiver(t, userSecret)
	rcvCompliance := outboundtest.NewReceiver(t, complianceSecret)
	cs, err := outbound.ParseSecrets(complianceSecret)
	require.NoError(t, err)
	us, err := outbound.ParseSecrets(userSecret)
	require.NoError(t, err)

	_, err = outbound.NewSender(outbound.Config{Secrets: us, Endpoints: []outbound.Endpoint{{Name: "c", URL: rcvCompliance.URL, Compliance: true}}})
	require.ErrorContains(t, err, "needs a signing secret of its own")

	s, err := outbound.NewSender(outbound.Config{Secrets: us, Endpoints: []outbound.Endpoint{
		{Name: "backend", URL: rcvUser.URL},
		{Name: "compliance", URL: rcvCompliance.URL, Secrets: cs, Compliance: true},
	}})
	require.NoError(t, err)
	internal := &outbound.Internal{State: "FRAUD_SUSPECTED", Sequence: 1, ReasonCode: 3201, ReasonMessage: "Fraud suspicion", KYCReview: "NONE"}
	shown := outbound.Message{ID: "msg_shown", Internal: internal, Event: outbound.Event{Type: outbound.TypeUnderReview,
		Data: outbound.Data{UserID: "u1", Sequence: 2, Status: "UNDER_REVIEW"}}}
	hidden := outbound.Message{ID: "msg_hidden", Internal: internal, ComplianceOnly: true, Event: shown.Event}

	for _, ep := range s.Endpoints() {
		require.NoError(t, s.Send(context.Background(), ep, shown), ep)
	}
	require.False(t, s.Wants("backend", hidden))
	require.True(t, s.Wants("compliance", hidden))
	require.Error(t, s.Send(context.Background(), "backend", hidden), "a user-safe endpoint never gets a compliance-only event")
	require.NoError(t, s.Send(context.Background(), "compliance", hidden))

	user := rcvUser.Accepted()
	require.Len(t, user, 1)
	for _, word := range []string{"internal", "FRAUD", "3201", "reasonCode"} {
		require.NotContains(t, string(user[0].Body), word)
	}
	got := rcvCompliance.Accepted()
	require.Len(t, got, 2)
	var body struct {
		Type string `json:"type"`
		Data struct {
			Status   string             `json:"status"`
			Internal *outbound.Internal `json:"internal"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(got[0].Body, &body))
	require.Equal(t, outbound.TypeUnderReview, body.Type)
	require.Equal(t, "UNDER_REVIEW", body.Data.Status)
	require.Equal(t, internal, body.Data.Internal)
	require.Equal(t, "msg_hidden", got[1].ID)
	require.Empty(t, rcvUser.Failures())
	require.Empty(t, rcvCompliance.Failures())
}
