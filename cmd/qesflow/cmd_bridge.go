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

func init() {
	register(command{name: "bridge", summary: bridgeSummary, run: runBridge})
}

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
	fs.StringVar(&f.addr, "addr", envString("QESFLOW_BRIDGE_ADDR", ":8081"),
		envHelp("listen address of the bridge (POST "+webhookbridge.Path+", /healthz): the port Treezor calls", "QESFLOW_BRIDGE_ADDR"))
	fs.StringVar(&f.adminAddr, "admin-addr", envString("QESFLOW_BRIDGE_ADMIN_ADDR", "127.0.0.1:9081"),
		envHelp("listen address of /readyz and /metrics (and /healthz), kept off the internet-facing port; empty: on --addr", "QESFLOW_BRIDGE_ADMIN_ADDR"))
	fs.StringVar(&f.secret, "webhook-secret", "",
		envHelp("Treezor webhook secret(s), comma-separated for rotation; prefer the environment or a file", "TREEZOR_WEBHOOK_SECRET"))
	fs.StringVar(&f.secretFile, "webhook-secret-file", envString("TREEZOR_WEBHOOK_SECRET_FILE", ""),
		envHelp("file holding the webhook secret(s), comma- or newline-separated", "TREEZOR_WEBHOOK_SECRET_FILE"))
	fs.Int64Var(&f.maxBody, "max-body", int64(envInt("QESFLOW_BRIDGE_MAX_BODY", webhookbridge.DefaultMaxBody)),
		envHelp("largest webhook body accepted, in bytes", "QESFLOW_BRIDGE_MAX_BODY"))
	fs.DurationVar(&f.signalTimeout, "signal-timeout", envDuration("QESFLOW_BRIDGE_SIGNAL_TIMEOUT", webhookbridge.DefaultSignalTimeout),
		envHelp("time allowed for Temporal to accept one webhook before answering 503", "QESFLOW_BRIDGE_SIGNAL_TIMEOUT"))
	fs.DurationVar(&f.identGrace, "identification-grace", envDuration("QESFLOW_BRIDGE_IDENTIFICATION_GRACE", webhookbridge.DefaultIdentificationGrace),
		envHelp("how long after its creation a QES webhook whose identification no running onboarding shows yet is answered 503 (Treezor redelivers) instead of no-onboarding", "QESFLOW_BRIDGE_IDENTIFICATION_GRACE"))
	fs.DurationVar(&f.payinGrace, "payin-grace", envDuration("QESFLOW_BRIDGE_PAYIN_GRACE", webhookbridge.DefaultPayinGrace),
		envHelp("how long after its creation a validated SEPA credit transfer whose wallet no onboarding shows yet is answered 503 (Treezor redelivers) instead of no-onboarding", "QESFLOW_BRIDGE_PAYIN_GRACE"))
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
