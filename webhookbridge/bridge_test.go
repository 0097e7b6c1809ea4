package webhookbridge_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.uber.org/zap/zapcore"

	"github.com/qesflow/qesflow/internal/testenv"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/webhookbridge"
	"github.com/qesflow/qesflow/workflows"
)

func TestNewRequiresASecretAndAClient(t *testing.T) {
	_, err := webhookbridge.New(webhookbridge.Config{Secrets: []string{"", ""}, Temporal: nopTemporal{}})
	require.ErrorIs(t, err, webhookbridge.ErrNoSecret)
	_, err = webhookbridge.New(webhookbridge.Config{Secrets: []string{"s"}})
	require.ErrorIs(t, err, webhookbridge.ErrNoTemporal)
}

type nopTemporal struct{}

func (nopTemporal) SignalWorkflow(context.Context, string, string, string, any) error { return nil }
func (nopTemporal) ListWorkflow(context.Context, *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	return &workflowservice.ListWorkflowExecutionsResponse{}, nil
}

// TestBridge runs every bridge behaviour against one in-process Temporal with the real
// worker; each subtest uses its own user.
func TestBridge(t *testing.T) {
	ts := testenv.NewTemporal(t)
	c := ts.GetDefaultClient()
	tz := startTreezor(t)
	startWorker(t, c, tz)
	b := startBridge(t, c, tz)

	t.Run("refused webhooks signal nothing", func(t *testing.T) { testRefused(t, b) })
	t.Run("signals the user's onboarding", func(t *testing.T) { testSignals(t, b) })
	t.Run("duplicate delivery changes nothing", func(t *testing.T) { testDuplicate(t, b) })
	t.Run("unknown event type is ignored", func(t *testing.T) { testIgnored(t, b) })
	t.Run("unknown user starts nothing", func(t *testing.T) { testNoOnboarding(t, b) })
	t.Run("routes by identification id without user id", func(t *testing.T) { testRouteByIdentification(t, b) })
	t.Run("PHP shapes are signalled", func(t *testing.T) { testPHPShapesSignalled(t, b) })
	t.Run("user.kycrequest in the wrapped form is signalled", func(t *testing.T) { testKYCRequestWrapped(t, b) })
	t.Run("signature mismatch answers 500 and is logged once", func(t *testing.T) { testSignatureMismatchLoggedOnce(t, b) })
	t.Run("identification not visible yet answers 503", func(t *testing.T) { testIdentificationNotVisibleYet(t, b) })
	t.Run("every documented webhook shape is answered 2xx", func(t *testing.T) {
		testContractFixtures(t, startBridgeWith(t, c, tz, contractWebhookSecret))
	})
	t.Run("logs carry no secrets or payloads", func(t *testing.T) { testLogs(t, b) })
}

