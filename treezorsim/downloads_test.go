package treezorsim

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/treezor"
)

// TestDownloadsDisabledUnlessEnabled: as at Treezor, a client gets no download URL until
// downloads are enabled for it; the answer is a 403 with Treezor's error body.
func TestDownloadsDisabledUnlessEnabled(t *testing.T) {
	require.False(t, Config{}.DownloadsEnabled, "off by default")
	h := newHarness(t, func(c *Config) { c.DownloadsEnabled = false })
	ident := h.initiate("7001", "FR")
	require.NoError(t, h.sim.Act(ident.IdentificationID, Success()))
	snap, _ := h.sim.Identification(ident.IdentificationID)
	require.NotEmpty(t, snap.Documents)

	_, err := h.client.DocumentDownloadURL(context.Background(), snap.Documents[0])
	var apiErr *treezor.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusForbidden, apiErr.StatusCode)
	require.True(t, apiErr.FromTreezor)
	kind, reason := treezor.Classify(err)
	require.Equal(t, treezor.FailureInfra, kind, "a feature not enabled for the client is ours to fix")
	require.Equal(t, treezor.ReasonForbidden, reason)
}

// TestThrottledLargeDocument: the file endpoint pads documents to DocumentSize and sends
// them at FileBytesPerSecond.
func TestThrottledLargeDocument(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.DocumentSize = 200 << 10; c.FileBytesPerSecond = 400 << 10 })
	ident := h.initiate("7002", "FR")
	require.NoError(t, h.sim.Act(ident.IdentificationID, Success()))
	snap, _ := h.sim.Identification(ident.IdentificationID)
	u, err := h.client.DocumentDownloadURL(context.Background(), snap.Documents[0])
	require.NoError(t, err)
	start := time.Now()
	got := download(t, h.client, u)
	require.GreaterOrEqual(t, time.Since(start), 400*time.Millisecond, "throttled to 400 KiB/s")
	want, _ := h.sim.DocumentContent(snap.Documents[0])
	require.Len(t, got, len(want))
	require.GreaterOrEqual(t, len(got), 200<<10)
	require.Equal(t, want, got)
}
