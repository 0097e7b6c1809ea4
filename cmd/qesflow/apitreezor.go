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
	envVar(fs, &f.baseURL, "treezor-base-url", "TREEZOR_BASE_URL", "", "Treezor API base URL: with it, a start for a user with no visible onboarding first reads the user's kycReview (GET /v1/users/{userId}) and answers 409 for a validated user, whatever retention deleted; without it, no such check")
	envVar(fs, &f.clientID, "treezor-client-id", "TREEZOR_CLIENT_ID", "", "Treezor OAuth client id (with --treezor-base-url)")
	unsetEnvVar(fs, &f.secret, "treezor-client-secret", "TREEZOR_CLIENT_SECRET", "Treezor OAuth client secret; prefer the environment or a file")
	envVar(fs, &f.secretFile, "treezor-client-secret-file", "TREEZOR_CLIENT_SECRET_FILE", "", "file holding the Treezor OAuth client secret")
	envVar(fs, &f.scopes, "treezor-scopes", "TREEZOR_SCOPES", "read_only", "OAuth scopes of the API's Treezor client, comma- or space-separated")
	addTreezorTLSFlags(fs, &f.tls)
	return f
}

// client builds the Treezor client, or nil (with a warning) when no base URL is configured.
// certs is nil without a client certificate; the caller keeps it fresh (watchTreezorCert).
func (f *apiTreezorFlags) client(logger *zap.Logger) (tz *treezor.Client, certs *treezor.CertReloader, err error) {
	if err := checkTreezorTLS(f.tls); err != nil {
		return nil, nil, err
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
