package webhookbridge_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// fakeTreezor is the Treezor API the activities call in these tests (Treezor is the one part
// that is mocked): OAuth, QES initiation, KYC review and document download.
type fakeTreezor struct {
	*httptest.Server
	mu              sync.Mutex
	identifications map[string][]string // by user id, in order
}

func newFakeTreezor(t *testing.T) *fakeTreezor {
	t.Helper()
	f := &fakeTreezor{identifications: map[string][]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": "test-token"})
	})
	mux.HandleFunc("POST /v1/users/{userId}/qes", func(w http.ResponseWriter, r *http.Request) {
		user := r.PathValue("userId")
		f.mu.Lock()
		id := fmt.Sprintf("ident-%s-%d", user, len(f.identifications[user])+1)
		f.identifications[user] = append(f.identifications[user], id)
		f.mu.Unlock()
		writeJSON(w, http.StatusCreated, map[string]any{"identification": map[string]string{
			"identificationId": id, "identificationURL": "https://go.idnow.example/" + id,
		}})
	})
	mux.HandleFunc("PUT /v1/users/{userId}/Kycreview", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"users": []map[string]string{{"userId": r.PathValue("userId"), "kycReview": "1"}}})
	})
	mux.HandleFunc("GET /v1/documents/{documentId}/download", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"url": f.URL + "/files/" + r.PathValue("documentId")})
	})
	mux.HandleFunc("GET /files/{documentId}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("%PDF-1.7 signed " + r.PathValue("documentId")))
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

// identificationsOf returns the identification ids initiated for user, in order.
func (f *fakeTreezor) identificationsOf(user string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.identifications[user]...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
