package treezor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	testClientID     = "qesflow-test-client"
	testClientSecret = "s3cr3t-client-secret-value"
)

// recordedRequest is one API request the wire server received.
type recordedRequest struct {
	Method, EscapedPath, Auth, UserAgent, ContentType string
	Body                                              []byte
}

// wireServer is the client's wire test bench, a raw server kept beside the simulator
// because these tests need bytes: it records the exact requests (path escaping, body,
// headers, token form) and answers byte-level bodies Treezor may send but the simulator
// never does (numeric ids, other error formats, PHP shapes, malformed JSON). What the
// client does against Treezor's behaviour is tested on the simulator (client_sim_test.go).
type wireServer struct {
	srv *httptest.Server

	mu         sync.Mutex
	tokenCalls int
	tokenForms []url.Values
	issued     int
	valid      map[string]bool
	expiresIn  string // JSON value of expires_in
	// tokenFail, when set, answers the token endpoint instead of issuing a token.
	tokenFail func(w http.ResponseWriter)
	requests  []recordedRequest
	// api answers authenticated API requests.
	api func(w http.ResponseWriter, r *http.Request, body []byte)
}

func newWireServer(t *testing.T) *wireServer {
	t.Helper()
	f := &wireServer{valid: map[string]bool{}, expiresIn: "3600"}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *wireServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/oauth/token" {
		f.serveToken(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, recordedRequest{
		Method: r.Method, EscapedPath: r.URL.EscapedPath(), Auth: r.Header.Get("Authorization"),
		UserAgent: r.Header.Get("User-Agent"), ContentType: r.Header.Get("Content-Type"), Body: body,
	})
	ok := f.valid[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	api := f.api
	f.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusUnauthorized, `{"errors":[{"type":"unauthorized","code":"401","message":"invalid token"}]}`)
		return
	}
	api(w, r, body)
}

func (f *wireServer) serveToken(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenCalls++
	f.tokenForms = append(f.tokenForms, r.PostForm)
	if f.tokenFail != nil {
		f.tokenFail(w)
		return
	}
	if r.PostForm.Get("client_secret") != testClientSecret {
		writeJSON(w, http.StatusUnauthorized, `{"error":"invalid_client","error_description":"bad credentials"}`)
		return
	}
	f.issued++
	tok := fmt.Sprintf("access-token-%d-abcdef", f.issued)
	f.valid[tok] = true
	writeJSON(w, http.StatusOK, `{"token_type":"Bearer","expires_in":`+f.expiresIn+`,"access_token":"`+tok+`"}`)
}

// revokeTokens makes every issued token invalid (the API answers 401 to them).
func (f *wireServer) revokeTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.valid = map[string]bool{}
}

func (f *wireServer) counts() (tokenCalls, apiCalls int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenCalls, len(f.requests)
}

func (f *wireServer) lastRequest(t *testing.T) recordedRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NotEmpty(t, f.requests)
	return f.requests[len(f.requests)-1]
}

func (f *wireServer) answer(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.api = func(w http.ResponseWriter, _ *http.Request, _ []byte) { writeJSON(w, status, body) }
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func newTestClient(t *testing.T, f *wireServer, mutate ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: f.srv.URL + "/", ClientID: testClientID, ClientSecret: testClientSecret,
		Scopes: []string{"read_write", "admin"}, Timeout: 5 * time.Second}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := NewClient(cfg)
	require.NoError(t, err)
	return c
}

const nestedQESAnswer = `{"identification":{"identificationId":12345,"identificationURL":"https://go.idnow.de/app/treezoramlauto/identifications/12345/identification/routing/start"}}`

