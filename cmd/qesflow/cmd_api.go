package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/qesflow/qesflow/console"
	"github.com/qesflow/qesflow/internal/httpserver"
	"github.com/qesflow/qesflow/starter"
)

const apiSummary = "run the onboarding API"

// apiFlags are the flags of qesflow api.
type apiFlags struct {
	addr          string
	adminAddr     string
	apiKeys       string
	apiKeysFile   string
	production    bool
	taskQueue     string
	updateTimeout time.Duration
	callTimeout   time.Duration
	policy        *policyFlags
	treezor       *apiTreezorFlags
	sessions      *consoleSessionFlags
	clientFlags
}

func parseAPIFlags(args []string, stderr io.Writer) (*apiFlags, error) {
	fs := newFlagSet("api", apiSummary, stderr)
	f := &apiFlags{}
	envVar(fs, &f.addr, "addr", "QESFLOW_API_ADDR", ":8080", "listen address of the API (/v1/onboardings, /openapi.json, /healthz)")
	envVar(fs, &f.adminAddr, "admin-addr", "QESFLOW_API_ADMIN_ADDR", "127.0.0.1:9080", "listen address of /readyz and /metrics (and /healthz), kept off the clients' port; empty: on --addr")
	unsetEnvVar(fs, &f.apiKeys, "api-keys", "QESFLOW_API_KEYS", `API keys and scopes, "key1:onboarding,alice:key2:compliance,key3:onboarding+compliance" (a name before the key lets its holder sign in to /console/); prefer the environment or a file`)
	envVar(fs, &f.apiKeysFile, "api-keys-file", "QESFLOW_API_KEYS_FILE", "", `file with one "key:scopes" or "name:key:scopes" per line (# comments)`)
	envVar(fs, &f.production, "production", "QESFLOW_PRODUCTION", false, "production mode: redirect URLs must be https")
	addTaskQueueFlag(fs, &f.taskQueue, "task queue of the onboarding workflow")
	envVar(fs, &f.updateTimeout, "update-timeout", "QESFLOW_API_UPDATE_TIMEOUT", starter.DefaultUpdateTimeout, "how long POST /v1/onboardings waits for the identification URL before answering 504")
	envVar(fs, &f.callTimeout, "call-timeout", "QESFLOW_API_CALL_TIMEOUT", starter.DefaultCallTimeout, "timeout of status queries and signals")
	f.policy = addPolicyFlags(fs)
	f.treezor = addAPITreezorFlags(fs)
	f.sessions = addConsoleSessionFlags(fs)
	f.clientFlags = addClientFlags(fs)
	if err := f.parse(fs, args); err != nil {
		return nil, err
	}
	if f.updateTimeout <= 0 || f.callTimeout <= 0 {
		return nil, fmt.Errorf("--update-timeout and --call-timeout must be positive")
	}
	return f, nil
}

// keys resolves the API keys from --api-keys (else QESFLOW_API_KEYS) and --api-keys-file; both
// sources may be combined. At least one key is required.
func (f *apiFlags) keys() ([]starter.APIKey, error) {
	raw, err := secretValue(f.apiKeys, "QESFLOW_API_KEYS", "")
	if err != nil {
		return nil, err
	}
	keys, err := starter.ParseAPIKeyList(raw)
	if err != nil {
		return nil, fmt.Errorf("--api-keys / QESFLOW_API_KEYS: %w", err)
	}
	if f.apiKeysFile != "" {
		fromFile, err := starter.ReadAPIKeyListFile(f.apiKeysFile)
		if err != nil {
			return nil, err
		}
		keys = append(keys, fromFile...)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no API key: set --api-keys, --api-keys-file, QESFLOW_API_KEYS or QESFLOW_API_KEYS_FILE (key:onboarding,key:compliance)")
	}
	return keys, nil
}

func runAPI(ctx context.Context, args []string, _, stderr io.Writer) error {
	f, err := parseAPIFlags(args, stderr)
	if err != nil {
		return err
	}
	keys, err := f.keys()
	if err != nil {
		return err
	}
	policy, err := f.policy.override()
	if err != nil {
		return err
	}
	sessionKeys, err := f.sessions.load()
	if err != nil {
		return err
	}
	// Lazy: the API starts while Temporal is still unreachable, answers 503 and is not ready.
	parts, err := f.connect(ctx, connection{lazy: true, registry: prometheus.NewRegistry()})
	if err != nil {
		return err
	}
	defer parts.Close()

	tz, certs, err := f.treezor.client(parts.Logger)
	if err != nil {
		return err
	}
	if certs != nil {
		parts.Logger.Info("Treezor mutual TLS enabled", zap.Time("notAfter", certs.NotAfter()))
		certCtx, stopCerts := context.WithCancel(ctx)
		defer stopCerts()
		go watchTreezorCert(certCtx, certs, parts.Logger)
	}
	var users starter.TreezorUsers
	if tz != nil {
		users = tz
	}
	handler, err := parts.API(starter.Config{
		Treezor:        users,
		TaskQueue:      f.taskQueue,
		Keys:           starter.KeyScopes(keys),
		ProductionMode: f.production,
		Policy:         policy,
		UpdateTimeout:  f.updateTimeout,
		CallTimeout:    f.callTimeout,
	})
	if err != nil {
		return err
	}
	// The lists of onboardings that wait for a person, for the dashboards and alerts.
	if parts.Registry != nil {
		parts.Registry.MustRegister(console.NewQueueCollector(parts.Client, parts.Namespace, parts.Logger.Named("console")))
	}
	// The compliance console (/console/) serves the operators named in the compliance keys.
	if con, err := console.New(console.Config{Temporal: parts.Client, Namespace: parts.Namespace, TaskQueue: f.taskQueue,
		Keys: keys, Logger: parts.Logger.Named("console"), SessionKeys: sessionKeys}); err == nil {
		handler = console.Mount(con, handler)
		if sessionKeys == nil {
			parts.Logger.Warn("console sessions are sealed with a random key of this process: they end when it restarts and other API replicas refuse them; " +
				"set QESFLOW_CONSOLE_SESSION_KEYS (or _FILE) to the same keys on every replica")
		} else {
			parts.Logger.Info("console sessions", zap.Strings("sessionKeyIds", sessionKeys.KeyIDs()))
		}
	} else {
		parts.Logger.Info("compliance console off", zap.String("why", err.Error()))
	}
	srv := parts.HTTPServer(httpserver.Options{
		Name:      "api",
		Addr:      f.addr,
		AdminAddr: f.adminAddr,
		Handler:   handler,
		// POST /v1/onboardings may wait up to the update timeout for the identification URL.
		WriteTimeout: f.updateTimeout + 10*time.Second,
	})
	return parts.Serve(ctx, srv, "onboarding API started", zap.Int("apiKeys", len(keys)), zap.Bool("production", f.production))
}
