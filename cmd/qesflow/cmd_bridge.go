package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/qesflow/qesflow/internal/httpserver"
	"github.com/qesflow/qesflow/starter"
	"github.com/qesflow/qesflow/webhookbridge"
)

const bridgeSummary = "run the Treezor webhook bridge (verify, decode, signal)"

// bridgeFlags are the flags of qesflow bridge.
type bridgeFlags struct {
	addr          string
	secret        string
	adminAddr     string
	secretFile    string
	maxBody       int64
	signalTimeout time.Duration
	identGrace    time.Duration
	payinGrace    time.Duration
	clientFlags
}

func parseBridgeFlags(args []string, stderr io.Writer) (*bridgeFlags, error) {
	fs := newFlagSet("bridge", bridgeSummary, stderr)
	f := &bridgeFlags{}
	envVar(fs, &f.addr, "addr", "QESFLOW_BRIDGE_ADDR", ":8081", "listen address of the bridge (POST "+webhookbridge.Path+", /healthz): the port Treezor calls")
	envVar(fs, &f.adminAddr, "admin-addr", "QESFLOW_BRIDGE_ADMIN_ADDR", "127.0.0.1:9081", "listen address of /readyz and /metrics (and /healthz), kept off the internet-facing port; empty: on --addr")
	unsetEnvVar(fs, &f.secret, "webhook-secret", "TREEZOR_WEBHOOK_SECRET", "Treezor webhook secret(s), comma-separated for rotation; prefer the environment or a file")
	envVar(fs, &f.secretFile, "webhook-secret-file", "TREEZOR_WEBHOOK_SECRET_FILE", "", "file holding the webhook secret(s), comma- or newline-separated")
	envVar(fs, &f.maxBody, "max-body", "QESFLOW_BRIDGE_MAX_BODY", webhookbridge.DefaultMaxBody, "largest webhook body accepted, in bytes")
	envVar(fs, &f.signalTimeout, "signal-timeout", "QESFLOW_BRIDGE_SIGNAL_TIMEOUT", webhookbridge.DefaultSignalTimeout, "time allowed for Temporal to accept one webhook before answering 503")
	envVar(fs, &f.identGrace, "identification-grace", "QESFLOW_BRIDGE_IDENTIFICATION_GRACE", webhookbridge.DefaultIdentificationGrace, "how long after its creation a QES webhook whose identification no running onboarding shows yet is answered 503 (Treezor redelivers) instead of no-onboarding")
	envVar(fs, &f.payinGrace, "payin-grace", "QESFLOW_BRIDGE_PAYIN_GRACE", webhookbridge.DefaultPayinGrace, "how long after its creation a validated SEPA credit transfer whose wallet no onboarding shows yet is answered 503 (Treezor redelivers) instead of no-onboarding")
	f.clientFlags = addClientFlags(fs)
	if err := f.parse(fs, args); err != nil {
		return nil, err
	}
	if f.identGrace <= 0 {
		return nil, fmt.Errorf("--identification-grace must be positive, got %s", f.identGrace)
	}
	if f.payinGrace <= 0 {
		return nil, fmt.Errorf("--payin-grace must be positive, got %s", f.payinGrace)
	}
	if f.maxBody <= 0 {
		return nil, fmt.Errorf("--max-body must be positive, got %d", f.maxBody)
	}
	return f, nil
}

// secrets resolves the webhook secrets: several may be given, comma- or newline-separated.
func (f *bridgeFlags) secrets() ([]string, error) {
	raw, err := secretValue(f.secret, "TREEZOR_WEBHOOK_SECRET", f.secretFile)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if s = strings.TrimSpace(s); s != "" {
			if starter.IsKnownWeakSecret(s) {
				return nil, fmt.Errorf("webhook secret %d is a documented placeholder (.env.example): set Treezor's webhook secret", len(out)+1)
			}
			out = append(out, s)
		}
	}
	return out, nil
}

func runBridge(ctx context.Context, args []string, _, stderr io.Writer) error {
	f, err := parseBridgeFlags(args, stderr)
	if err != nil {
		return err
	}
	secrets, err := f.secrets()
	if err != nil {
		return err
	}
	// Lazy: the bridge starts while Temporal is still unreachable and answers 503 meanwhile.
	parts, err := f.connect(ctx, connection{lazy: true, registry: prometheus.NewRegistry()})
	if err != nil {
		return err
	}
	defer parts.Close()

	handler, err := parts.Bridge(webhookbridge.Config{
		Secrets:             secrets,
		MaxBody:             f.maxBody,
		SignalTimeout:       f.signalTimeout,
		IdentificationGrace: f.identGrace,
		PayinGrace:          f.payinGrace,
	})
	if err != nil {
		return err
	}
	srv := parts.HTTPServer(httpserver.Options{Name: "bridge", Addr: f.addr, AdminAddr: f.adminAddr, Handler: handler})
	return parts.Serve(ctx, srv, "webhook bridge started", zap.Int("secrets", len(secrets)))
}
