package embedded

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/server/common/config"
)

// TLS secures the frontend (gRPC and HTTP API): the server presents CertFile and requires
// every client to present a certificate signed by CAFile (mutual TLS). The server's own
// clients (namespace registration, the system worker, the Web UI's connection to the
// frontend) present CertFile too, so it must be usable for both server and client
// authentication and name the frontend's address (or ServerName).
type TLS struct {
	CertFile, KeyFile string
	// CAFile signs the client certificates the frontend accepts, and the server certificate
	// its own clients verify.
	CAFile string
	// ServerName is the name the server's own clients verify CertFile against; default the
	// certificate's first DNS name, else its first IP address.
	ServerName string
}

func (t *TLS) validate() error {
	if t.CertFile == "" || t.KeyFile == "" || t.CAFile == "" {
		return errors.New("TLS needs a certificate, its key and a client CA")
	}
	if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
		return fmt.Errorf("TLS certificate %s: %w", t.CertFile, err)
	}
	if _, err := t.caPool(); err != nil {
		return err
	}
	return nil
}

func (t *TLS) caPool() (*x509.CertPool, error) {
	b, err := os.ReadFile(t.CAFile)
	if err != nil {
		return nil, fmt.Errorf("TLS client CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("TLS client CA %s holds no PEM certificate", t.CAFile)
	}
	return pool, nil
}

// serverName is the name the server's own clients verify the frontend's certificate against.
func (t *TLS) serverName() (string, error) {
	if t.ServerName != "" {
		return t.ServerName, nil
	}
	pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return "", err
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return "", err
	}
	switch {
	case len(leaf.DNSNames) > 0:
		return leaf.DNSNames[0], nil
	case len(leaf.IPAddresses) > 0:
		return leaf.IPAddresses[0].String(), nil
	}
	return "", fmt.Errorf("TLS certificate %s names no host: set ServerName", t.CertFile)
}

// clientConfig is the TLS configuration of the server's own clients of the frontend.
func (t *TLS) clientConfig() (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, err
	}
	pool, err := t.caPool()
	if err != nil {
		return nil, err
	}
	name, err := t.serverName()
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}, RootCAs: pool, ServerName: name}, nil
}

// rootTLS is the server's TLS configuration: mutual TLS on the frontend, the system worker
// presenting the server's certificate. The internal services talk over loopback in plaintext.
func (t *TLS) rootTLS() (config.RootTLS, error) {
	name, err := t.serverName()
	if err != nil {
		return config.RootTLS{}, err
	}
	client := config.ClientTLS{ServerName: name, RootCAFiles: []string{t.CAFile}}
	return config.RootTLS{
		Frontend: config.GroupTLS{
			Server: config.ServerTLS{
				CertFile: t.CertFile, KeyFile: t.KeyFile,
				ClientCAFiles: []string{t.CAFile}, RequireClientAuth: true,
			},
			Client: client,
		},
		SystemWorker: config.WorkerTLS{CertFile: t.CertFile, KeyFile: t.KeyFile, Client: client},
	}, nil
}

// CertificateFiles name the files GenerateCertificates writes into a directory.
type CertificateFiles struct {
	CAFile                        string // the CA certificate (its key is not kept)
	ServerCertFile, ServerKeyFile string // the server's certificate, for server and client authentication
	ClientCertFile, ClientKeyFile string // a client certificate for workers, bridges, APIs and tools
}

// GenerateCertificates creates a CA, a server certificate for hosts (DNS names or IP
// addresses; always also localhost and 127.0.0.1) and one client certificate, all signed by
// the CA, valid for validFor, and writes them as PEM into dir (keys with mode 0600). The CA's
// key is discarded: issuing more certificates means generating a new set. For development
// and tests, or a first deployment that rotates them later (docs/security.md).
func GenerateCertificates(dir string, hosts []string, validFor time.Duration) (CertificateFiles, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return CertificateFiles{}, fmt.Errorf("certificates: %w", err)
	}
	f := CertificateFiles{
		CAFile:         filepath.Join(dir, "ca.pem"),
		ServerCertFile: filepath.Join(dir, "server.pem"),
		ServerKeyFile:  filepath.Join(dir, "server-key.pem"),
		ClientCertFile: filepath.Join(dir, "client.pem"),
		ClientKeyFile:  filepath.Join(dir, "client-key.pem"),
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return f, err
	}
	ca := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "qesflow CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(validFor),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return f, fmt.Errorf("certificates: CA: %w", err)
	}
	if err := writePEM(f.CAFile, "CERTIFICATE", caDER, 0o644); err != nil {
		return f, err
	}
	server := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "qesflow server"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(validFor), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			server.IPAddresses = append(server.IPAddresses, ip)
		} else if h != "" && h != "localhost" {
			server.DNSNames = append([]string{h}, server.DNSNames...)
		}
	}
	if err := issue(server, ca, caKey, f.ServerCertFile, f.ServerKeyFile); err != nil {
		return f, err
	}
	client := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "qesflow client"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(validFor), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return f, issue(client, ca, caKey, f.ClientCertFile, f.ClientKeyFile)
}

func issue(tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey, certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("certificates: %s: %w", tmpl.Subject.CommonName, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writePEM(keyFile, "PRIVATE KEY", keyDER, 0o600); err != nil {
		return err
	}
	return writePEM(certFile, "CERTIFICATE", der, 0o644)
}

func writePEM(path, kind string, der []byte, mode os.FileMode) error {
	b := pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
	if err := os.WriteFile(path, b, mode); err != nil {
		return fmt.Errorf("certificates: write %s: %w", path, err)
	}
	return nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	return n
}