func TestInitiateQES(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		answer      string
		redirectURL string
		wantBody    string
		want        Identification
	}{
		{
			name: "nested shape of the seed, numeric id", status: http.StatusCreated, answer: nestedQESAnswer,
			redirectURL: "https://app.example.com/done?x=1", wantBody: `{"accessTag":"qes-100200-1","redirectUrl":"https://app.example.com/done?x=1"}`,
			want: Identification{IdentificationID: "12345", IdentificationURL: "https://go.idnow.de/app/treezoramlauto/identifications/12345/identification/routing/start"},
		},
		{
			name: "flat shape of the OpenAPI, string id, 200", status: http.StatusOK,
			answer:   `{"identificationId":"TRZ-77","identificationURL":"https://go.idnow.de/x/TRZ-77"}`,
			wantBody: `{"accessTag":"qes-100200-1"}`,
			want:     Identification{IdentificationID: "TRZ-77", IdentificationURL: "https://go.idnow.de/x/TRZ-77"},
		},
		{
			name: "lower-case Url spelling", status: http.StatusCreated,
			answer:   `{"identification":{"identificationId":"9","identificationUrl":"https://go.idnow.de/x/9"}}`,
			wantBody: `{"accessTag":"qes-100200-1"}`,
			want:     Identification{IdentificationID: "9", IdentificationURL: "https://go.idnow.de/x/9"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newWireServer(t)
			f.answer(tt.status, tt.answer)
			c := newTestClient(t, f)
			got, err := c.InitiateQES(context.Background(), "100200", tt.redirectURL, "qes-100200-1")
			require.NoError(t, err)
			require.Equal(t, tt.want, got)

			req := f.lastRequest(t)
			require.Equal(t, http.MethodPost, req.Method)
			require.Equal(t, "/v1/users/100200/qes", req.EscapedPath)
			require.JSONEq(t, tt.wantBody, string(req.Body))
			require.Equal(t, "Bearer access-token-1-abcdef", req.Auth)
			require.Equal(t, "application/json", req.ContentType)
			require.True(t, strings.HasPrefix(req.UserAgent, "qesflow/"), req.UserAgent)
		})
	}
}

func TestTokenRequestAndCaching(t *testing.T) {
	f := newWireServer(t)
	f.answer(http.StatusCreated, nestedQESAnswer)
	c := newTestClient(t, f)
	for i := 0; i < 3; i++ {
		_, err := c.InitiateQES(context.Background(), "100200", "", "tag")
		require.NoError(t, err)
	}
	tokenCalls, apiCalls := f.counts()
	require.Equal(t, 1, tokenCalls)
	require.Equal(t, 3, apiCalls)
	form := f.tokenForms[0]
	require.Equal(t, "client_credentials", form.Get("grant_type"))
	require.Equal(t, testClientID, form.Get("client_id"))
	require.Equal(t, testClientSecret, form.Get("client_secret"))
	require.Equal(t, "read_write admin", form.Get("scope"))
}

// TestTokenDefaultScopes: without Scopes the client asks for read_only and read_write, as
// GET endpoints need the first and PUT/POST the second.
func TestTokenDefaultScopes(t *testing.T) {
	f := newWireServer(t)
	f.answer(http.StatusCreated, nestedQESAnswer)
	c := newTestClient(t, f, func(cfg *Config) { cfg.Scopes = nil })
	_, err := c.InitiateQES(context.Background(), "1", "", "")
	require.NoError(t, err)
	require.Equal(t, []string{"read_only read_write"}, f.tokenForms[0]["scope"])
}

func TestTokenWithoutScopes(t *testing.T) {
	f := newWireServer(t)
	f.answer(http.StatusCreated, nestedQESAnswer)
	c := newTestClient(t, f, func(cfg *Config) { cfg.Scopes = []string{} })
	_, err := c.InitiateQES(context.Background(), "1", "", "")
	require.NoError(t, err)
	_, hasScope := f.tokenForms[0]["scope"]
	require.False(t, hasScope, "an empty, non-nil Scopes sends no scope")
	require.JSONEq(t, `{}`, string(f.lastRequest(t).Body))
}

