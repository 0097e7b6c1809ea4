package treezor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qesflow/qesflow/internal/httpclient"
)

// TLSFiles names the PEM files of Treezor's mutual TLS
// (docs.treezor.com/guide/api-basics/mutual-tls.html): the client certificate Treezor
// signed from our CSR, its private key, and optionally a CA bundle to verify Treezor's
// server certificate (empty: the system roots).
type TLSFiles struct {
	CertFile, KeyFile, CAFile string
}

// Enabled reports whether a client certificate is configured.
func (f TLSFiles) Enabled() bool { return f.CertFile != "" || f.KeyFile != "" }

// CertReloader holds the client certificate of Treezor's mutual TLS and the CA bundle, and
// re-reads them when their files change (checked at each TLS handshake and by Watch) or
// when Reload is called (on SIGHUP), so a renewed certificate or CA needs no restart. Files
// that cannot be loaded keep the previous ones in use; the error is returned by Reload and
// kept for LastError.
type CertReloader struct {
	files TLSFiles

	mu       sync.Mutex
	cert     *tls.Certificate
	roots    *x509.CertPool // nil: the system roots
	certStat fileStamp
	keyStat  fileStamp
	caStat   fileStamp
	lastErr  error
	onReload func() // runs after a renewed certificate is loaded
}

// fileStamp identifies a version of a file.
type fileStamp struct {
	mod  time.Time
	size int64
}

func stampOf(name string) (fileStamp, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size()}, nil
}

// NewCertReloader loads the files; both CertFile and KeyFile are required.
func NewCertReloader(files TLSFiles) (*CertReloader, error) {
	if files.CertFile == "" || files.KeyFile == "" {
		return nil, fmt.Errorf("treezor TLS: %w: both the client certificate and its key file are required", ErrInvalidArgument)
	}
	r := &CertReloader{files: files}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Reload re-reads the certificate and key now. On failure the previous certificate stays.
func (r *CertReloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.loadLocked()
}

func (r *CertReloader) loadLocked() error {
	certStat, err1 := stampOf(r.files.CertFile)
	keyStat, err2 := stampOf(r.files.KeyFile)
	caStat, roots, err3 := r.loadRoots()
	cert, err := tls.LoadX509KeyPair(r.files.CertFile, r.files.KeyFile)
	if err != nil {
		err = fmt.Errorf("load client certificate: %w", err)
	}
	if err = errors.Join(err1, err2, err3, err); err != nil {
		r.lastErr = fmt.Errorf("treezor TLS: %w", err)
		// Remember the stamps: the same broken files are not re-read at every handshake.
		r.certStat, r.keyStat, r.caStat = certStat, keyStat, caStat
		return r.lastErr
	}
	if cert.Leaf == nil && len(cert.Certificate) > 0 {
		cert.Leaf, _ = x509.ParseCertificate(cert.Certificate[0])
	}
	changed := r.cert != nil
	r.cert, r.roots, r.certStat, r.keyStat, r.caStat, r.lastErr = &cert, roots, certStat, keyStat, caStat, nil
	if changed && r.onReload != nil {
		go r.onReload()
	}
	return nil
}

// loadRoots reads the CA bundle (nil pool without one: the system roots).
func (r *CertReloader) loadRoots() (fileStamp, *x509.CertPool, error) {
	if r.files.CAFile == "" {
		return fileStamp{}, nil, nil
	}
	stamp, err := stampOf(r.files.CAFile)
	if err != nil {
		return stamp, nil, fmt.Errorf("read CA bundle: %w", err)
	}
	pem, err := os.ReadFile(r.files.CAFile)
	if err != nil {
		return stamp, nil, fmt.Errorf("read CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return stamp, nil, fmt.Errorf("CA bundle %s holds no PEM certificate", r.files.CAFile)
	}
	return stamp, pool, nil
}

// reloadIfChanged re-reads the files when their size or modification time changed and
// reports whether it did, with the load's error. Caller holds r.mu.
func (r *CertReloader) reloadIfChanged() (bool, error) {
	certStat, err1 := stampOf(r.files.CertFile)
	keyStat, err2 := stampOf(r.files.KeyFile)
	var caStat fileStamp
	var err3 error
	if r.files.CAFile != "" {
		caStat, err3 = stampOf(r.files.CAFile)
	}
	if err1 != nil || err2 != nil || err3 != nil {
		return false, nil // a renewal in progress (files being replaced): keep the current ones
	}
	if certStat == r.certStat && keyStat == r.keyStat && caStat == r.caStat {
		return false, nil
	}
	return true, r.loadLocked()
}

// CheckFiles loads the files if they changed since the last load: changed reports a load
// attempt, err its failure (the previous certificate and CA stay in use).
func (r *CertReloader) CheckFiles() (changed bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reloadIfChanged()
}

// Watch calls CheckFiles every interval until ctx is done, so that a renewed certificate
// reaches new connections (idle connections are closed on reload) even while the client
// keeps its connections open. onCheck, when set, gets each load attempt's outcome.
func (r *CertReloader) Watch(ctx context.Context, interval time.Duration, onCheck func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if changed, err := r.CheckFiles(); changed && onCheck != nil {
				onCheck(err)
			}
		}
	}
}

// setOnReload sets what runs after a renewed certificate is loaded.
func (r *CertReloader) setOnReload(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onReload = f
}

// LastError is the error of the last failed load since the last good one (nil if none).
func (r *CertReloader) LastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

// NotAfter is the expiry of the certificate in use.
func (r *CertReloader) NotAfter() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cert == nil || r.cert.Leaf == nil {
		return time.Time{}
	}
	return r.cert.Leaf.NotAfter
}

// GetClientCertificate implements tls.Config.GetClientCertificate.
func (r *CertReloader) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, _ = r.reloadIfChanged() // a failed load keeps the current certificate
	return r.cert, nil
}

// TLSConfig is a client TLS configuration that presents the current certificate and
// trusts the current CA bundle. A Client with Config.ClientCert builds a new transport from
// it after each reload, so a new CA bundle reaches new connections.
func (r *CertReloader) TLSConfig() *tls.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	return &tls.Config{
		MinVersion:           tls.VersionTLS12,
		RootCAs:              r.roots,
		GetClientCertificate: r.GetClientCertificate,
	}
}

// reloadingTransport sends each request through the transport built from the reloader's
// current TLS configuration; a reload builds a new one and closes the old one's idle
// connections, so new connections use the renewed certificate and CA bundle.
type reloadingTransport struct {
	certs *CertReloader
	cur   atomic.Pointer[http.Transport]
}

func newReloadingTransport(certs *CertReloader) *reloadingTransport {
	rt := &reloadingTransport{certs: certs}
	rt.cur.Store(rt.build())
	return rt
}

func (rt *reloadingTransport) build() *http.Transport {
	t := httpclient.New(0, 0).Transport.(*http.Transport)
	t.TLSClientConfig = rt.certs.TLSConfig()
	return t
}

func (rt *reloadingTransport) reload() {
	old := rt.cur.Swap(rt.build())
	old.CloseIdleConnections()
}

// RoundTrip implements http.RoundTripper.
func (rt *reloadingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return rt.cur.Load().RoundTrip(req)
}

// CloseIdleConnections closes the current transport's idle connections.
func (rt *reloadingTransport) CloseIdleConnections() { rt.cur.Load().CloseIdleConnections() }
