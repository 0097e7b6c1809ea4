package main

import (
	"errors"
	"flag"
	"net"

	"go.uber.org/zap"

	"github.com/qesflow/qesflow/embedded"
)

// frontendTLSFlags secure the frontend of `qesflow server` (distinct from the --tls-* flags
// of the processes that connect to it as clients).
type frontendTLSFlags struct {
	cert, key, ca, serverName string
	insecure                  bool
}

func addFrontendTLSFlags(fs *flag.FlagSet) *frontendTLSFlags {
	f := &frontendTLSFlags{}
	fs.StringVar(&f.cert, "frontend-tls-cert", envString("QESFLOW_FRONTEND_TLS_CERT_FILE", ""),
		envHelp("server certificate file (PEM) of the frontend; with it the frontend requires client certificates (mutual TLS). "+
			"The server's own clients (UI, namespace setup) present it too, so it must allow client authentication (qesflow gen-certs makes one)", "QESFLOW_FRONTEND_TLS_CERT_FILE"))
	envVar(fs, &f.key, "frontend-tls-key", "QESFLOW_FRONTEND_TLS_KEY_FILE", "", "private key file (PEM) of --frontend-tls-cert")
	envVar(fs, &f.ca, "frontend-tls-ca", "QESFLOW_FRONTEND_TLS_CA_FILE", "", "CA certificate file (PEM) that signs the client certificates the frontend accepts (and the server certificate)")
	envVar(fs, &f.serverName, "frontend-tls-server-name", "QESFLOW_FRONTEND_TLS_SERVER_NAME", "", "name the server's own clients verify its certificate against; default the certificate's first DNS name")
	envVar(fs, &f.insecure, "insecure", "QESFLOW_INSECURE", false, "let the frontend listen on a non-loopback address without TLS: anyone who reaches it can signal and approve onboardings")
	return f
}

// apply sets cfg.TLS and cfg.Insecure from the flags, and logs an insecure frontend loudly.
func (f *frontendTLSFlags) apply(cfg *embedded.Config, logger *zap.Logger) error {
	if f.cert != "" || f.key != "" || f.ca != "" {
		if f.cert == "" || f.key == "" || f.ca == "" {
			return errors.New("--frontend-tls-cert, --frontend-tls-key and --frontend-tls-ca go together")
		}
		cfg.TLS = &embedded.TLS{CertFile: f.cert, KeyFile: f.key, CAFile: f.ca, ServerName: f.serverName}
	}
	cfg.Insecure = f.insecure
	ip := net.ParseIP(cfg.FrontendIP)
	if cfg.TLS == nil && f.insecure && (ip == nil || !ip.IsLoopback()) {
		logger.Error("INSECURE: the Temporal frontend listens on a non-loopback address without TLS or client certificates; "+
			"anyone who reaches it can start, signal and terminate onboardings (see docs/security.md)",
			zap.String("frontendIP", cfg.FrontendIP))
	}
	return nil
}