func testRefused(t *testing.T, b *bridgeUnderTest) {
	const user = "refused-user-1"
	before := b.startOnboarding(user)
	ident := before.IdentificationID
	success := func(id string) webhook {
		return qesWebhook(treezor.EventQESFinalized, id, user, ident, treezor.ResultSuccess, 0)
	}
	tampered := success("wh-tampered").body(t)
	tampered = bytes.Replace(tampered, []byte(`"result":"SUCCESS"`), []byte(`"result":"ABORTED"`), 1)
	require.Contains(t, string(tampered), "ABORTED")
	huge := append(success("wh-huge").body(t), bytes.Repeat([]byte(" "), webhookbridge.DefaultMaxBody)...)

	tests := []struct {
		name        string
		webhookID   string
		body        []byte
		contentType string
		chunked     bool
		wantCode    int
		wantOutcome string
		eventType   string
	}{
		{"wrong secret", "wh-wrong-secret", withSecret(success("wh-wrong-secret"), "not-the-secret").body(t), "application/json", false, 500, webhookbridge.OutcomeBadSignature, treezor.EventQESFinalized},
		{"payload changed after signing", "wh-tampered", tampered, "application/json", false, 500, webhookbridge.OutcomeBadSignature, treezor.EventQESFinalized},
		{"no signature", "wh-unsigned", unsigned(success("wh-unsigned")).body(t), "application/json", false, 500, webhookbridge.OutcomeBadSignature, treezor.EventQESFinalized},
		{"garbage signature", "wh-garbage", withSignature(success("wh-garbage"), "AAAA").body(t), "application/json", false, 500, webhookbridge.OutcomeBadSignature, treezor.EventQESFinalized},
		{"not JSON", "", []byte(`{"webhook": "qes.finalized", `), "application/json", false, 400, webhookbridge.OutcomeMalformed, "other"},
		{"known type with undecodable payload", "wh-bad-payload", webhook{Type: treezor.EventQESFinalized, ID: "wh-bad-payload", Payload: map[string]any{"qes": 5}}.body(t), "application/json", false, 500, webhookbridge.OutcomeUndecodable, treezor.EventQESFinalized},
		{"missing webhook id", "", success("").body(t), "application/json", false, 400, webhookbridge.OutcomeMalformed, treezor.EventQESFinalized},
		{"type contradicts the signed payload", "wh-relabelled", qesWebhook(treezor.EventQESAborted, "wh-relabelled", user, ident, "", 0).body(t), "application/json", false, 400, webhookbridge.OutcomeInconsistent, treezor.EventQESAborted},
		{"too large", "", huge, "application/json", false, 413, webhookbridge.OutcomeTooLarge, "other"},
		{"too large without content length", "", huge, "application/json", true, 413, webhookbridge.OutcomeTooLarge, "other"},
		{"unsupported media type", "", success("wh-xml").body(t), "application/xml", false, 415, webhookbridge.OutcomeUnsupportedMedia, "other"},
		// Signed, but naming nothing that can be an onboarding: acknowledged (a 4xx means
		// nothing to Treezor), counted, never signalled.
		{"user id with path traversal", "wh-traversal", qesWebhook(treezor.EventQESFinalized, "wh-traversal", "../../etc/passwd", ident, treezor.ResultSuccess, 0).body(t), "application/json", false, 200, webhookbridge.OutcomeUnroutable, treezor.EventQESFinalized},
		{"user id too long", "wh-long-user", qesWebhook(treezor.EventQESFinalized, "wh-long-user", strings.Repeat("1", 65), ident, treezor.ResultSuccess, 0).body(t), "application/json", false, 200, webhookbridge.OutcomeUnroutable, treezor.EventQESFinalized},
		{"identification id with query injection", "wh-injection", qesWebhook(treezor.EventQESFinalized, "wh-injection", "", "x' OR QESState != '", treezor.ResultSuccess, 0).body(t), "application/json", false, 200, webhookbridge.OutcomeUnroutable, treezor.EventQESFinalized},
		{"no user id to route by", "wh-no-user", webhook{Type: treezor.EventDocumentCreate, ID: "wh-no-user", Object: "document", ObjectID: "doc-1", Payload: map[string]any{"documents": []any{map[string]any{"documentId": "doc-1"}}}}.body(t), "application/json", false, 200, webhookbridge.OutcomeUnroutable, treezor.EventDocumentCreate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counted := b.requests(tt.eventType, tt.wantOutcome)
			length := int64(len(tt.body))
			var body io.Reader = bytes.NewReader(tt.body)
			if tt.chunked {
				length, body = -1, io.MultiReader(body) // hides the length: sent chunked
			}
			r := postTo(t, b.url, body, length, tt.contentType)
			require.Equal(t, tt.wantCode, r.code)
			require.Equal(t, tt.wantOutcome, r.answer.Status)
			require.Equal(t, tt.webhookID, r.answer.WebhookID)
			if tt.wantCode >= 400 {
				require.NotEmpty(t, r.answer.Error)
			}
			require.Equal(t, counted+1, b.requests(tt.eventType, tt.wantOutcome))
		})
	}

	// Nothing reached the workflow: same state, none of the webhooks in its timeline.
	after, err := b.status(user)
	require.NoError(t, err)
	require.Equal(t, before.State, after.State)
	require.Equal(t, before.Attempt, after.Attempt)
	for _, tt := range tests {
		if tt.webhookID != "" {
			require.False(t, timelineHas(after, tt.webhookID), "webhook %s reached the workflow", tt.webhookID)
		}
	}
}

