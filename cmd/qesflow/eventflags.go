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
	complianceEndpoints  string
	secrets, secretsFile string
	timeout              time.Duration
	allowHTTP            bool
}

func addEventFlags(fs *flag.FlagSet) *eventFlags {
	f := &eventFlags{}
	envVar(fs, &f.endpoints, "events-endpoints", "QESFLOW_EVENTS_ENDPOINTS", "", `endpoints of the onboarding backend that receive the signed onboarding events, "name=https://…" comma-separated (empty: no events)`)
	envVar(fs, &f.complianceEndpoints, "events-compliance-endpoints", "QESFLOW_EVENTS_COMPLIANCE_ENDPOINTS", "", `opt-in endpoints that receive the internal view (internal states, reason codes, fraud suspicions), "name=https://…" comma-separated; each needs a secret of its own (empty: none)`)
	unsetEnvVar(fs, &f.secrets, "events-secrets", "QESFLOW_EVENTS_SECRETS", "Standard Webhooks signing secrets, comma-separated: name=whsec_… signs the deliveries to endpoint name (repeat it during a rotation: each delivery is signed with every one), a bare whsec_… those to the endpoints without one of their own; prefer the environment or a file")
	envVar(fs, &f.secretsFile, "events-secrets-file", "QESFLOW_EVENTS_SECRETS_FILE", "", "file holding the events signing secrets")
	envVar(fs, &f.timeout, "events-timeout", "QESFLOW_EVENTS_TIMEOUT", outbound.DefaultTimeout, "timeout of one event delivery request")
	envVar(fs, &f.allowHTTP, "events-allow-http", "QESFLOW_EVENTS_ALLOW_HTTP", false, "accept http:// event endpoints on other hosts than loopback (events carry the identification URL)")
	return f
}

// sender builds the events sender; nil without endpoints. Deliveries are counted in reg.
func (f *eventFlags) sender(reg prometheus.Registerer) (*outbound.Sender, error) {
	if f.endpoints == "" && f.complianceEndpoints == "" {
		return nil, nil
	}
	var eps []outbound.Endpoint
	for _, list := range []struct {
		flag, value string
		compliance  bool
	}{{"--events-endpoints", f.endpoints, false}, {"--events-compliance-endpoints", f.complianceEndpoints, true}} {
		parsed, err := outbound.ParseEndpoints(list.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", list.flag, err)
		}
		for _, ep := range parsed {
			if err := requireHTTPS(ep.URL, f.allowHTTP); err != nil {
				return nil, fmt.Errorf("%s %s: use https:// (or --events-allow-http)", list.flag, ep.Name)
			}
			ep.Compliance = list.compliance
			eps = append(eps, ep)
		}
	}
	raw, err := secretValue(f.secrets, "QESFLOW_EVENTS_SECRETS", f.secretsFile)
	if err != nil {
		return nil, err
	}
	shared, own, err := outbound.ParseEndpointSecrets(raw)
	if err != nil {
		return nil, fmt.Errorf("QESFLOW_EVENTS_SECRETS: %w", err)
	}
	if len(shared) == 0 && len(own) == 0 {
		return nil, errors.New("--events-endpoints needs a signing secret (QESFLOW_EVENTS_SECRETS or --events-secrets-file)")
	}
	names := map[string]bool{}
	for i, ep := range eps {
		if names[ep.Name] {
			return nil, fmt.Errorf("event endpoint %s is configured twice (the names of both lists must differ)", ep.Name)
		}
		names[ep.Name] = true
		eps[i].Secrets = own[ep.Name]
		if ep.Compliance && len(own[ep.Name]) == 0 {
			return nil, fmt.Errorf("compliance endpoint %s needs a secret of its own in QESFLOW_EVENTS_SECRETS (%s=whsec_…)", ep.Name, ep.Name)
		}
	}
	for name := range own {
		if !names[name] {
			return nil, fmt.Errorf("QESFLOW_EVENTS_SECRETS: a secret for %s, which is no event endpoint", name)
		}
	}
	observe, err := outbound.DeliveryCounter(reg)
	if err != nil {
		return nil, err
	}
	return outbound.NewSender(outbound.Config{Endpoints: eps, Secrets: shared, Timeout: f.timeout,
		Observe: observe})
}
