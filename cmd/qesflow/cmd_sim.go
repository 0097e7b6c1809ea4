package main

import (
	"context"
	"fmt"
	"io"

	"time"

	"go.uber.org/zap"

	"github.com/qesflow/qesflow/internal/logging"
	"github.com/qesflow/qesflow/treezorsim"
)

// simFlags are the settings of `qesflow sim`.
type simFlags struct {
	addr, publicURL, logLevel, logFormat string
	stateFile                            string
	clientID, clientSecret               string
	webhookURL, webhookSecret            string
	retryInterval, webhookTimeout        time.Duration
	maxAttempts, documents               int
	autoKYC                              string
	autoKYCDelay, documentURLTTL         time.Duration
	skipPendingKYC, flatQES              bool
	seed                                 int64
	duplicateRate, reorderRate           float64
	maxDelay                             time.Duration
	apiFaultRate, apiHangShare           float64
	apiHang                              time.Duration
	downloadsEnabled                     bool
	documentSize, fileBytesPerSecond     int
	tlsCert, tlsKey, clientCA            string
	webhookVariants                      string
}

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sim", "run the Treezor sandbox simulator.\n\n"+
		"Speaks Treezor's API (/oauth/token, /v1/...), serves the end user's identification pages\n"+
		"and the KYC desk (/kyc), and delivers signed webhooks with Treezor's retry semantics.\n"+
		"Development only: the default credentials below are public dev-only values.", stdout)
	var f simFlags
	envVar(fs, &f.addr, "addr", "QESFLOW_SIM_ADDR", ":8090", "listen address")
	envVar(fs, &f.publicURL, "public-url", "QESFLOW_SIM_PUBLIC_URL", "http://localhost:8090", "base URL of identification and document URLs, as browsers and clients reach the simulator")
	envVar(fs, &f.stateFile, "state-file", "QESFLOW_SIM_STATE_FILE", "", "JSON file that keeps users, identifications, KYC reviews, documents and undelivered webhooks across restarts (mode 0600; empty: in memory)")
	envVar(fs, &f.clientID, "client-id", "TREEZOR_CLIENT_ID", treezorsim.DevClientID, "OAuth client id the simulator accepts")
	unsetEnvVar(fs, &f.clientSecret, "client-secret", "TREEZOR_CLIENT_SECRET", fmt.Sprintf("OAuth client secret the simulator accepts (dev-only default %q)", treezorsim.DevClientSecret))
	envVar(fs, &f.webhookURL, "webhook-url", "QESFLOW_SIM_WEBHOOK_URL", "http://localhost:8081/webhooks/treezor", "where webhooks are delivered (the bridge); several comma-separated URLs take turns, each retry going to the next")
	unsetEnvVar(fs, &f.webhookSecret, "webhook-secret", "TREEZOR_WEBHOOK_SECRET", fmt.Sprintf("secret that signs webhook payloads (dev-only default %q)", treezorsim.DevWebhookSecret))
	envVar(fs, &f.retryInterval, "webhook-retry-interval", "QESFLOW_SIM_WEBHOOK_RETRY_INTERVAL", treezorsim.DefaultWebhookRetryInterval, "wait between webhook delivery attempts (Treezor: 1m)")
	envVar(fs, &f.maxAttempts, "webhook-max-attempts", "QESFLOW_SIM_WEBHOOK_MAX_ATTEMPTS", treezorsim.DefaultWebhookMaxAttempts, "delivery attempts per webhook")
	envVar(fs, &f.webhookTimeout, "webhook-timeout", "QESFLOW_SIM_WEBHOOK_TIMEOUT", treezorsim.DefaultWebhookTimeout, "timeout of one delivery attempt")
	envVar(fs, &f.autoKYC, "auto-kyc", "QESFLOW_SIM_AUTO_KYC", "", "decide KYC reviews automatically: validate, refuse, or empty for the KYC desk")
	envVar(fs, &f.autoKYCDelay, "auto-kyc-delay", "QESFLOW_SIM_AUTO_KYC_DELAY", 5*time.Second, "delay of the automatic KYC decision")
	envVar(fs, &f.skipPendingKYC, "skip-kyc-pending-webhook", "QESFLOW_SIM_SKIP_KYC_PENDING_WEBHOOK", false, "do not send user.kycreview PENDING right after a review request")
	envVar(fs, &f.flatQES, "qes-flat-response", "QESFLOW_SIM_QES_FLAT_RESPONSE", false, "answer POST /qes in the flat OpenAPI form instead of the nested seed form")
	envVar(fs, &f.documents, "documents", "QESFLOW_SIM_DOCUMENTS", treezorsim.DefaultDocumentsPerSuccess, "documents created per successful identification (1 or 2)")
	envVar(fs, &f.documentURLTTL, "document-url-ttl", "QESFLOW_SIM_DOCUMENT_URL_TTL", treezorsim.DefaultDocumentURLTTL, "validity of presigned document URLs")
	envVar(fs, &f.downloadsEnabled, "downloads-enabled", "QESFLOW_SIM_DOWNLOADS_ENABLED", false, "enable document downloads for the client (off by default, as at Treezor: GET /v1/documents/{id}/download answers 403)")
	envVar(fs, &f.documentSize, "document-size", "QESFLOW_SIM_DOCUMENT_SIZE", 0, "pad every document to at least this many bytes (0: a small PDF)")
	envVar(fs, &f.fileBytesPerSecond, "file-bytes-per-second", "QESFLOW_SIM_FILE_BYTES_PER_SECOND", 0, "throttle presigned document downloads to this rate (0: unthrottled)")
	envVar(fs, &f.tlsCert, "tls-cert-file", "QESFLOW_SIM_TLS_CERT_FILE", "", "serve over TLS with this certificate (PEM; set --public-url to https://...)")
	envVar(fs, &f.tlsKey, "tls-key-file", "QESFLOW_SIM_TLS_KEY_FILE", "", "private key (PEM) of --tls-cert-file")
	envVar(fs, &f.clientCA, "tls-client-ca-file", "QESFLOW_SIM_TLS_CLIENT_CA_FILE", "", "require a client certificate signed by a CA of this PEM bundle (mutual TLS, as Treezor's API)")
	envVar(fs, &f.seed, "seed", "QESFLOW_SIM_SEED", 0, "seed of ids and chaos (0: random)")
	envVar(fs, &f.duplicateRate, "chaos-duplicate-rate", "QESFLOW_SIM_CHAOS_DUPLICATE_RATE", 0, "probability that a webhook is delivered 1-2 more times")
	envVar(fs, &f.reorderRate, "chaos-reorder-rate", "QESFLOW_SIM_CHAOS_REORDER_RATE", 0, "probability that an action's webhooks are delivered shuffled")
	envVar(fs, &f.maxDelay, "chaos-max-delay", "QESFLOW_SIM_CHAOS_MAX_DELAY", 0, "random delay up to this before each delivery")
	envVar(fs, &f.apiFaultRate, "chaos-api-fault-rate", "QESFLOW_SIM_CHAOS_API_FAULT_RATE", 0, "fraction of /v1 calls that fault (5xx before processing, or hang after it)")
	envVar(fs, &f.apiHangShare, "chaos-api-hang-share", "QESFLOW_SIM_CHAOS_API_HANG_SHARE", 0, "fraction of faulted calls that hang instead of answering 5xx")
	envVar(fs, &f.apiHang, "chaos-api-hang", "QESFLOW_SIM_CHAOS_API_HANG", treezorsim.DefaultAPIFaultTimeout, "how long a hanging call hangs (past the client's timeout)")
	envVar(fs, &f.webhookVariants, "webhook-variants", "QESFLOW_SIM_WEBHOOK_VARIANTS", "", webhookVariantsHelp)
	envVar(fs, &f.logLevel, "log-level", "QESFLOW_LOG_LEVEL", "info", "log level: debug, info, warn, error")
	envVar(fs, &f.logFormat, "log-format", "QESFLOW_LOG_FORMAT", "json", "log format: json or console")
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	cfg := f.config()
	variants, err := treezorsim.ParseWebhookVariants(f.webhookVariants)
	if err != nil {
		fmt.Fprintf(stderr, "qesflow sim: invalid settings: %v\n", err)
		return errUsage
	}
	cfg.Webhooks = variants
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "qesflow sim: invalid settings: %v\n", err)
		return errUsage
	}
	logger, err := logging.New(f.logLevel, f.logFormat)
	if err != nil {
		fmt.Fprintf(stderr, "qesflow sim: %v\n", err)
		return errUsage
	}
	defer func() { _ = logger.Sync() }()
	logger = logger.Named("treezorsim")
	if f.clientSecret == treezorsim.DevClientSecret || f.webhookSecret == treezorsim.DevWebhookSecret {
		logger.Warn("using dev-only default secrets")
	}
	logger.Info("treezor simulator starting", zap.String("addr", f.addr), zap.Int64("seed", f.seed),
		zap.Bool("tls", f.tlsCert != ""), zap.Bool("mutual_tls", f.clientCA != ""), zap.Bool("downloads_enabled", f.downloadsEnabled),
		zap.Bool("state_file", f.stateFile != ""),
		zap.String("auto_kyc", f.autoKYC), zap.Float64("chaos_duplicate_rate", f.duplicateRate),
		zap.Float64("chaos_reorder_rate", f.reorderRate), zap.Float64("chaos_api_fault_rate", f.apiFaultRate))
	sim, err := treezorsim.Open(cfg, logger)
	if err != nil {
		return fmt.Errorf("start simulator: %w", err)
	}
	return sim.Serve(ctx, f.addr)
}

