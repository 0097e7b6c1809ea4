package codec

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

const (
	uiOrigin = "http://localhost:8233"
	token    = "operator-token-0123456789"
)

// serve runs the codec endpoint at PathPrefix on a real loopback HTTP server.
func serve(t *testing.T, cfg HandlerConfig) string {
	t.Helper()
	if cfg.Keys == nil {
		cfg.Keys = keyring(t, testKey("k1", 1))
	}
	h, err := NewHandler(cfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle(PathPrefix, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/codec"
}

func remote(endpoint, bearer string) converter.PayloadCodec {
	return converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: endpoint,
		ModifyRequest: func(r *http.Request) error {
			if bearer != "" {
				r.Header.Set("Authorization", "Bearer "+bearer)
			}
			r.Header.Set("X-Namespace", "default")
			return nil
		},
	})
}

func TestHandlerRoundTripOverHTTP(t *testing.T) {
	keys := keyring(t, testKey("k1", 1))
	endpoint := serve(t, HandlerConfig{Keys: keys, Tokens: []string{token}})
	rc := remote(endpoint, token)
	in := jsonPayloads(t, pii, 7)

	enc, err := rc.Encode(in)
	require.NoError(t, err)
	require.Equal(t, EncodingEncrypted, string(enc[0].Metadata[MetadataEncoding]))
	require.Equal(t, "k1", string(enc[0].Metadata[MetadataKeyID]))

	// What the endpoint encrypted, the in-process codec decrypts, and the other way round.
	local, err := New(keys).Decode(enc)
	require.NoError(t, err)
	require.True(t, proto.Equal(in[0], local[0]))

	mine, err := New(keys).Encode(in)
	require.NoError(t, err)
	dec, err := rc.Decode(mine)
	require.NoError(t, err)
	require.Len(t, dec, 2)
	require.True(t, proto.Equal(in[0], dec[0]))
	require.True(t, proto.Equal(in[1], dec[1]))
}

