package devstack

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/internal/temporalclient"
)

// Beyond loopback the dev stack's frontend requires mutual TLS with certificates it
// generated; its own client presents them, a client without them is refused.
func TestDevStackBeyondLoopbackRequiresClientCertificates(t *testing.T) {
	cfg := freeConfig(t.TempDir(), true)
	cfg.Host = "0.0.0.0" // with its UI
	s := startStack(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, temporalclient.CheckHealth(s.Client)(ctx))
	_, err := temporalclient.Dial(ctx, temporalclient.Options{Address: s.TemporalAddress, Namespace: s.Server.Namespace()})
	require.Error(t, err, "a plaintext client reached the frontend")

	// The UI's origin is not a credential: without a token or a session, 401.
	req, err := http.NewRequest(http.MethodPost, s.CodecURL+"/decode", strings.NewReader(`{"payloads":[]}`))
	require.NoError(t, err)
	req.Header.Set("Origin", s.UIURL)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}
