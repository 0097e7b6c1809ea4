package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	querypb "go.temporal.io/api/query/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/qesflow/qesflow/codec"
	"github.com/qesflow/qesflow/console"
	"github.com/qesflow/qesflow/workflows"
)

// privateUser has distinctive PII values, so that any of them found in history or logs is a
// leak and not a coincidence.
var privateUser = struct{ id, firstname, lastname, email, phone string }{
	id: "8101", firstname: "Zephyrinexq", lastname: "Quackenbushzq",
	email: "zephyrine.quackenbush@privacy.example", phone: "+33612345987",
}

// incompleteUser lacks a phone number: Treezor answers 428, and the error travels from the
// activity through the update to the API.
var incompleteUser = struct{ id, firstname, lastname, email string }{
	id: "8102", firstname: "Oluwaseunzq", lastname: "Vanderbrookxq", email: "seun.vanderbrook@privacy.example",
}

// syncBuffer is a log sink the stack's goroutines write to concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// onboarded is what a full onboarding left behind: the values that must stay private.
type onboarded struct {
	start            startAnswer
	identificationID string
	documentIDs      []string
}

// runPrivateOnboarding takes privateUser through the whole flow, documents downloaded.
func runPrivateOnboarding(t *testing.T, s *Stack) onboarded {
	t.Helper()
	u := privateUser
	code := call(t, http.MethodPost, s.SimURL+"/sim/users", "", map[string]string{
		"userId": u.id, "firstname": u.firstname, "lastname": u.lastname, "email": u.email,
		"country": "FR", "phone": u.phone,
	}, nil)
	require.Equal(t, http.StatusOK, code)
	a := startOnboarding(t, s, u.id)
	id := identificationID(t, a.IdentificationURL)
	simAction(t, s, id, "success")
	waitState(t, s, u.id, workflows.StateKYCReviewPending)
	decideKYC(t, s, u.id, "validate")
	st := waitState(t, s, u.id, workflows.StateCompletedValidated)
	require.NotEmpty(t, st.Documents, "the QES documents were announced")
	require.NotEmpty(t, st.DocumentDownloads)
	for _, d := range st.DocumentDownloads {
		require.True(t, d.Done, "document %s downloaded", d.DocumentID)
		require.Empty(t, d.Error, "document %s", d.DocumentID)
	}
	return onboarded{start: a, identificationID: id, documentIDs: st.Documents}
}