func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	tests := []struct {
		name               string
		expiresIn          string
		stillValid, renews time.Duration
	}{
		{"one hour, one minute margin", `3600`, 3600*time.Second - 61*time.Second, 3600*time.Second - 59*time.Second},
		{"short lifetime as a string, tenth margin", `"10"`, 8900 * time.Millisecond, 9100 * time.Millisecond},
		{"missing lifetime counts as one hour", `null`, 58 * time.Minute, 59*time.Minute + time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newWireServer(t)
			f.expiresIn = tt.expiresIn
			f.answer(http.StatusCreated, nestedQESAnswer)
			c := newTestClient(t, f)
			start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			now := start
			c.now = func() time.Time { return now }

			_, err := c.InitiateQES(context.Background(), "1", "", "")
			require.NoError(t, err)
			now = start.Add(tt.stillValid)
			_, err = c.InitiateQES(context.Background(), "1", "", "")
			require.NoError(t, err)
			tokenCalls, _ := f.counts()
			require.Equal(t, 1, tokenCalls, "token still fresh")

			now = start.Add(tt.renews)
			_, err = c.InitiateQES(context.Background(), "1", "", "")
			require.NoError(t, err)
			tokenCalls, _ = f.counts()
			require.Equal(t, 2, tokenCalls, "token renewed before expiry")
			require.Equal(t, "Bearer access-token-2-abcdef", f.lastRequest(t).Auth)
		})
	}
}

func TestRetryOnceOn401(t *testing.T) {
	f := newWireServer(t)
	f.answer(http.StatusCreated, nestedQESAnswer)
	c := newTestClient(t, f)
	_, err := c.InitiateQES(context.Background(), "1", "", "")
	require.NoError(t, err)

	f.revokeTokens() // Treezor forgot the cached token
	got, err := c.InitiateQES(context.Background(), "1", "", "tag")
	require.NoError(t, err)
	require.Equal(t, "12345", got.IdentificationID)
	tokenCalls, apiCalls := f.counts()
	require.Equal(t, 2, tokenCalls)
	require.Equal(t, 3, apiCalls)
	require.Equal(t, "Bearer access-token-2-abcdef", f.lastRequest(t).Auth)
	require.JSONEq(t, `{"accessTag":"tag"}`, string(f.lastRequest(t).Body), "the retry resends the body")
}

func TestGiveUpAfterSecond401(t *testing.T) {
	f := newWireServer(t)
	f.answer(http.StatusUnauthorized, `{"errors":[{"type":"unauthorized","code":"401","message":"Access denied"}]}`)
	c := newTestClient(t, f)
	_, err := c.InitiateQES(context.Background(), "1", "", "")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	require.False(t, IsRetryable(err))
	tokenCalls, apiCalls := f.counts()
	require.Equal(t, 2, tokenCalls)
	require.Equal(t, 2, apiCalls)
}

func TestStatusClassification(t *testing.T) {
	tests := []struct {
		status    int
		retryable bool
	}{
		{400, false}, {401, false}, {403, false}, {404, false}, {410, false}, {428, false},
		{408, true}, {429, true}, {500, true}, {502, true}, {503, true}, {504, true}, {522, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			f := newWireServer(t)
			f.answer(tt.status, `{"errors":[{"type":"some_type","code":"E`+fmt.Sprint(tt.status)+`","message":"failure","docUrl":"https://docs.treezor.com"}]}`)
			c := newTestClient(t, f)
			_, err := c.InitiateQES(context.Background(), "100200", "", "")
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			require.Equal(t, tt.status, apiErr.StatusCode)
			require.Equal(t, "initiate QES", apiErr.Op)
			require.Equal(t, tt.retryable, apiErr.Retryable())
			require.Equal(t, tt.retryable, IsRetryable(err))
			require.Equal(t, tt.status == 428, apiErr.UserDataIncomplete())
			require.Contains(t, err.Error(), "initiate QES for user 100200")
			require.Contains(t, err.Error(), fmt.Sprintf("HTTP %d", tt.status))
		})
	}
}

