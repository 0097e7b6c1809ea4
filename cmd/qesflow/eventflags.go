package main

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qesflow/qesflow/outbound"
)

// eventFlags configure the outbound events of the worker: where they go and the
// Standard Webhooks secrets that sign them.
type eventFlags struct {
	endpoints            string
	secrets, secretsFile string
	timeout              time.Duration
	allowHTTP            bool
}

func addEventFlags(fs *flag.FlagSet) *eventFlags {
	f := &eventFlags{}
	envVar(fs, &f.endpoints, "events-endpoints", "QESFLOW_EVENTS_ENDPOINTS", "", `endpoints of the onboarding backend that receive the signed onboarding events, "name=https://…" comma-separated (empty: no events)`)
	unsetEnvVar(fs, &f.secrets, "events-secrets", "QESFLOW_EVENTS_SECRETS", "Standard Webhooks signing secrets (whsec_…), comma-separated; each delivery is signed with every one, so list the old and the new one during a rotation; prefer the environment or a file")
	envVar(fs, &f.secretsFile, "events-secrets-file", "QESFLOW_EVENTS_SECRETS_FILE", "", "file holding the events signing secrets")
	envVar(fs, &f.timeout, "events-timeout", "QESFLOW_EVENTS_TIMEOUT", outbound.DefaultTimeout, "timeout of one event delivery request")
	envVar(fs, &f.allowHTTP, "events-allow-http", "QESFLOW_EVENTS_ALLOW_HTTP", false, "accept http:// event endpoints on other hosts than loopback (events carry the identification URL)")
	return f
}

// sender builds the events sender; nil without endpoints. Deliveries are counted in reg.
func (f *eventFlags) sender(reg prometheus.Registerer) (*outbound.Sender, error) {
	if f.endpoints == "" {
		return nil, nil
	}
	eps, err := outbound.ParseEndpoints(f.endpoints)
	if err != nil {
		return nil, fmt.Errorf("--events-endpoints: %w", err)
	}
	for _, ep := range eps {
		if err := requireHTTPS(ep.URL, f.allowHTTP); err != nil {
			return nil, fmt.Errorf("--events-endpoints %s: use https:// (or --events-allow-http)", ep.Name)
		}
	}
	raw, err := secretValue(f.secrets, "QESFLOW_EVENTS_SECRETS", f.secretsFile)
	if err != nil {
		return nil, err
	}
	secrets, err := outbound.ParseSecrets(raw)
	if err != nil {
		return nil, fmt.Errorf("QESFLOW_EVENTS_SECRETS: %w", err)
	}
	if len(secrets) == 0 {
		return nil, errors.New("--events-endpoints needs a signing secret (QESFLOW_EVENTS_SECRETS or --events-secrets-file)")
	}
	observe, err := outbound.DeliveryCounter(reg)
	if err != nil {
		return nil, err
	}
	return outbound.NewSender(outbound.Config{Endpoints: eps, Secrets: secrets, Timeout: f.timeout,
		Observe: observe})
}
