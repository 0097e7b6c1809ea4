package main

import (
	"errors"
	"flag"

	"github.com/qesflow/qesflow/treezor"
)

// addTreezorTLSFlags defines the client certificate of Treezor's mutual TLS, for every
// process that calls Treezor.
func addTreezorTLSFlags(fs *flag.FlagSet, files *treezor.TLSFiles) {
	envVar(fs, &files.CertFile, "treezor-tls-cert-file", "TREEZOR_TLS_CERT_FILE", "", "client certificate (PEM) of Treezor's mutual TLS; re-read when the file changes or on SIGHUP")
	envVar(fs, &files.KeyFile, "treezor-tls-key-file", "TREEZOR_TLS_KEY_FILE", "", "private key (PEM) of the Treezor client certificate; re-read with it")
	envVar(fs, &files.CAFile, "treezor-tls-ca-file", "TREEZOR_TLS_CA_FILE", "", "CA bundle (PEM) that verifies Treezor's server certificate (empty: the system roots); re-read like the certificate")
}

// checkTreezorTLS says what is wrong with a partial certificate configuration.
func checkTreezorTLS(files treezor.TLSFiles) error {
	if (files.CertFile == "") != (files.KeyFile == "") {
		return errors.New("--treezor-tls-cert-file (TREEZOR_TLS_CERT_FILE) and --treezor-tls-key-file (TREEZOR_TLS_KEY_FILE) go together")
	}
	if files.CAFile != "" && !files.Enabled() {
		return errors.New("--treezor-tls-ca-file (TREEZOR_TLS_CA_FILE) needs --treezor-tls-cert-file and --treezor-tls-key-file")
	}
	return nil
}
