package main

import (
	"errors"
	"flag"
	"strings"

	"go.uber.org/zap"

	"github.com/qesflow/qesflow/treezor"
)

// apiTreezorFlags name the Treezor client the API asks for a user's kycReview before it
// starts an onboarding for a user with no visible run (the already-validated rule after
// retention). The same variables as the worker's, the client certificate of Treezor's
// mutual TLS included; the API needs scope read_only.
type apiTreezorFlags struct {
	baseURL, clientID, secret, secretFile, scopes string
	tls                                           treezor.TLSFiles
}

func addAPITreezorFlags(fs *flag.FlagSet) *apiTreezorFlags {
	f := &apiTreezorFlags{}
	fs.StringVar(&f.baseURL, "treezor-base-url", envString("TREEZOR_BASE_URL", ""),
		envHelp("Treezor API base URL: with it, a start for a user with no visible onboarding first reads the user's kycReview (GET /v1/users/{userId}) and answers 409 for a validated user, whatever retention deleted; without it, no such check", "TREEZOR_BASE_URL"))
	fs.StringVar(&f.clientID, "treezor-client-id", envString("TREEZOR_CLIENT_ID", ""),
		envHelp("Treezor OAuth client id (with --treezor-base-url)", "TREEZOR_CLIENT_ID"))
	fs.StringVar(&f.secret, "treezor-client-secret", "",
		envHelp("Treezor OAuth client secret; prefer the environment or a file", "TREEZOR_CLIENT_SECRET"))
	fs.StringVar(&f.secretFile, "treezor-client-secret-file", envString("TREEZOR_CLIENT_SECRET_FILE", ""),
		envHelp("file holding the Treezor OAuth client secret", "TREEZOR_CLIENT_SECRET_FILE"))
	fs.StringVar(&f.scopes, "treezor-scopes", envString("TREEZOR_SCOPES", "read_only"),
		envHelp("OAuth scopes of the API's Treezor client, comma- or space-separated", "TREEZOR_SCOPES"))
	fs.StringVar(&f.tls.CertFile, "treezor-tls-cert-file", envString("TREEZOR_TLS_CERT_FILE", ""),
		envHelp("client certificate (PEM) of Treezor's mutual TLS; re-read when the file changes or on SIGHUP", "TREEZOR_TLS_CERT_FILE"))
	fs.StringVar(&f.tls.KeyFile, "treezor-tls-key-file", envString("TREEZOR_TLS_KEY_FILE", ""),
		envHelp("private key (PEM) of the Treezor client certificate; re-read with it", "TREEZOR_TLS_KEY_FILE"))
	fs.StringVar(&f.tls.CAFile, "treezor-tls-ca-file", envString("TREEZOR_TLS_CA_FILE", ""),
		envHelp("CA bundle (PEM) that verifies Treezor's server certificate (empty: the system roots); re-read like the certificate", "TREEZOR_TLS_CA_FILE"))
	return f
}

// client builds the Treezor client, or nil (with a warning) when no base URL is configured.
// certs is nil without a client certificate; the caller keeps it fresh (watchTreezorCert).
func (f *apiTreezorFlags) client(logger *zap.Logger) (tz *treezor.Client, certs *treezor.CertReloader, err error) {
	if (f.tls.CertFile == "") != (f.tls.KeyFile == "") {
		return nil, nil, errors.New("--treezor-tls-cert-file (TREEZOR_TLS_CERT_FILE) and --treezor-tls-key-file (TREEZOR_TLS_KEY_FILE) go together")
	}
	if f.tls.CAFile != "" && !f.tls.Enabled() {
		return nil, nil, errors.New("--treezor-tls-ca-file (TREEZOR_TLS_CA_FILE) needs --treezor-tls-cert-file and --treezor-tls-key-file")
	}
	if f.baseURL == "" {
		logger.Warn("no Treezor client (TREEZOR_BASE_URL): once retention deletes a validated onboarding, " +
			"a new one can start for that user; configure the API's Treezor client to keep the 409")
		return nil, nil, nil
	}
	secret, err := secretValue(f.secret, "TREEZOR_CLIENT_SECRET", f.secretFile)
	if err != nil {
		return nil, nil, err
	}
	if f.clientID == "" || secret == "" {
		return nil, nil, errors.New("--treezor-base-url needs --treezor-client-id and a client secret (TREEZOR_CLIENT_SECRET or --treezor-client-secret-file)")
	}
	if f.tls.Enabled() {
		if certs, err = treezor.NewCertReloader(f.tls); err != nil {
			return nil, nil, err
		}
	}
	tz, err = treezor.NewClient(treezor.Config{
		BaseURL: f.baseURL, ClientID: f.clientID, ClientSecret: secret,
		Scopes:     strings.FieldsFunc(f.scopes, func(r rune) bool { return r == ',' || r == ' ' }),
		ClientCert: certs,
	})
	return tz, certs, err
}
