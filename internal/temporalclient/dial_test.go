package temporalclient

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/qesflow/qesflow/internal/testenv"
)

func TestDialInProcessServer(t *testing.T) {
	ts := testenv.NewTemporal(t)
	reg := prometheus.NewRegistry()
	core, _ := observer.New(zap.DebugLevel)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, err := Dial(ctx, Options{
		Address:        ts.GetFrontendHostPort(),
		Namespace:      ts.GetDefaultNamespace(),
		Logger:         zap.New(core),
		MetricsHandler: NewPrometheusMetricsHandler(reg),
		Identity:       "test",
	})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, CheckHealth(c)(ctx))

	// SDK metrics flow into the registry.
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	require.Contains(t, names, "temporal_request_total")
}

func TestDialLazyStartsWithoutServer(t *testing.T) {
	c, err := DialLazy(Options{Address: "127.0.0.1:1"})
	require.NoError(t, err)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	require.Error(t, CheckHealth(c)(ctx))
}

func TestDialUnreachableIsAClearError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := Dial(ctx, Options{Address: "127.0.0.1:1", Namespace: "ns1"})
	require.ErrorContains(t, err, "connect to Temporal at 127.0.0.1:1 (namespace ns1)")
}

func TestClientOptions(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	require.NoError(t, os.WriteFile(keyFile, []byte("  the-key\n"), 0o600))
	emptyFile := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(emptyFile, nil, 0o600))
	caFile := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(caFile, []byte("not a pem"), 0o600))

	tests := []struct {
		name    string
		in      Options
		wantTLS bool
		wantErr string
	}{
		{name: "defaults are local plaintext", in: Options{}},
		{name: "tls flag", in: Options{TLS: true, TLSServerName: "x"}, wantTLS: true},
		{name: "api key implies tls", in: Options{APIKey: "k"}, wantTLS: true},
		{name: "api key file implies tls", in: Options{APIKeyFile: keyFile}, wantTLS: true},
		{name: "api key with tls disabled", in: Options{APIKey: "k", DisableTLS: true}},
		{name: "key and key file", in: Options{APIKey: "k", APIKeyFile: keyFile}, wantErr: "not both"},
		{name: "empty key file", in: Options{APIKeyFile: emptyFile}, wantErr: "is empty"},
		{name: "missing key file", in: Options{APIKeyFile: filepath.Join(dir, "nope")}, wantErr: "read key file"},
		{name: "cert without key", in: Options{TLSCertFile: "c.pem"}, wantErr: "certificate and key must be given together"},
		{name: "unreadable cert", in: Options{TLSCertFile: "c.pem", TLSKeyFile: "k.pem"}, wantErr: "load client certificate"},
		{name: "bad CA", in: Options{TLSCAFile: caFile}, wantErr: "no PEM certificate"},
		{name: "cert files with tls disabled", in: Options{TLSCAFile: caFile, DisableTLS: true}, wantErr: "TLS is disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			co, err := ClientOptions(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.NotContains(t, err.Error(), "the-key")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantTLS, co.ConnectionOptions.TLS != nil)
			require.NotEmpty(t, co.HostPort)
			require.NotEmpty(t, co.Namespace)
			require.Equal(t, tt.in.APIKey != "" || tt.in.APIKeyFile != "", co.Credentials != nil)
		})
	}
}

// TestCompressionOffOnLoopback: gzip stays the SDK's default towards another machine and is
// off towards this one (TestDialInProcessServer dials a loopback server that way).
func TestCompressionOffOnLoopback(t *testing.T) {
	for address, local := range map[string]bool{
		"127.0.0.1:7233":          true,
		"127.3.4.5:7233":          true,
		"localhost:7233":          true,
		"LocalHost:7233":          true,
		"[::1]:7233":              true,
		"10.0.0.7:7233":           false,
		"temporal.internal:7233":  false,
		"ns.tmprl.cloud:7233":     false,
		"[2001:db8::1]:7233":      false,
		"not-a-host-port-address": false,
	} {
		co, err := ClientOptions(Options{Address: address})
		require.NoError(t, err, address)
		if local {
			require.IsType(t, &client.GrpcCompressionNone{}, co.ConnectionOptions.GrpcCompression, address)
		} else {
			require.Nil(t, co.ConnectionOptions.GrpcCompression, "%s: the SDK default (gzip)", address)
		}
	}
}
