package treezorsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// contractDir holds the API answers as Treezor documents them; the client is tested
// against the same files (package treezor).
const contractDir = "../treezor/testdata/contract/api"

type contractFixture struct {
	Request struct {
		Method string `json:"method"`
		Path   string `json:"path"`
	} `json:"request"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// TestSimulatorAnswersMatchContract: for every documented answer, the simulator's answer
// to the same situation has the same status and every documented field, with the same
// JSON kind (object, array or scalar: Treezor documents numbers both as numbers and as
// strings, so the client accepts both).
func TestSimulatorAnswersMatchContract(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(contractDir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	h := newHarness(t)
	h.sim.CreateUser(completeUser("8001", "DE"))
	incomplete := completeUser("8002", "FR")
	incomplete.Phone, incomplete.Email = "", ""
	h.sim.CreateUser(incomplete)
	ident := h.initiate("8003", "FR")
	require.NoError(t, h.sim.Act(ident.IdentificationID, Success()))
	snap, _ := h.sim.Identification(ident.IdentificationID)
	both, writeOnly := h.token(""), h.token(ScopeReadWrite)

	// answers produce the simulator's answer to the situation of each fixture.
	answers := map[string]func() (int, []byte){
		"token": func() (int, []byte) {
			return h.postToken(url.Values{"client_id": {testClientID}, "client_secret": {testClientSecret}})
		},
		"oauth_error": func() (int, []byte) {
			return h.postToken(url.Values{"client_id": {testClientID}, "client_secret": {"wrong"}})
		},
		"qes_initiation": func() (int, []byte) {
			return h.do(http.MethodPost, "/v1/users/8001/qes", both, map[string]string{})
		},
		"kycreview": func() (int, []byte) {
			return h.do(http.MethodPut, "/v1/users/8001/Kycreview", both, map[string]string{})
		},
		"user":    func() (int, []byte) { return h.do(http.MethodGet, "/v1/users/8001", both, nil) },
		"wallets": func() (int, []byte) { return h.do(http.MethodGet, "/v1/wallets?userId=8001", both, nil) },
		"payins": func() (int, []byte) {
			_, err := h.sim.SEPAPayin("8001", "")
			require.NoError(t, err)
			h.sim.mu.Lock()
			wallet := h.sim.users["8001"].sepaWallet()
			h.sim.mu.Unlock()
			return h.do(http.MethodGet, "/v1/payins?walletId="+wallet, both, nil)
		},
		"document_download": func() (int, []byte) {
			return h.do(http.MethodGet, "/v1/documents/"+snap.Documents[0]+"/download", both, nil)
		},
		"error_user_data_incomplete": func() (int, []byte) {
			return h.do(http.MethodPost, "/v1/users/8002/qes", both, map[string]string{})
		},
		"error_user_unknown": func() (int, []byte) { return h.do(http.MethodGet, "/v1/users/404404", both, nil) },
		"error_bad_request": func() (int, []byte) {
			return h.do(http.MethodPost, "/v1/users/8001/qes", both, map[string]string{"accessTag": strings.Repeat("x", 300)})
		},
		"error_forbidden_scope": func() (int, []byte) {
			return h.do(http.MethodGet, "/v1/documents/"+snap.Documents[0]+"/download", writeOnly, nil)
		},
		"error_unauthorized": func() (int, []byte) {
			return h.do(http.MethodPost, "/v1/users/8001/qes", "expired-or-unknown", map[string]string{})
		},
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(file)
			require.NoError(t, err)
			var fx contractFixture
			require.NoError(t, json.Unmarshal(b, &fx))
			answer, ok := answers[name]
			require.True(t, ok, "the simulator has no situation for fixture %s", name)
			status, body := answer()
			require.Equal(t, fx.Status, status, "%s", body)
			var want, got any
			require.NoError(t, json.Unmarshal(fx.Body, &want))
			require.NoError(t, json.Unmarshal(body, &got), "%s", body)
			require.Empty(t, shapeDiff("", want, got), "simulator answer %s", body)
		})
	}
}

// postToken posts the client credentials grant with form's credentials.
func (h *harness) postToken(form url.Values) (int, []byte) {
	h.t.Helper()
	form.Set("grant_type", "client_credentials")
	resp, err := http.PostForm(h.srv.URL+"/oauth/token", form)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	var body json.RawMessage
	require.NoError(h.t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

// shapeDiff lists the fields of want missing from got or of another JSON kind.
func shapeDiff(path string, want, got any) []string {
	if kindOf(want) != kindOf(got) {
		return []string{path + ": want " + kindOf(want) + ", got " + kindOf(got)}
	}
	var diffs []string
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				diffs = append(diffs, path+"."+k+": missing")
				continue
			}
			diffs = append(diffs, shapeDiff(path+"."+k, w[k], gv)...)
		}
	case []any:
		g := got.([]any)
		if len(w) > 0 && len(g) == 0 {
			return []string{path + ": empty"}
		}
		if len(w) > 0 {
			diffs = append(diffs, shapeDiff(path+"[0]", w[0], g[0])...)
		}
	}
	return diffs
}

func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case nil:
		return "null"
	default:
		return "scalar"
	}
}
