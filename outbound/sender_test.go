package outbound_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/outbound"
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