func withSecret(w webhook, secret string) webhook { w.Secret = secret; return w }

func withSignature(w webhook, sig string) webhook { w.Signature = sig; return w }

func unsigned(w webhook) webhook { w.Unsigned = true; return w }

func testSignals(t *testing.T, b *bridgeUnderTest) {
	const user = "signal-user-1"
	s := b.startOnboarding(user)

	created := qesWebhook(treezor.EventQESCreated, "wh-created-1", user, s.IdentificationID, "", 0)
	before := b.requests(treezor.EventQESCreated, webhookbridge.OutcomeSignalled)
	r := b.post(created.body(t), "application/json; charset=utf-8")
	require.Equal(t, http.StatusOK, r.code)
	require.Equal(t, webhookbridge.OutcomeSignalled, r.answer.Status)
	require.Equal(t, "wh-created-1", r.answer.WebhookID)
	require.Equal(t, before+1, b.requests(treezor.EventQESCreated, webhookbridge.OutcomeSignalled))
	b.waitFor(user, func(s workflows.Status) bool {
		return s.State == workflows.StateInProgress && timelineHas(s, "wh-created-1")
	})

	// Treezor may send text/plain; signed with the retired secret, still in rotation.
	processing := withSecret(qesWebhook(treezor.EventQESProcessing, "wh-processing-1", user, s.IdentificationID, treezor.ResultReviewPending, 0), retiredSecret)
	r = b.post(processing.body(t), "text/plain")
	require.Equal(t, http.StatusOK, r.code)
	require.Equal(t, webhookbridge.OutcomeSignalled, r.answer.Status)
	b.waitFor(user, func(s workflows.Status) bool {
		return s.State == workflows.StateProviderReview && timelineHas(s, "wh-processing-1")
	})
}

func testDuplicate(t *testing.T, b *bridgeUnderTest) {
	const user = "duplicate-user-1"
	s := b.startOnboarding(user)
	aborted := qesWebhook(treezor.EventQESFinalized, "wh-aborted-1", user, s.IdentificationID, treezor.ResultAborted, 3017)

	r := b.post(aborted.body(t), "application/json")
	require.Equal(t, http.StatusOK, r.code)
	require.Equal(t, webhookbridge.OutcomeSignalled, r.answer.Status)
	// 3017 is technical: a new attempt with a new identification at once.
	first := b.waitFor(user, func(s workflows.Status) bool {
		return s.Attempt == 2 && s.State == workflows.StateAwaitingUser && timelineHas(s, "wh-aborted-1")
	})

	// Treezor redelivers: the bridge signals again (it keeps no state), the workflow dedupes.
	r = b.post(aborted.body(t), "application/json")
	require.Equal(t, http.StatusOK, r.code)
	require.Equal(t, webhookbridge.OutcomeSignalled, r.answer.Status)
	second := b.waitFor(user, func(s workflows.Status) bool {
		return len(s.Timeline) > len(first.Timeline) || countWebhook(s, "wh-aborted-1") > 1
	})
	require.Equal(t, first.State, second.State)
	require.Equal(t, first.Attempt, second.Attempt)
	require.Equal(t, first.IdentificationID, second.IdentificationID)
	require.Len(t, b.treezor.Identifications(user), 2, "the duplicate started no further identification")
}

func countWebhook(s workflows.Status, id string) int {
	n := 0
	for _, e := range s.Timeline {
		if e.WebhookID == id {
			n++
		}
	}
	return n
}

func testIgnored(t *testing.T, b *bridgeUnderTest) {
	before := b.requests("other", webhookbridge.OutcomeIgnored)
	card := webhook{Type: "card.create", ID: "wh-card-1", Object: "card", ObjectID: "c1", Payload: map[string]any{"cards": []any{map[string]any{"cardId": "c1", "userId": "someone"}}}}
	r := b.post(card.body(t), "application/json")
	require.Equal(t, http.StatusOK, r.code)
	require.Equal(t, webhookbridge.OutcomeIgnored, r.answer.Status)
	require.Equal(t, before+1, b.requests("other", webhookbridge.OutcomeIgnored))
}