// config builds the simulator configuration; secrets come from the flag, else the
// environment, else the dev-only defaults (never printed by --help).
func (f *simFlags) config() treezorsim.Config {
	f.clientSecret = simFirstSet(f.clientSecret, envString("TREEZOR_CLIENT_SECRET", ""), treezorsim.DevClientSecret)
	f.webhookSecret = simFirstSet(f.webhookSecret, envString("TREEZOR_WEBHOOK_SECRET", ""), treezorsim.DevWebhookSecret)
	return treezorsim.Config{
		StateFile: f.stateFile, ClientID: f.clientID, ClientSecret: f.clientSecret,
		WebhookSecret: f.webhookSecret, WebhookURL: f.webhookURL, PublicURL: f.publicURL,
		Seed: f.seed, DocumentURLTTL: f.documentURLTTL, QESResponseFlat: f.flatQES, DocumentsPerSuccess: f.documents,
		WebhookRetryInterval: f.retryInterval, WebhookMaxAttempts: f.maxAttempts, WebhookTimeout: f.webhookTimeout,
		SkipKYCPendingWebhook: f.skipPendingKYC, AutoKYCDecision: treezorsim.KYCDecision(f.autoKYC), AutoKYCDelay: f.autoKYCDelay,
		DuplicateRate: f.duplicateRate, ReorderRate: f.reorderRate, MaxDelay: f.maxDelay,
		APIFaultRate: f.apiFaultRate, APIFaultHangShare: f.apiHangShare, APIFaultTimeout: f.apiHang,
		DownloadsEnabled: f.downloadsEnabled, DocumentSize: f.documentSize, FileBytesPerSecond: f.fileBytesPerSecond,
		TLSCertFile: f.tlsCert, TLSKeyFile: f.tlsKey, ClientCAFile: f.clientCA,
	}
}

// webhookVariantsHelp documents --webhook-variants of sim and dev.
const webhookVariantsHelp = "delivery variants of Treezor's documented webhook forms, comma-separated: wrapped[=fraction], text[=fraction], raw, php, " +
	"no-qes-user, hold[=rate], kycrequest, payin-placeholder, other-payins, other-wallet, treezor-retries, or all (every one but treezor-retries)"

func simFirstSet(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// simEnvFloat returns the environment variable as a float, or def when unset or invalid.
