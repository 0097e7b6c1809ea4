// Package temporalclient connects qesflow's services to a Temporal cluster (a local dev server,
// a self-hosted cluster with mTLS, or Temporal Cloud with an API key) and adapts the SDK's
// logs and metrics to zap and Prometheus.
package temporalclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"
)

// Defaults of Options.
const (
	DefaultAddress   = "127.0.0.1:7233"
	DefaultNamespace = "default"
)

// Options says how to reach Temporal. Zero values take the defaults.
type Options struct {
	Address   string // host:port of the frontend; default 127.0.0.1:7233
	Namespace string // default "default"

	// TLS enables TLS with the system roots (or TLSCAFile). It is implied by an API key or a
	// client certificate, unless DisableTLS is set.
	TLS                                               bool
	DisableTLS                                        bool
	TLSCertFile, TLSKeyFile, TLSCAFile, TLSServerName string

	// APIKey authenticates to Temporal Cloud (sent as a bearer token over TLS). APIKeyFile
	// names a file holding it instead (read by Dial; surrounding white space is trimmed).
	APIKey     string
	APIKeyFile string

	Logger         *zap.Logger           // SDK logs go here; nil: no SDK logs
	MetricsHandler client.MetricsHandler // SDK metrics; nil: none
	// DataConverter serialises every payload; codec.DataConverter(keyring) encrypts them.
	// Every client and worker of a namespace must use the same one. Nil: the SDK default.
	DataConverter converter.DataConverter
	// FailureConverter serialises errors. Nil with a DataConverter: the SDK's default failure
	// converter with that DataConverter, encoding messages and stack traces too
	// (EncodeFailureAttributes), so an error text never reaches history in clear.
	FailureConverter converter.FailureConverter
	// RequireEncryptedPayloads fails the workflow task of every signal whose payload is not
	// encrypted by the codec (workers created from the client); set it with a
	// codec.DataConverter, which refuses unencrypted inputs, updates and queries itself.
	RequireEncryptedPayloads bool
	Identity                 string // worker/client identity; default the SDK's (pid@host)
}

// Dial connects to Temporal and checks the connection (client.DialContext is eager).
func Dial(ctx context.Context, o Options) (client.Client, error) {
	co, err := ClientOptions(o)
	if err != nil {
		return nil, err
	}
	c, err := client.DialContext(ctx, co)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w", co.HostPort, co.Namespace, err)
	}
	return c, nil
}

// ClientOptions turns o into SDK client options, for callers that need client.NewLazyClient
// or want to adjust them.
func ClientOptions(o Options) (client.Options, error) {
	if o.Address == "" {
		o.Address = DefaultAddress
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if err := o.loadAPIKey(); err != nil {
		return client.Options{}, err
	}
	tlsCfg, err := tlsConfig(o)
	if err != nil {
		return client.Options{}, err
	}
	co := client.Options{
		HostPort:          o.Address,
		Namespace:         o.Namespace,
		Identity:          o.Identity,
		DataConverter:     o.DataConverter,
		MetricsHandler:    o.MetricsHandler,
		ConnectionOptions: client.ConnectionOptions{TLS: tlsCfg},
		FailureConverter:  o.FailureConverter,
	}
	if o.RequireEncryptedPayloads {
		co.Interceptors = append(co.Interceptors, &encryptedOnly{})
	}
	if co.FailureConverter == nil && o.DataConverter != nil {
		co.FailureConverter = EncodeFailureAttributes(o.DataConverter)
	}
	if isLoopback(o.Address) {
		// gRPC compresses every request with gzip by default. To a server on this machine it
		// saves no bandwidth and costs CPU on both ends, the more so as encrypted payloads do
		// not compress.
		co.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	}
	if o.Logger != nil {
		co.Logger = NewLogger(o.Logger)
	} else {
		co.Logger = NewLogger(zap.NewNop())
	}
	if o.APIKey != "" {
		co.Credentials = client.NewAPIKeyStaticCredentials(o.APIKey)
	}
	return co, nil
}

// isLoopback reports whether address (host:port) names this machine: localhost or a
// loopback IP.
func isLoopback(address string) bool {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// EncodeFailureAttributes is the SDK's default failure converter using dc for error details,
// with error messages and stack traces encoded by dc as well (they show as "Encoded failure"
// to a reader without dc).
func EncodeFailureAttributes(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})
}

// useTLS reports whether the connection must use TLS.
func (o Options) useTLS() bool {
	if o.DisableTLS {
		return false
	}
	return o.TLS || o.APIKey != "" || o.TLSCertFile != "" || o.TLSCAFile != ""
}

// tlsConfig builds the TLS configuration, or nil for a plaintext connection.
func tlsConfig(o Options) (*tls.Config, error) {
	if !o.useTLS() {
		if o.TLSCertFile != "" || o.TLSKeyFile != "" || o.TLSCAFile != "" {
			return nil, errors.New("temporal TLS: certificate files given but TLS is disabled")
		}
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.TLSServerName}
	if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
		return nil, errors.New("temporal TLS: client certificate and key must be given together")
	}
	if o.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCertFile, o.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("temporal TLS: load client certificate %s: %w", o.TLSCertFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if o.TLSCAFile != "" {
		pem, err := os.ReadFile(o.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("temporal TLS: read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("temporal TLS: no PEM certificate in CA file %s", o.TLSCAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// loadAPIKey reads APIKeyFile into APIKey when only the file is given.
func (o *Options) loadAPIKey() error {
	if o.APIKeyFile == "" {
		return nil
	}
	if o.APIKey != "" {
		return errors.New("temporal API key: give the key or a key file, not both")
	}
	b, err := os.ReadFile(o.APIKeyFile)
	if err != nil {
		return fmt.Errorf("temporal API key: read key file: %w", err)
	}
	o.APIKey = strings.TrimSpace(string(b))
	if o.APIKey == "" {
		return fmt.Errorf("temporal API key: key file %s is empty", o.APIKeyFile)
	}
	return nil
}

// DialLazy returns a client that connects on first use, so that a service can start (and
// answer 503 on its readiness probe) while Temporal is still unreachable.
func DialLazy(o Options) (client.Client, error) {
	co, err := ClientOptions(o)
	if err != nil {
		return nil, err
	}
	c, err := client.NewLazyClient(co)
	if err != nil {
		return nil, fmt.Errorf("temporal client for %s (namespace %s): %w", co.HostPort, co.Namespace, err)
	}
	return c, nil
}

// CheckHealth reports whether c reaches the Temporal frontend: a readiness function for
// internal/httpserver.
func CheckHealth(c client.Client) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			return fmt.Errorf("temporal frontend unreachable: %w", err)
		}
		return nil
	}
}
