package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/qesflow/qesflow/devstack"
	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/internal/gctune"
	"github.com/qesflow/qesflow/treezorsim"
)

// devPortFlags maps a stack part to the flag that sets its port, for clear port errors.
var devPortFlags = map[string]string{
	"api": "--api-port", "bridge": "--bridge-port", "sim": "--sim-port",
	"frontend": "--temporal-port", "ui": "--ui-port",
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dev", "run the whole product on this machine (no Docker, nothing downloaded)", stderr)
	dataDir := envFlag(fs, "data-dir", "QESFLOW_DATA_DIR", ".qesflow", "directory for the Temporal SQLite file, documents and dev credentials")
	ephemeral := envFlag(fs, "ephemeral", "QESFLOW_EPHEMERAL", false, "keep Temporal's state in memory: everything is gone when the process stops")
	host := envFlag(fs, "host", "QESFLOW_HOST", "127.0.0.1", "interface every listener binds to")
	temporalPort := envFlag(fs, "temporal-port", "QESFLOW_TEMPORAL_PORT", 7233, "Temporal frontend (gRPC) port, for the temporal CLI and SDKs")
	uiPort := envFlag(fs, "ui-port", "QESFLOW_UI_PORT", 8233, "Temporal Web UI port; -1 disables the UI")
	apiPort := envFlag(fs, "api-port", "QESFLOW_API_PORT", 8080, "onboarding API port")
	bridgePort := envFlag(fs, "bridge-port", "QESFLOW_BRIDGE_PORT", 8081, "webhook bridge port")
	simPort := envFlag(fs, "sim-port", "QESFLOW_SIM_PORT", 8090, "Treezor sandbox simulator port")
	autoKYC := envFlag(fs, "auto-kyc", "QESFLOW_SIM_AUTO_KYC", "", `simulator decides KYC reviews by itself: "validate", "refuse" or "" (decide on the KYC desk page)`)
	autoKYCDelay := envFlag[time.Duration](fs, "auto-kyc-delay", "QESFLOW_SIM_AUTO_KYC_DELAY", 0, "delay before an automatic KYC decision")
	webhookVariants := envFlag(fs, "webhook-variants", "QESFLOW_SIM_WEBHOOK_VARIANTS", "", "simulator: "+webhookVariantsHelp)
	serverLog := envFlag(fs, "server-log-level", "QESFLOW_SERVER_LOG_LEVEL", "warn", "log level of the embedded Temporal server")
	logs := addLogFlags(fs)
	policy := addPolicyFlags(fs)
	gogc := addGCFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if _, err := gctune.Apply(*gogc); err != nil {
		return err
	}
	logger, err := logs.build()
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()
	pol, err := policy.override()
	if err != nil {
		return err
	}
	simCfg := treezorsim.Config{AutoKYCDecision: treezorsim.KYCDecision(*autoKYC), AutoKYCDelay: *autoKYCDelay}
	// The simulator enables downloads for the dev client when the policy downloads documents.
	simCfg.DownloadsEnabled = pol != nil && pol.DownloadDocuments != nil && *pol.DownloadDocuments
	if simCfg.Webhooks, err = treezorsim.ParseWebhookVariants(*webhookVariants); err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	if err := simCfg.Validate(); err != nil {
		return fmt.Errorf("simulator: %w", err)
	}

	stack, err := devstack.Start(ctx, devstack.Config{
		DataDir: *dataDir, Ephemeral: *ephemeral, Host: *host,
		TemporalPort: *temporalPort, UIPort: *uiPort, APIPort: *apiPort, BridgePort: *bridgePort, SimPort: *simPort,
		Sim: simCfg, Policy: pol, Logger: logger, ServerLogLevel: *serverLog,
	})
	if err != nil {
		var pe *devstack.PortError
		if errors.As(err, &pe) {
			return fmt.Errorf("%w (choose another with %s)", err, devPortFlags[pe.Purpose])
		}
		var pie *embedded.PortInUseError
		if errors.As(err, &pie) {
			return fmt.Errorf("%w (choose another with %s)", err, devPortFlags[pie.Purpose])
		}
		return err
	}
	printTryIt(stdout, stack, *ephemeral, *dataDir)
	return stack.Wait(ctx)
}

// printTryIt tells a developer where everything is and how to start a first onboarding. The
// dev credentials are printed on purpose: they exist only for this local stack.
func printTryIt(w io.Writer, s *devstack.Stack, ephemeral bool, dataDir string) {
	persistence := "SQLite in " + dataDir + " (flows survive a restart)"
	if ephemeral {
		persistence = "in memory (--ephemeral: gone when the process stops)"
	}
	ui := s.UIURL
	if ui == "" {
		ui = "(disabled)"
	}
	c := s.Credentials
	fmt.Fprintf(w, `
qesflow dev is running. Ctrl-C stops it.

  Temporal frontend   %s   (temporal CLI / SDKs, namespace %s)
  Temporal Web UI     %s
  Onboarding API      %s
  Webhook bridge      %s/webhooks/treezor
  Treezor simulator   %s   (KYC desk: %s/kyc)
  Codec endpoint      %s   (the UI decrypts payloads through it)
  Compliance console  %s/console/   (sign in with the compliance key, operator dev-compliance)
  Events received     %s   (the signed events a backend would receive)
  Persistence         %s

Dev credentials (local use only):
%s
Try it:
  curl -s -X POST %s/sim/users -H 'Content-Type: application/json' \
    -d '{"userId":"1001","firstname":"Alex","lastname":"Muster","email":"alex@example.com","country":"FR","phone":"+33600000000"}'
  curl -s -X POST %s/v1/onboardings -H 'Authorization: Bearer %s' \
    -H 'Content-Type: application/json' -d '{"userId":"1001"}'
  # open the identificationURL it returns, click "Complete successfully",
  # then validate the review on the KYC desk, and watch the workflow in the UI:
  # %s/namespaces/%s/workflows?query=TreezorUserId%%3D%%221001%%22
  curl -s %s/v1/onboardings/1001 -H 'Authorization: Bearer %s'

Payloads are encrypted in Temporal's history (key %s, kept in the dev credentials).
The Web UI shows them decoded only to an operator signed in to the compliance console: sign in
at %s/console/ with the compliance key, in the browser you open the UI with, on the same
host name as both URLs above. The temporal CLI reads them with:
  --codec-endpoint %s --codec-auth 'Bearer %s'

`, s.TemporalAddress, s.Server.Namespace(), ui, s.APIURL, s.BridgeURL, s.SimURL, s.SimURL, s.CodecURL, s.APIURL, s.EventsURL, persistence,
		devCredentialLines(c),
		s.SimURL, s.APIURL, c.OnboardingKey, ui, s.Server.Namespace(), s.APIURL, c.OnboardingKey,
		s.Keyring.ActiveKeyID(), s.APIURL, s.CodecURL, c.ComplianceKey)
}

// devCredentialLines lists every dev credential the walk-through and the README use, so that
// an --ephemeral stack, which writes no credentials file, can still be driven.
func devCredentialLines(c devstack.Credentials) string {
	return fmt.Sprintf(`  onboarding API key  %s
  compliance API key  %s
  both-scopes API key %s   (onboarding+compliance: "override": true)
  webhook secret      %s
  simulator OAuth     client id %s, client secret %s
  events secret       %s   (signs the outbound events)
`, c.OnboardingKey, c.ComplianceKey, c.SupervisorKey, c.WebhookSecret, c.TreezorClientID, c.TreezorClientSecret, c.EventsSecret)
}
