package devstack

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/qesflow/qesflow/embedded"
)

// devTLS secures the embedded frontend when the stack listens beyond loopback: it generates
// (once, in DataDir/certs) a CA, a server certificate and a client certificate, so that the
// frontend requires mutual TLS as `qesflow server` does. On loopback it returns nil: only
// this machine reaches the frontend.
func devTLS(cfg Config) (*embedded.TLS, error) {
	if ip := net.ParseIP(cfg.Host); ip != nil && ip.IsLoopback() {
		return nil, nil
	}
	dir := filepath.Join(cfg.DataDir, "certs")
	files := embedded.CertificateFiles{
		CAFile: filepath.Join(dir, "ca.pem"), ServerCertFile: filepath.Join(dir, "server.pem"),
		ServerKeyFile: filepath.Join(dir, "server-key.pem"),
	}
	if _, err := os.Stat(files.CAFile); err != nil {
		if files, err = embedded.GenerateCertificates(dir, []string{cfg.Host}, 365*24*time.Hour); err != nil {
			return nil, fmt.Errorf("dev certificates: %w", err)
		}
	}
	return &embedded.TLS{CertFile: files.ServerCertFile, KeyFile: files.ServerKeyFile, CAFile: files.CAFile, ServerName: "localhost"}, nil
}

// tlsFile is one file of the frontend's TLS configuration, "" on a plaintext loopback stack.
// The stack's own client presents the server's certificate, which allows client
// authentication.
func (s *Stack) tlsFile(pick func(*embedded.TLS) string) string {
	if s.frontendTLS == nil {
		return ""
	}
	return pick(s.frontendTLS)
}