// startIncompleteOnboarding starts incompleteUser's onboarding: 422 naming the phone.
func startIncompleteOnboarding(t *testing.T, s *Stack) {
	t.Helper()
	u := incompleteUser
	code := call(t, http.MethodPost, s.SimURL+"/sim/users", "", map[string]string{
		"userId": u.id, "firstname": u.firstname, "lastname": u.lastname, "email": u.email, "country": "DE",
	}, nil)
	require.Equal(t, http.StatusOK, code)
	var problem struct {
		MissingFields []string `json:"missingFields"`
	}
	req, err := http.NewRequest(http.MethodPost, s.APIURL+"/v1/onboardings", strings.NewReader(`{"userId":"`+u.id+`"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.Credentials.OnboardingKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&problem))
	require.Equal(t, []string{"phone"}, problem.MissingFields)
	waitState(t, s, u.id, workflows.StateUserDataIncomplete)
}

// privateValues are the strings that must never be readable in history or logs.
func (o onboarded) privateValues() map[string]string {
	u := privateUser
	v := map[string]string{
		"firstname":               u.firstname,
		"lastname":                u.lastname,
		"email":                   u.email,
		"email local part":        strings.Split(u.email, "@")[0],
		"phone":                   u.phone,
		"phone digits":            strings.TrimPrefix(u.phone, "+33"),
		"identification URL":      o.start.IdentificationURL,
		"identification URL path": "/identifications/" + o.identificationID,
		"presigned URL signature": "&sig=",
		"incomplete firstname":    incompleteUser.firstname,
		"incomplete lastname":     incompleteUser.lastname,
		"incomplete email":        incompleteUser.email,
	}
	for _, d := range o.documentIDs {
		v["document URL path "+d] = "/files/" + d
	}
	return v
}

func TestDevStackKeepsPIIPrivate(t *testing.T) {
	var logs syncBuffer
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&logs), zap.DebugLevel))
	download := true
	cfg := freeConfig(t.TempDir(), true)
	cfg.Logger = logger
	cfg.ServerLogLevel = "debug"
	// Documents are stored as they are announced; the review waits out the window for late ones.
	cfg.Policy = &workflows.PolicyOverride{DownloadDocuments: &download, DocumentWaitWindow: 3 * time.Second}
	cfg.Sim.DownloadsEnabled = true // off by default, as at Treezor
	s := startStack(t, cfg)
	o := runPrivateOnboarding(t, s)
	startIncompleteOnboarding(t, s)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A client without the codec sees what Temporal stores.
	raw, err := client.Dial(client.Options{HostPort: s.TemporalAddress, Namespace: s.Server.Namespace()})
	require.NoError(t, err)
	defer raw.Close()

	t.Run("raw history holds no readable PII", func(t *testing.T) {
		events := history(ctx, t, raw, o.start.WorkflowID, o.start.RunID)
		events = append(events, history(ctx, t, raw, workflows.WorkflowID(incompleteUser.id), "")...)
		for _, e := range events {
			bin, err := proto.Marshal(e)
			require.NoError(t, err)
			js, err := protojson.Marshal(e)
			require.NoError(t, err)
			for name, value := range o.privateValues() {
				require.False(t, bytes.Contains(bin, []byte(value)) || bytes.Contains(js, []byte(value)),
					"%s %q readable in event %d (%s): %s", name, value, e.GetEventId(), e.GetEventType(), js)
			}
		}
		// Every payload is encrypted, except search attributes (plaintext by design, ids only).
		var payloads []*commonpb.Payload
		for _, e := range events {
			payloads = append(payloads, eventPayloads(e)...)
		}
		require.Greater(t, len(payloads), 10)
		for _, p := range payloads {
			require.Equal(t, codec.EncodingEncrypted, string(p.GetMetadata()["encoding"]))
			require.Equal(t, s.Keyring.ActiveKeyID(), string(p.GetMetadata()[codec.MetadataKeyID]))
		}

		// Control: decrypted through the codec endpoint the UI uses, the identification URL
		// (update result, activity output) is there, so the checks above can fail.
		decoded := decodeThroughEndpoint(t, s, payloads)
		require.Contains(t, decoded, o.start.IdentificationURL)
		require.Contains(t, decoded, `"userId":"`+privateUser.id+`"`)
	})

	t.Run("raw status query answer is encrypted", func(t *testing.T) {
		resp, err := raw.WorkflowService().QueryWorkflow(ctx, &workflowservice.QueryWorkflowRequest{
			Namespace: s.Server.Namespace(),
			Execution: &commonpb.WorkflowExecution{WorkflowId: o.start.WorkflowID},
			Query:     &querypb.WorkflowQuery{QueryType: workflows.QueryStatus},
		})
		require.NoError(t, err)
		ps := resp.GetQueryResult().GetPayloads()
		require.Len(t, ps, 1)
		require.Equal(t, codec.EncodingEncrypted, string(ps[0].GetMetadata()["encoding"]))
		require.NotContains(t, string(ps[0].GetData()), "userId")
		require.NotContains(t, string(ps[0].GetData()), workflows.StateCompletedValidated)

		// The same answer through the stack's converter.
		var st workflows.Status
		require.NoError(t, s.DataConverter.FromPayloads(resp.GetQueryResult(), &st))
		require.Equal(t, workflows.StateCompletedValidated, st.State)
		// And the default converter alone cannot read it.
		require.Error(t, converter.GetDefaultDataConverter().FromPayloads(resp.GetQueryResult(), &st))
	})

	t.Run("the Web UI decodes through the codec endpoint", func(t *testing.T) {
		resp, err := http.Get(s.UIURL + "/api/v1/settings")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var settings struct {
			Codec struct{ Endpoint string }
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&settings))
		require.Equal(t, s.CodecURL, settings.Codec.Endpoint)
		require.Equal(t, s.APIURL+"/codec", s.CodecURL)

		// The browser's preflight from the UI page is answered; another site's is not.
		for origin, want := range map[string]int{s.UIURL: http.StatusNoContent, "https://elsewhere.example": http.StatusForbidden} {
			req, err := http.NewRequest(http.MethodOptions, s.CodecURL+"/decode", nil)
			require.NoError(t, err)
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, want, resp.StatusCode, origin)
		}
		// A script without the UI's origin needs the compliance key.
		code := call(t, http.MethodPost, s.CodecURL+"/decode", "", map[string]any{"payloads": []any{}}, nil)
		require.Equal(t, http.StatusUnauthorized, code)
		code = call(t, http.MethodPost, s.CodecURL+"/decode", s.Credentials.ComplianceKey, map[string]any{"payloads": []any{}}, nil)
		require.Equal(t, http.StatusOK, code)
	})

	t.Run("logs hold no PII and no secret", func(t *testing.T) {
		out := logs.String()
		require.Contains(t, out, `"workflowId"`, "sanity: the stack logged at debug level")
		require.Contains(t, out, privateUser.id, "sanity: user ids are logged")
		secrets := map[string]string{
			"webhook secret":        s.Credentials.WebhookSecret,
			"treezor client secret": s.Credentials.TreezorClientSecret,
			"onboarding API key":    s.Credentials.OnboardingKey,
			"compliance API key":    s.Credentials.ComplianceKey,
			"codec keys":            s.Credentials.CodecKeys,
			"codec key material":    strings.SplitN(s.Credentials.CodecKeys, ":", 2)[1],
			"console session keys":  s.Credentials.ConsoleSessionKeys,
		}
		for name, value := range o.privateValues() {
			secrets[name] = value
		}
		for name, value := range secrets {
			require.NotEmpty(t, value, name)
			if i := strings.Index(out, value); i >= 0 {
				line := out[strings.LastIndex(out[:i], "\n")+1:]
				line, _, _ = strings.Cut(line, "\n")
				t.Errorf("%s %q in the logs: %s", name, value, line)
			}
		}
	})
}

// history reads every event of one run.
func history(ctx context.Context, t *testing.T, c client.Client, workflowID, runID string) []*historypb.HistoryEvent {
	t.Helper()
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		events = append(events, e)
	}
	require.NotEmpty(t, events)
	return events
}

// eventPayloads collects every payload of an event, outside search attributes.
func eventPayloads(e *historypb.HistoryEvent) []*commonpb.Payload {
	var out []*commonpb.Payload
	var walk func(m protoreflect.Message)
	walk = func(m protoreflect.Message) {
		if p, ok := m.Interface().(*commonpb.Payload); ok {
			out = append(out, p)
			return
		}
		if _, ok := m.Interface().(*commonpb.SearchAttributes); ok {
			return
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsList() && fd.Message() != nil:
				for i := 0; i < v.List().Len(); i++ {
					walk(v.List().Get(i).Message())
				}
			case fd.IsMap() && fd.MapValue().Message() != nil:
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					walk(mv.Message())
					return true
				})
			case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
				walk(v.Message())
			}
			return true
		})
	}
	walk(e.ProtoReflect())
	return out
}

// decodeThroughEndpoint decrypts payloads as the Web UI's browser does for a signed-in
// operator: POST {codec}/decode from the UI's origin with the console's codec cookie, and
// returns the decoded payload data joined.
func decodeThroughEndpoint(t *testing.T, s *Stack, payloads []*commonpb.Payload) string {
	t.Helper()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, s.CodecURL+"/decode?preserveStorageRefs=true", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", s.UIURL)
	req.Header.Set("X-Namespace", s.Server.Namespace())
	req.AddCookie(codecCookie(t, s))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	require.Equal(t, s.UIURL, resp.Header.Get("Access-Control-Allow-Origin"))
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(b, &out))
	require.Len(t, out.Payloads, len(payloads))
	var all strings.Builder
	for _, p := range out.Payloads {
		require.NotEqual(t, codec.EncodingEncrypted, string(p.GetMetadata()["encoding"]))
		all.Write(p.GetData())
		all.WriteByte('\n')
	}
	return all.String()
}

// codecCookie signs in to the console over HTTP as the compliance operator and returns the
// codec cookie the browser then sends with the Web UI's decode requests.
func codecCookie(t *testing.T, s *Stack) *http.Cookie {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(s.APIURL + "/console/signin")
	require.NoError(t, err)
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	require.NotNil(t, m, "the sign-in form")
	resp, err = c.PostForm(s.APIURL+"/console/signin", url.Values{"csrf": {string(m[1])}, "key": {s.Credentials.ComplianceKey}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	for _, ck := range resp.Cookies() {
		if ck.Name == console.CodecSessionCookie {
			return &http.Cookie{Name: ck.Name, Value: ck.Value}
		}
	}
	t.Fatal("no codec cookie after sign-in")
	return nil
}