func testNoOnboarding(t *testing.T, b *bridgeUnderTest) {
	const ghost = "ghost-user-1"
	before := b.requests(treezor.EventQESFinalized, webhookbridge.OutcomeNoOnboarding)
	r := b.post(qesWebhook(treezor.EventQESFinalized, "wh-ghost-1", ghost, "ident-ghost", treezor.ResultSuccess, 0).body(t), "application/json")
	require.Equal(t, http.StatusOK, r.code)
	require.Equal(t, webhookbridge.OutcomeNoOnboarding, r.answer.Status)
	require.Equal(t, before+1, b.requests(treezor.EventQESFinalized, webhookbridge.OutcomeNoOnboarding))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := b.c.DescribeWorkflowExecution(ctx, workflows.WorkflowID(ghost), "")
	var notFound *serviceerror.NotFound
	require.True(t, errors.As(err, &notFound), "a webhook must never start a workflow, got %v", err)

	// An identification id nobody has, past the grace period: also no onboarding.
	old := qesWebhook(treezor.EventQESFinalized, "wh-ghost-2", "", "ident-nobody", treezor.ResultSuccess, 0)
	old.CreatedAt = time.Now().Add(-webhookbridge.DefaultIdentificationGrace - time.Minute)
	r = b.post(old.body(t), "application/json")
	require.Equal(t, http.StatusOK, r.code)
	require.Equal(t, webhookbridge.OutcomeNoOnboarding, r.answer.Status)
}

func testRouteByIdentification(t *testing.T, b *bridgeUnderTest) {
	const user = "ident-route-user-1"
	s := b.startOnboarding(user)
	// Visibility lags: wait until the search attribute is queryable, as the bridge will.
	query := fmt.Sprintf("%s = '%s'", workflows.SAQESIdentificationID, s.IdentificationID)
	require.Eventually(t, func() bool {
		resp, err := b.c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		return err == nil && len(resp.GetExecutions()) == 1
	}, 60*time.Second, 100*time.Millisecond)

	created := qesWebhook(treezor.EventQESCreated, "wh-by-ident-1", "", s.IdentificationID, "", 0)
	r := b.post(created.body(t), "application/json")
	require.Equal(t, http.StatusOK, r.code)
	require.Equal(t, webhookbridge.OutcomeSignalled, r.answer.Status)
	b.waitFor(user, func(s workflows.Status) bool {
		return s.State == workflows.StateInProgress && timelineHas(s, "wh-by-ident-1")
	})
}

func testLogs(t *testing.T, b *bridgeUnderTest) {
	entries := b.logs.All()
	require.NotEmpty(t, entries)
	var handled, accessLines int
	for _, e := range entries {
		line := fmt.Sprint(e.Message, e.ContextMap())
		for _, secret := range []string{testSecret, retiredSecret, "not-the-secret", "object_payload", "identificationURL", "idnow.example", "reasonMessage"} {
			require.NotContains(t, line, secret)
		}
		if e.Message == "webhook handled" || e.Message == "webhook refused" {
			handled++
			fields := e.ContextMap()
			for _, k := range []string{"outcome", "status", "eventType", "webhookId", "userId", "requestId", "duration"} {
				require.Contains(t, fields, k)
			}
			require.NotEmpty(t, fields["requestId"])
			require.Equal(t, "POST "+webhookbridge.Path, fields["route"])
		}
		// The webhook's own line says all the access log line would: that one is debug only.
		if e.Message == "http request" && e.ContextMap()["route"] == "POST "+webhookbridge.Path {
			accessLines++
			require.Equal(t, zapcore.DebugLevel, e.Level, "access log line of a webhook")
		}
	}
	require.Positive(t, handled)
	require.Positive(t, accessLines)
}
