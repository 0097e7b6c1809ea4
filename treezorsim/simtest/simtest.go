// Package simtest runs the Treezor simulator on loopback for tests: the one Treezor double
// of the repository's tests. Start serves a treezorsim.Simulator on 127.0.0.1; the failure
// switches (route faults, chaos, revoked tokens, an outage) are the simulator's own, so a
// test asks for a failure Treezor can produce instead of writing a fake that answers it.
package simtest

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/treezorsim"
)

// Routes of the simulator that tests set faults on (treezorsim.Handler lists them all).
const (
	RouteToken     = "POST /oauth/token"
	RouteGetUser   = "GET /v1/users/{userId}"
	RouteQES       = "POST /v1/users/{userId}/qes"
	RouteKYCReview = "PUT /v1/users/{userId}/Kycreview"
	RouteDownload  = "GET /v1/documents/{documentId}/download"
	RouteFile      = "GET /files/{documentId}"
	RoutePayins    = "GET /v1/payins"
	RouteWallets   = "GET /v1/wallets"
)

// Server is a simulator served on loopback until the test ends.
type Server struct {
	*treezorsim.Simulator
	// URL is the base URL of the API (https:// with Config.TLSCertFile).
	URL string

	t    testing.TB
	addr string
	tls  *tls.Config // nil without TLS

	mu  sync.Mutex
	srv *http.Server // nil during an outage
}

// Start serves a simulator with cfg on a free loopback port. A nil logger logs nothing.
// Everything stops when the test ends.
func Start(t testing.TB, cfg treezorsim.Config, logger ...*zap.Logger) *Server {
	t.Helper()
	var log *zap.Logger
	if len(logger) > 0 {
		log = logger[0]
	}
	sim := treezorsim.New(cfg, log)
	s := &Server{Simulator: sim, t: t}
	if cfg.TLSCertFile != "" {
		tlsCfg, err := sim.ServerTLSConfig()
		require.NoError(t, err)
		s.tls = tlsCfg
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.addr = ln.Addr().String()
	scheme := "http://"
	if s.tls != nil {
		scheme = "https://"
	}
	s.URL = scheme + s.addr
	s.serve(ln)
	t.Cleanup(func() {
		sim.Close() // ends hanging calls first, so the shutdown does not wait for them
		s.Down()
	})
	return s
}

func (s *Server) serve(ln net.Listener) {
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.t.Errorf("treezor simulator: %v", err)
		}
	}()
}

// Down stops answering: the port is closed and open connections are cut, as during an
// outage. The simulator keeps its state; Up serves it again on the same address.
func (s *Server) Down() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	_ = srv.Close()
}

// Up ends an outage started by Down, on the same address.
func (s *Server) Up() {
	s.t.Helper()
	s.mu.Lock()
	up := s.srv != nil
	s.mu.Unlock()
	if up {
		return
	}
	var ln net.Listener
	require.Eventually(s.t, func() bool {
		var err error
		ln, err = net.Listen("tcp", s.addr)
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "listen again on %s", s.addr)
	s.serve(ln)
}

// Fail makes the next times calls to route answer status (every call when times is 0)
// with Treezor's error body, before processing. Fail(route, 0, 0) clears it.
func (s *Server) Fail(route string, status, times int) {
	s.SetRouteFault(route, treezorsim.RouteFault{Status: status, Times: times})
}

// Client returns a treezor.Client for the simulator with its development credentials;
// mutate adjusts the configuration (timeouts, scopes, observers).
func (s *Server) Client(t testing.TB, mutate ...func(*treezor.Config)) *treezor.Client {
	t.Helper()
	cfg := treezor.Config{BaseURL: s.URL, ClientID: treezorsim.DevClientID, ClientSecret: treezorsim.DevClientSecret}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := treezor.NewClient(cfg)
	require.NoError(t, err)
	return c
}

// User creates a user whose data is complete enough for QES (country FR) and returns its
// id; an empty id is generated.
func (s *Server) User(id string) string {
	return s.CreateUser(treezorsim.User{
		UserID: id, Firstname: "Ada", Lastname: "Lovelace", Email: "ada@example.com",
		Country: "FR", Phone: "+33612345678",
	})
}