func TestErrorBodyFormats(t *testing.T) {
	tests := []struct {
		name, body              string
		wantType, wantCode, msg string
	}{
		{"errors list", `{"errors":[{"type":"invalid_request","code":16000,"message":"Input validation failed","docUrl":"https://x"}]}`,
			"invalid_request", "16000", "Input validation failed"},
		{"errors object", `{"errors":{"type":"t","code":"c","message":"m"}}`, "t", "c", "m"},
		{"legacy", `{"errorCode":"76","errorMessage":"User not found"}`, "", "76", "User not found"},
		{"legacy numeric code", `{"errorCode":76,"errorMessage":"User not found"}`, "", "76", "User not found"},
		{"error string word", `{"error":"invalid_grant","error_description":"token expired"}`, "invalid_grant", "", "token expired"},
		{"error string sentence", `{"error":"Something went wrong"}`, "", "", "Something went wrong"},
		{"error object", `{"error":{"type":"server","code":500,"message":"boom"}}`, "server", "500", "boom"},
		{"error object legacy names", `{"error":{"errorCode":"12","errorMessage":"nope"}}`, "", "12", "nope"},
		{"not JSON", `<html>Bad Gateway</html>`, "", "", ""},
		{"empty", ``, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := parseErrorBody([]byte(tt.body))
			require.Equal(t, tt.wantType, e.Type)
			require.Equal(t, tt.wantCode, e.Code)
			require.Equal(t, tt.msg, e.Message)
		})
	}
	long := parseErrorBody([]byte(`{"errorMessage":"` + strings.Repeat("é", 400) + `"}`))
	require.LessOrEqual(t, len(long.Message), maxMessageLen+len("…"))
}

func TestUserDataIncomplete(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"fields named", `{"errors":[{"type":"precondition","code":"428","message":"Missing mandatory fields: firstname, email, phone"}]}`,
			[]string{"firstname", "email", "phone"}},
		{"spelled with spaces", `{"errorMessage":"The user's first name and country are required"}`, []string{"firstname", "country"}},
		{"camel case", `{"errorMessage":"lastName and phoneNumber must be set"}`, []string{"lastname", "phone"}},
		{"nothing named", `{"errors":[{"type":"precondition","message":"Precondition Required"}]}`, RequiredUserFields},
		{"no body", ``, RequiredUserFields},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newWireServer(t)
			f.answer(http.StatusPreconditionRequired, tt.body)
			c := newTestClient(t, f)
			_, err := c.InitiateQES(context.Background(), "100200", "", "")
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			require.True(t, apiErr.UserDataIncomplete())
			require.False(t, IsRetryable(err))
			require.Equal(t, tt.want, apiErr.MissingFields)
			require.Contains(t, err.Error(), "user data incomplete, these user fields must be set: "+strings.Join(tt.want, ", "))
		})
	}
}

func TestRequestKYCReview(t *testing.T) {
	tests := []struct {
		name, answer string
		want         KYCReviewResult
	}{
		{"strings", `{"users":[{"userId":"100200","kycReview":"1","kycLevel":"0","firstname":"Émilie"}]}`,
			KYCReviewResult{UserID: "100200", KYCReview: KYCReviewPending, KYCLevel: 0}},
		{"numbers", `{"users":[{"userId":100200,"kycReview":2,"kycLevel":3}]}`,
			KYCReviewResult{UserID: "100200", KYCReview: KYCReviewValidated, KYCLevel: 3}},
		{"no user id in answer", `{"users":[{"kycReview":"7","kycLevel":"1"}]}`,
			KYCReviewResult{UserID: "100200", KYCReview: KYCReviewReviewPending, KYCLevel: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newWireServer(t)
			f.answer(http.StatusOK, tt.answer)
			c := newTestClient(t, f)
			got, err := c.RequestKYCReview(context.Background(), "100200", "kyc-100200")
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			req := f.lastRequest(t)
			require.Equal(t, http.MethodPut, req.Method)
			require.Equal(t, "/v1/users/100200/Kycreview", req.EscapedPath)
			require.JSONEq(t, `{"accessTag":"kyc-100200"}`, string(req.Body))
		})
	}
}

func TestMalformedAnswers(t *testing.T) {
	tests := []struct {
		name, answer string
		call         func(*Client) error
	}{
		{"QES answer without id", `{"identification":{"identificationURL":"https://x"}}`, func(c *Client) error {
			_, err := c.InitiateQES(context.Background(), "1", "", "")
			return err
		}},
		{"QES answer not JSON", `<html>`, func(c *Client) error {
			_, err := c.InitiateQES(context.Background(), "1", "", "")
			return err
		}},
		{"KYC answer without users", `{"users":[]}`, func(c *Client) error {
			_, err := c.RequestKYCReview(context.Background(), "1", "")
			return err
		}},
		{"KYC level not a number", `{"users":[{"kycLevel":"high"}]}`, func(c *Client) error {
			_, err := c.RequestKYCReview(context.Background(), "1", "")
			return err
		}},
		{"download answer without url", `{"link":"x"}`, func(c *Client) error {
			_, err := c.DocumentDownloadURL(context.Background(), "1")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newWireServer(t)
			f.answer(http.StatusOK, tt.answer)
			err := tt.call(newTestClient(t, f))
			require.ErrorIs(t, err, ErrMalformed)
			require.False(t, IsRetryable(err))
		})
	}
}