// request sends one raw request to the endpoint and returns the response with its body read.
func request(t *testing.T, method, url string, header map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func encryptedBody(t *testing.T, keys *Keyring) string {
	t.Helper()
	enc, err := New(keys).Encode(jsonPayloads(t, pii))
	require.NoError(t, err)
	b, err := json.Marshal(&commonpb.Payloads{Payloads: enc})
	require.NoError(t, err)
	return string(b)
}

func TestHandlerCORSAndAuth(t *testing.T) {
	keys := keyring(t, testKey("k1", 1))
	endpoint := serve(t, HandlerConfig{Keys: keys, Tokens: []string{token}, UIOrigins: []string{uiOrigin + "/"}})
	body := encryptedBody(t, keys)
	bearer := "Bearer " + token

	t.Run("preflight from the UI origin", func(t *testing.T) {
		resp, _ := request(t, http.MethodOptions, endpoint+"/decode", map[string]string{
			"Origin": uiOrigin, "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "content-type,x-namespace,authorization",
		}, "")
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		require.Equal(t, uiOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
		require.Equal(t, "true", resp.Header.Get("Access-Control-Allow-Credentials"))
		require.Contains(t, resp.Header.Get("Access-Control-Allow-Methods"), "POST")
		allowed := resp.Header.Get("Access-Control-Allow-Headers")
		for _, h := range []string{"Content-Type", "Authorization", "X-Namespace"} {
			require.Contains(t, allowed, h)
		}
	})
	t.Run("preflight from another origin", func(t *testing.T) {
		resp, _ := request(t, http.MethodOptions, endpoint+"/decode", map[string]string{
			"Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
		}, "")
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	})
	t.Run("decode from another origin, even with a token", func(t *testing.T) {
		resp, got := request(t, http.MethodPost, endpoint+"/decode", map[string]string{
			"Origin": "https://evil.example", "Authorization": bearer, "Content-Type": "application/json",
		}, body)
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		require.NotContains(t, got, "emilie")
	})
	t.Run("decode from the UI origin with the token", func(t *testing.T) {
		resp, got := request(t, http.MethodPost, endpoint+"/decode?preserveStorageRefs=true", map[string]string{
			"Origin": uiOrigin, "Authorization": bearer, "Content-Type": "application/json", "X-Namespace": "default",
		}, body)
		require.Equal(t, http.StatusOK, resp.StatusCode, got)
		require.Equal(t, uiOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
		var out commonpb.Payloads
		require.NoError(t, json.Unmarshal([]byte(got), &out))
		var s string
		require.NoError(t, converter.GetDefaultDataConverter().FromPayload(out.Payloads[0], &s))
		require.Equal(t, pii, s)
	})
	t.Run("missing token", func(t *testing.T) {
		resp, got := request(t, http.MethodPost, endpoint+"/decode", map[string]string{"Content-Type": "application/json"}, body)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		require.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer")
		require.NotContains(t, got, "emilie")
	})
	t.Run("missing token from the untrusted UI origin", func(t *testing.T) {
		resp, _ := request(t, http.MethodPost, endpoint+"/decode", map[string]string{"Origin": uiOrigin}, body)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})
	for _, auth := range []string{"Bearer wrong", "Bearer " + token + "x", "Basic " + token, token} {
		t.Run("wrong authorization "+strings.Fields(auth)[0], func(t *testing.T) {
			resp, _ := request(t, http.MethodPost, endpoint+"/decode", map[string]string{"Authorization": auth}, body)
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		})
	}
	t.Run("encode also needs the token", func(t *testing.T) {
		resp, _ := request(t, http.MethodPost, endpoint+"/encode", nil, `{"payloads":[]}`)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})
	t.Run("GET is refused", func(t *testing.T) {
		resp, _ := request(t, http.MethodGet, endpoint+"/decode", map[string]string{"Authorization": bearer}, "")
		require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	})
	t.Run("unknown path", func(t *testing.T) {
		resp, _ := request(t, http.MethodPost, endpoint+"/other", map[string]string{"Authorization": bearer}, body)
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
	t.Run("malformed body", func(t *testing.T) {
		resp, _ := request(t, http.MethodPost, endpoint+"/decode", map[string]string{"Authorization": bearer}, "{not json")
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	})
	t.Run("payload of an unknown key", func(t *testing.T) {
		other := encryptedBody(t, keyring(t, testKey("k9", 9)))
		resp, got := request(t, http.MethodPost, endpoint+"/decode", map[string]string{"Authorization": bearer}, other)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Contains(t, got, `unknown key "k9"`)
	})
}

// cookieSessions admits the one session cookie value it was given (console.Sessions is the
// real one; test/hostile runs it through the dev stack).
type cookieSessions struct{ value string }

func (c cookieSessions) AuthenticateSession(_ http.ResponseWriter, r *http.Request) (string, bool) {
	ck, err := r.Cookie("qesflow_codec")
	if err != nil || ck.Value != c.value {
		return "", false
	}
	return "alice", true
}

// TestHandlerSessionsFromTheUIOnly: a session cookie decodes only when the request comes from
// the UI's origin, never encodes, and an Origin without a session or token decodes nothing.
func TestHandlerSessionsFromTheUIOnly(t *testing.T) {
	keys := keyring(t, testKey("k1", 1))
	endpoint := serve(t, HandlerConfig{Keys: keys, UIOrigins: []string{uiOrigin}, Sessions: cookieSessions{value: "good"}})
	body := encryptedBody(t, keys)
	session := "qesflow_codec=good"

	resp, got := request(t, http.MethodPost, endpoint+"/decode", map[string]string{"Origin": uiOrigin, "Cookie": session, "X-Namespace": "default"}, body)
	require.Equal(t, http.StatusOK, resp.StatusCode, got)
	require.Contains(t, got, "payloads")
	require.Equal(t, uiOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "true", resp.Header.Get("Access-Control-Allow-Credentials"))

	for _, tc := range []struct {
		name   string
		path   string
		header map[string]string
		want   int
	}{
		{name: "origin only", path: "/decode", header: map[string]string{"Origin": uiOrigin}, want: http.StatusUnauthorized},
		{name: "wrong session", path: "/decode", header: map[string]string{"Origin": uiOrigin, "Cookie": "qesflow_codec=bad"}, want: http.StatusUnauthorized},
		{name: "session without origin", path: "/decode", header: map[string]string{"Cookie": session}, want: http.StatusUnauthorized},
		{name: "session from another origin", path: "/decode", header: map[string]string{"Origin": "http://localhost:9999", "Cookie": session}, want: http.StatusForbidden},
		{name: "session never encodes", path: "/encode", header: map[string]string{"Origin": uiOrigin, "Cookie": session}, want: http.StatusUnauthorized},
		{name: "wrong token beside a session", path: "/decode", header: map[string]string{"Origin": uiOrigin, "Cookie": session, "Authorization": "Bearer nope"}, want: http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := body
			if tc.path == "/encode" {
				b = `{"payloads":[]}`
			}
			resp, got := request(t, http.MethodPost, endpoint+tc.path, tc.header, b)
			require.Equal(t, tc.want, resp.StatusCode, got)
			require.NotContains(t, got, "emilie")
		})
	}
}

func TestHandlerBodyLimit(t *testing.T) {
	endpoint := serve(t, HandlerConfig{Tokens: []string{token}, MaxBodyBytes: 1024})
	big := `{"payloads":[{"data":"` + strings.Repeat("A", 2048) + `"}]}`
	resp, _ := request(t, http.MethodPost, endpoint+"/encode", map[string]string{"Authorization": "Bearer " + token}, big)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
}

func TestNewHandlerConfigErrors(t *testing.T) {
	keys := keyring(t, testKey("k1", 1))
	tests := []struct {
		name    string
		cfg     HandlerConfig
		wantErr string
	}{
		{name: "no keyring", cfg: HandlerConfig{Tokens: []string{token}}, wantErr: "no keyring"},
		{name: "nobody authorised", cfg: HandlerConfig{Keys: keys, UIOrigins: []string{uiOrigin}}, wantErr: "nobody could use it"},
		{name: "sessions without origins", cfg: HandlerConfig{Keys: keys, Sessions: cookieSessions{}}, wantErr: "nobody could use it"},
		{name: "empty token", cfg: HandlerConfig{Keys: keys, Tokens: []string{" "}}, wantErr: "token 1 is empty"},
		{name: "origin with a path", cfg: HandlerConfig{Keys: keys, Tokens: []string{token}, UIOrigins: []string{"http://ui/x"}}, wantErr: "want scheme://host"},
		{name: "origin without scheme", cfg: HandlerConfig{Keys: keys, Tokens: []string{token}, UIOrigins: []string{"localhost:8233"}}, wantErr: "want scheme://host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewHandler(tt.cfg)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestNormalizeOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"http://localhost:8233":         "http://localhost:8233",
		"HTTPS://UI.Example.com/":       "https://ui.example.com",
		" http://127.0.0.1:8233 ":       "http://127.0.0.1:8233",
		"http://[::1]:8233":             "http://[::1]:8233",
		"https://temporal.example:8443": "https://temporal.example:8443",
	} {
		got, err := NormalizeOrigin(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got)
	}
	_, err := NormalizeOrigin("ftp://x")
	require.Error(t, err)
}
