package devstack

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/internal/temporalclient"
)

// Beyond loopback the dev stack's frontend requires mutual TLS with certificates it
// generated; its own client presents them, a client without them is refused.
func TestDevStackBeyondLoopbackRequiresClientCertificates(t *testing.T) {
	cfg := freeConfig(t.TempDir(), true)
	cfg.Host, cfg.UIPort = "0.0.0.0", embedded.UIDisabled
	s := startStack(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, temporalclient.CheckHealth(s.Client)(ctx))
	_, err := temporalclient.Dial(ctx, temporalclient.Options{Address: s.TemporalAddress, Namespace: s.Server.Namespace()})
	require.Error(t, err, "a plaintext client reached the frontend")
}