func TestEmptyIDsRejectedBeforeAnyCall(t *testing.T) {
	f := newWireServer(t)
	f.answer(http.StatusOK, `{}`)
	c := newTestClient(t, f)
	calls := []func() error{
		func() error { _, err := c.InitiateQES(context.Background(), "", "", "tag"); return err },
		func() error { _, err := c.InitiateQES(context.Background(), "  ", "", "tag"); return err },
		func() error { _, err := c.RequestKYCReview(context.Background(), "", "tag"); return err },
		func() error { _, err := c.DocumentDownloadURL(context.Background(), ""); return err },
		func() error { _, err := c.DownloadDocument(context.Background(), ""); return err },
		func() error { _, err := c.DownloadDocument(context.Background(), "/relative/path"); return err },
		func() error { _, err := c.DownloadDocument(context.Background(), "ftp://host/file"); return err },
	}
	for i, call := range calls {
		err := call()
		require.ErrorIs(t, err, ErrInvalidArgument, "call %d", i)
		require.False(t, IsRetryable(err))
	}
	tokenCalls, apiCalls := f.counts()
	require.Zero(t, tokenCalls)
	require.Zero(t, apiCalls)
}

func TestPathSegmentsEscaped(t *testing.T) {
	f := newWireServer(t)
	f.answer(http.StatusOK, `{"url":"https://s3.example.com/doc?sig=1"}`)
	c := newTestClient(t, f)
	_, err := c.DocumentDownloadURL(context.Background(), "../a/b c?x")
	require.NoError(t, err)
	require.Equal(t, "/v1/documents/..%2Fa%2Fb%20c%3Fx/download", f.lastRequest(t).EscapedPath)
}

