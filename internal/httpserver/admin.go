package httpserver

import (
	"net"
	"net/http"
	"sync"

	"go.uber.org/zap"
)

// adminServer serves /healthz, /readyz and /metrics on Options.AdminAddr.
type adminServer struct {
	address string
	srv     *http.Server
	mu      sync.Mutex
	ln      net.Listener
}

func newAdminServer(opts Options, log *zap.Logger) *adminServer {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", handleHealthz)
	mux.Handle("GET /readyz", readyHandler(opts.Ready, log))
	mux.Handle("GET /metrics", metricsHandler(opts.Registry, log))
	return &adminServer{address: opts.AdminAddr, srv: &http.Server{
		Handler:           withRecovery(log, mux),
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		ReadTimeout:       opts.ReadTimeout,
		WriteTimeout:      opts.WriteTimeout,
		IdleTimeout:       opts.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          zap.NewStdLog(log.WithOptions(zap.IncreaseLevel(zap.WarnLevel))),
	}}
}

func (a *adminServer) listen() error {
	ln, err := net.Listen("tcp", a.address)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.ln = ln
	a.mu.Unlock()
	return nil
}

func (a *adminServer) addr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ln != nil {
		return a.ln.Addr().String()
	}
	return a.address
}

func (a *adminServer) serve() { _ = a.srv.Serve(a.ln) }

// close stops the admin endpoints at once: they hold no request worth finishing.
func (a *adminServer) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ln != nil {
		_ = a.srv.Close()
		_ = a.ln.Close()
	}
}

// AdminAddr is the bound address of the admin endpoints after Listen ("" without
// Options.AdminAddr).
func (s *Server) AdminAddr() string {
	if s.admin == nil {
		return ""
	}
	return s.admin.addr()
}
