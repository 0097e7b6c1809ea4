package treezor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
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

// CertReloader holds the client certificate of Treezor's mutual TLS and re-reads it when
// its files change (checked at each TLS handshake) or when Reload is called (on SIGHUP),
// so a renewed certificate needs no restart. A file that cannot be loaded keeps the
// previous certificate in use; the error is returned by Reload and kept for LastError.
// The CA bundle is read once.
type CertReloader struct {
	files TLSFiles
	roots *x509.CertPool

	mu       sync.Mutex
	cert     *tls.Certificate
	certStat fileStamp
	keyStat  fileStamp
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
	if files.CAFile != "" {
		pem, err := os.ReadFile(files.CAFile)
		if err != nil {
			return nil, fmt.Errorf("treezor TLS: read CA bundle: %w", err)
		}
		r.roots = x509.NewCertPool()
		if !r.roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("treezor TLS: CA bundle %s holds no PEM certificate", files.CAFile)
		}
	}
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
	cert, err := tls.LoadX509KeyPair(r.files.CertFile, r.files.KeyFile)
	if err = errors.Join(err1, err2, err); err != nil {
		r.lastErr = fmt.Errorf("treezor TLS: load client certificate: %w", err)
		// Remember the stamps: the same broken files are not re-read at every handshake.
		r.certStat, r.keyStat = certStat, keyStat
		return r.lastErr
	}
	if cert.Leaf == nil && len(cert.Certificate) > 0 {
		cert.Leaf, _ = x509.ParseCertificate(cert.Certificate[0])
	}
	changed := r.cert != nil
	r.cert, r.certStat, r.keyStat, r.lastErr = &cert, certStat, keyStat, nil
	if changed && r.onReload != nil {
		go r.onReload()
	}
	return nil
}

// reloadIfChanged re-reads the files when their size or modification time changed.
func (r *CertReloader) reloadIfChanged() {
	certStat, err1 := stampOf(r.files.CertFile)
	keyStat, err2 := stampOf(r.files.KeyFile)
	if err1 != nil || err2 != nil {
		return // a renewal in progress (files being replaced): keep the current one
	}
	if certStat == r.certStat && keyStat == r.keyStat {
		return
	}
	_ = r.loadLocked()
}

// setOnReload sets what runs after a renewed certificate is loaded.
func (r *CertReloader) setOnReload(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onReload = f
}

// Watch checks the files every interval until ctx is done and loads them when they
// changed, so that a renewed certificate reaches new connections (idle connections are
// closed on reload) even while the client keeps its connections open.
func (r *CertReloader) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.mu.Lock()
			r.reloadIfChanged()
			r.mu.Unlock()
		}
	}
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
	r.reloadIfChanged()
	return r.cert, nil
}

// TLSConfig is a client TLS configuration that presents the current certificate.
func (r *CertReloader) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:           tls.VersionTLS12,
		RootCAs:              r.roots,
		GetClientCertificate: r.GetClientCertificate,
	}
}