func TestDocumentDownload(t *testing.T) {
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			http.Error(w, "no bearer on presigned URLs", http.StatusBadRequest)
			return
		}
		switch r.URL.Query().Get("X-Amz-Signature") {
		case "good":
			w.Header().Set("Content-Type", "application/pdf")
			_, _ = io.WriteString(w, "%PDF-1.7 document bytes")
		case "expired":
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>`)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer storage.Close()

	f := newWireServer(t)
	f.answer(http.StatusOK, `{"url":"`+storage.URL+`/doc.pdf?X-Amz-Signature=good"}`)
	c := newTestClient(t, f)
	link, err := c.DocumentDownloadURL(context.Background(), "777")
	require.NoError(t, err)
	require.Equal(t, "/v1/documents/777/download", f.lastRequest(t).EscapedPath)
	require.Equal(t, http.MethodGet, f.lastRequest(t).Method)

	body, err := c.DownloadDocument(context.Background(), link)
	require.NoError(t, err)
	data, err := io.ReadAll(body)
	require.NoError(t, err)
	require.NoError(t, body.Close())
	require.Equal(t, "%PDF-1.7 document bytes", string(data))

	tests := []struct {
		sig       string
		status    int
		retryable bool
	}{
		{"expired", http.StatusForbidden, false},
		{"other", http.StatusServiceUnavailable, true},
	}
	for _, tt := range tests {
		link := storage.URL + "/doc.pdf?X-Amz-Signature=" + tt.sig
		_, err := c.DownloadDocument(context.Background(), link)
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, tt.status, apiErr.StatusCode)
		require.Equal(t, "download document", apiErr.Op)
		require.Equal(t, tt.retryable, IsRetryable(err))
		require.NotContains(t, err.Error(), "X-Amz-Signature")
		require.NotContains(t, err.Error(), storage.URL)
	}
}

func TestNetworkErrors(t *testing.T) {
	f := newWireServer(t)
	c := newTestClient(t, f)
	f.srv.Close() // nothing listens any more

	_, err := c.InitiateQES(context.Background(), "100200", "", "")
	var netErr *NetworkError
	require.ErrorAs(t, err, &netErr)
	require.Equal(t, "oauth token", netErr.Op)
	require.True(t, IsRetryable(err))

	_, err = c.DownloadDocument(context.Background(), f.srv.URL+"/doc.pdf?X-Amz-Signature=secret-signature")
	require.ErrorAs(t, err, &netErr)
	require.True(t, IsRetryable(err))
	require.NotContains(t, err.Error(), "secret-signature")
	require.NotContains(t, err.Error(), "doc.pdf")
}

func TestTimeouts(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slow := func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // lets the server notice the client hanging up
		select {
		case <-r.Context().Done():
		case <-release:
		case <-time.After(10 * time.Second): // safety net only; the client gives up after 50 ms
		}
	}
	tests := []struct {
		name   string
		slowAt string
		wantOp string
	}{
		{"API call", "api", "initiate QES"},
		{"token endpoint", "token", "oauth token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newWireServer(t)
			f.api = func(w http.ResponseWriter, r *http.Request, _ []byte) { slow(w, r) }
			if tt.slowAt == "token" {
				f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { slow(w, r) })
			}
			c := newTestClient(t, f, func(cfg *Config) { cfg.Timeout = 50 * time.Millisecond })
			_, err := c.InitiateQES(context.Background(), "100200", "", "")
			var netErr *NetworkError
			require.ErrorAs(t, err, &netErr)
			require.True(t, netErr.Timeout())
			require.Equal(t, tt.wantOp, netErr.Op)
			require.True(t, IsRetryable(err))
			require.Contains(t, err.Error(), "timed out")
		})
	}
}

func TestCanceledContextIsNotRetryable(t *testing.T) {
	f := newWireServer(t)
	f.answer(http.StatusCreated, nestedQESAnswer)
	c := newTestClient(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.InitiateQES(ctx, "100200", "", "")
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, IsRetryable(err))
}

func TestTokenEndpointFailures(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		retryable bool
		wantType  string
	}{
		{"bad credentials", 401, `{"error":"invalid_client","error_description":"Client authentication failed"}`, false, "invalid_client"},
		{"bad request", 400, `{"error":"invalid_scope"}`, false, "invalid_scope"},
		{"unavailable", 503, `{"errors":[{"type":"server","message":"maintenance"}]}`, true, "server"},
		{"rate limited", 429, ``, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newWireServer(t)
			f.tokenFail = func(w http.ResponseWriter) { writeJSON(w, tt.status, tt.body) }
			c := newTestClient(t, f)
			_, err := c.RequestKYCReview(context.Background(), "100200", "")
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			require.Equal(t, "oauth token", apiErr.Op)
			require.Equal(t, tt.status, apiErr.StatusCode)
			require.Equal(t, tt.wantType, apiErr.Type)
			require.Equal(t, tt.retryable, IsRetryable(err))
			_, apiCalls := f.counts()
			require.Zero(t, apiCalls)
		})
	}
}

func TestTokenAnswerMalformed(t *testing.T) {
	for _, body := range []string{`{"token_type":"Bearer"}`, `not json`, `{"token_type":"MAC","access_token":"x"}`} {
		f := newWireServer(t)
		f.tokenFail = func(w http.ResponseWriter) { writeJSON(w, http.StatusOK, body) }
		c := newTestClient(t, f)
		_, err := c.InitiateQES(context.Background(), "1", "", "")
		require.ErrorIs(t, err, ErrMalformed, body)
		require.False(t, IsRetryable(err))
	}
}

func TestSecretsAbsentFromErrors(t *testing.T) {
	const token = "access-token-1-abcdef"
	tests := []struct {
		name  string
		setup func(f *wireServer)
	}{
		{"token endpoint echoes the secret", func(f *wireServer) {
			f.tokenFail = func(w http.ResponseWriter) {
				writeJSON(w, 400, `{"error":"invalid_request","error_description":"client_secret `+testClientSecret+` rejected"}`)
			}
		}},
		{"token answer malformed with the secret inside", func(f *wireServer) {
			f.tokenFail = func(w http.ResponseWriter) { writeJSON(w, 200, `{"access_token":`+testClientSecret+`}`) }
		}},
		{"API echoes the token and the secret", func(f *wireServer) {
			f.answer(500, `{"errors":[{"type":"`+token+`","code":"`+testClientSecret+`","message":"bearer `+token+` secret `+testClientSecret+`"}]}`)
		}},
		{"legacy body echoes the token", func(f *wireServer) {
			f.answer(403, `{"errorCode":"1","errorMessage":"token `+token+` forbidden"}`)
		}},
		{"428 echoes the token", func(f *wireServer) {
			f.answer(428, `{"error":"missing firstname for `+token+`"}`)
		}},
		{"API unreachable", func(f *wireServer) {
			f.api = func(w http.ResponseWriter, r *http.Request, _ []byte) {
				hj, ok := w.(http.Hijacker)
				if !ok {
					return
				}
				conn, _, err := hj.Hijack()
				if err == nil {
					_ = conn.Close()
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newWireServer(t)
			tt.setup(f)
			c := newTestClient(t, f)
			_, err := c.InitiateQES(context.Background(), "100200", "https://app.example.com/back", "tag")
			require.Error(t, err)
			msg := err.Error()
			require.NotContains(t, msg, testClientSecret)
			require.NotContains(t, msg, token)
			var apiErr *APIError
			if errors.As(err, &apiErr) {
				require.NotContains(t, fmt.Sprintf("%+v", *apiErr), testClientSecret)
				require.NotContains(t, fmt.Sprintf("%+v", *apiErr), token)
			}
		})
	}
}

func TestNewClientValidation(t *testing.T) {
	good := Config{BaseURL: "https://sandbox.treezor.example", ClientID: "id", ClientSecret: "secret"}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"no base URL", func(c *Config) { c.BaseURL = "" }, "base URL"},
		{"relative base URL", func(c *Config) { c.BaseURL = "/api" }, "base URL"},
		{"wrong scheme", func(c *Config) { c.BaseURL = "ftp://x" }, "base URL"},
		{"no client id", func(c *Config) { c.ClientID = " " }, "client id is empty"},
		{"no secret", func(c *Config) { c.ClientSecret = "" }, "client secret is empty"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.mutate(&cfg)
			_, err := NewClient(cfg)
			require.ErrorIs(t, err, ErrInvalidArgument)
			require.ErrorContains(t, err, tt.want)
		})
	}
	c, err := NewClient(good)
	require.NoError(t, err)
	require.Equal(t, DefaultTimeout, c.timeout)
	require.True(t, strings.HasPrefix(c.userAgent, "qesflow/"))

	c, err = NewClient(Config{BaseURL: good.BaseURL, ClientID: "id", ClientSecret: "s", UserAgent: "qesflow/1.2.3 (test)"})
	require.NoError(t, err)
	require.Equal(t, "qesflow/1.2.3 (test)", c.userAgent)
}

func TestIsRetryable(t *testing.T) {
	require.False(t, IsRetryable(nil))
	require.False(t, IsRetryable(errors.New("plain")))
	require.False(t, IsRetryable(ErrMalformed))
	require.True(t, IsRetryable(fmt.Errorf("wrapped: %w", &APIError{StatusCode: 502})))
	require.False(t, IsRetryable(fmt.Errorf("wrapped: %w", &APIError{StatusCode: 404})))
	require.True(t, IsRetryable(context.DeadlineExceeded))
	require.False(t, IsRetryable(&NetworkError{Op: "x", Err: context.Canceled}))
	require.True(t, IsRetryable(&NetworkError{Op: "x", Err: io.ErrUnexpectedEOF}))
}

func TestConcurrentCallsShareOneToken(t *testing.T) {
	f := newWireServer(t)
	f.answer(http.StatusCreated, nestedQESAnswer)
	c := newTestClient(t, f)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.InitiateQES(context.Background(), "1", "", "")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	tokenCalls, apiCalls := f.counts()
	require.Equal(t, 1, tokenCalls)
	require.Equal(t, 8, apiCalls)
}
