package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"

	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/treezorsim"
)

// TestDownloadLargeDocumentOverSlowLink: a 20 MB document sent slowly by the simulator's
// throttled file endpoint is stored whole, although the transfer lasts longer than the
// presigned URL lives and than the client's per-call timeout: the URL's life limits when
// the download starts, not how long the body takes. Progress is heartbeated.
func TestDownloadLargeDocumentOverSlowLink(t *testing.T) {
	const size = 20 << 20
	sim := treezorsim.New(treezorsim.Config{
		DownloadsEnabled: true, DocumentSize: size, FileBytesPerSecond: 3 << 20,
		DocumentURLTTL: time.Second, DocumentsPerSuccess: 1,
	}, nil)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(sim.Close)
	sim.CreateUser(treezorsim.User{UserID: "42", Firstname: "Ada", Lastname: "Lovelace", Email: "ada@example.com", Country: "FR", Phone: "+33612345678"})
	api, err := treezor.NewClient(treezor.Config{
		BaseURL: srv.URL, ClientID: treezorsim.DevClientID, ClientSecret: treezorsim.DevClientSecret, Timeout: 3 * time.Second,
	})
	require.NoError(t, err)
	ident, err := api.InitiateQES(context.Background(), "42", "", "")
	require.NoError(t, err)
	require.NoError(t, sim.Act(ident.IdentificationID, treezorsim.Success()))
	snap, ok := sim.Identification(ident.IdentificationID)
	require.True(t, ok)
	want, _ := sim.DocumentContent(snap.Documents[0])
	require.GreaterOrEqual(t, len(want), size)

	var heartbeats atomic.Int32
	env := activityEnv(&Activities{Treezor: api, Store: FSDocumentStore{Dir: t.TempDir()}})
	env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) { heartbeats.Add(1) })
	start := time.Now()
	val, err := env.ExecuteActivity(DownloadQESDocumentName, DownloadInput{UserID: "42", DocumentID: snap.Documents[0]})
	require.NoError(t, err)
	took := time.Since(start)
	var out DownloadOutput
	require.NoError(t, val.Get(&out))
	sum := sha256.Sum256(want)
	require.Equal(t, hex.EncodeToString(sum[:]), out.SHA256)
	require.EqualValues(t, len(want), out.Size)
	require.Greater(t, took, 3*time.Second, "the transfer outlived the URL (1 s) and the client timeout (3 s)")
	require.Positive(t, heartbeats.Load(), "progress is heartbeated")
}

// TestDownloadStallFailsRetryably: a transfer that stops sending fails after the client's
// timeout with a retryable error (the retry fetches a fresh URL).
func TestDownloadStallFailsRetryably(t *testing.T) {
	f := newFakeTreezor(t)
	f.api["GET /v1/documents/doc-7/download"] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"url": f.srv.URL + "/presigned/doc-7"})
	}
	f.api["GET /presigned/doc-7"] = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		_, _ = w.Write([]byte("%PDF-"))
		w.(http.Flusher).Flush()
		<-r.Context().Done() // then nothing
	}
	api, err := treezor.NewClient(treezor.Config{BaseURL: f.srv.URL, ClientID: "id", ClientSecret: "secret", Timeout: 300 * time.Millisecond})
	require.NoError(t, err)
	dir := t.TempDir()
	env := activityEnv(&Activities{Treezor: api, Store: FSDocumentStore{Dir: dir}})
	_, err = env.ExecuteActivity(DownloadQESDocumentName, DownloadInput{UserID: "42", DocumentID: "doc-7"})
	appErr := applicationError(t, err)
	require.Equal(t, ErrTypeTreezorUnavailable, appErr.Type())
	require.False(t, appErr.NonRetryable())
	require.Contains(t, err.Error(), "stalled")
	require.Empty(t, entries(t, dir))
}
