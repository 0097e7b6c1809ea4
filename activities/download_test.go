package activities

import (
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
	sim := startTreezor(t, treezorsim.Config{
		DownloadsEnabled: true, DocumentSize: size, FileBytesPerSecond: 3 << 20,
		DocumentURLTTL: time.Second, DocumentsPerSuccess: 1,
	})
	api := sim.Client(t, func(c *treezor.Config) { c.Timeout = 3 * time.Second })
	docID := signedDocument(t, sim)
	want, _ := sim.DocumentContent(docID)
	require.GreaterOrEqual(t, len(want), size)

	var heartbeats atomic.Int32
	env := activityEnv(&Activities{Treezor: api, Store: FSDocumentStore{Dir: t.TempDir()}})
	env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) { heartbeats.Add(1) })
	start := time.Now()
	val, err := env.ExecuteActivity(DownloadQESDocumentName, DownloadInput{UserID: "42", DocumentID: docID})
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
	// Raw server: a body that stops mid-way is a byte-level answer; the simulator always ends its bodies.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/oauth/token":
			_, _ = w.Write([]byte(`{"token_type":"Bearer","expires_in":3600,"access_token":"tok"}`))
		case "/v1/documents/doc-7/download":
			_, _ = w.Write([]byte(`{"url":"http://` + r.Host + `/presigned/doc-7"}`))
		default:
			w.Header().Set("Content-Length", "1000")
			_, _ = w.Write([]byte("%PDF-"))
			w.(http.Flusher).Flush()
			<-r.Context().Done() // then nothing
		}
	}))
	t.Cleanup(srv.Close)
	api, err := treezor.NewClient(treezor.Config{BaseURL: srv.URL, ClientID: "id", ClientSecret: "secret", Timeout: 300 * time.Millisecond})
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
