package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/qesflow/qesflow/internal/logging"
	"github.com/qesflow/qesflow/treezorsim"
)

func init() {
	register(command{
		name:    "sim",
		summary: "run the Treezor sandbox simulator (API, end-user pages, KYC desk, signed webhooks)",
		run:     runSim,
	})
}

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
	fs.StringVar(&f.addr, "addr", envString("QESFLOW_SIM_ADDR", ":8090"), envHelp("listen address", "QESFLOW_SIM_ADDR"))
	fs.StringVar(&f.publicURL, "public-url", envString("QESFLOW_SIM_PUBLIC_URL", "http://localhost:8090"),
		envHelp("base URL of identification and document URLs, as browsers and clients reach the simulator", "QESFLOW_SIM_PUBLIC_URL"))
	fs.StringVar(&f.stateFile, "state-file", envString("QESFLOW_SIM_STATE_FILE", ""),
		envHelp("JSON file that keeps users, identifications, KYC reviews, documents and undelivered webhooks across restarts (mode 0600; empty: in memory)", "QESFLOW_SIM_STATE_FILE"))
	fs.StringVar(&f.clientID, "client-id", envString("TREEZOR_CLIENT_ID", treezorsim.DevClientID),
		envHelp("OAuth client id the simulator accepts", "TREEZOR_CLIENT_ID"))
	fs.StringVar(&f.clientSecret, "client-secret", "",
		envHelp(fmt.Sprintf("OAuth client secret the simulator accepts (dev-only default %q)", treezorsim.DevClientSecret), "TREEZOR_CLIENT_SECRET"))
	fs.StringVar(&f.webhookURL, "webhook-url", envString("QESFLOW_SIM_WEBHOOK_URL", "http://localhost:8081/webhooks/treezor"),
		envHelp("where webhooks are delivered (the bridge); several comma-separated URLs take turns, each retry going to the next", "QESFLOW_SIM_WEBHOOK_URL"))
	fs.StringVar(&f.webhookSecret, "webhook-secret", "",
		envHelp(fmt.Sprintf("secret that signs webhook payloads (dev-only default %q)", treezorsim.DevWebhookSecret), "TREEZOR_WEBHOOK_SECRET"))
	fs.DurationVar(&f.retryInterval, "webhook-retry-interval", envDuration("QESFLOW_SIM_WEBHOOK_RETRY_INTERVAL", treezorsim.DefaultWebhookRetryInterval),
		envHelp("wait between webhook delivery attempts (Treezor: 1m)", "QESFLOW_SIM_WEBHOOK_RETRY_INTERVAL"))
	fs.IntVar(&f.maxAttempts, "webhook-max-attempts", envInt("QESFLOW_SIM_WEBHOOK_MAX_ATTEMPTS", treezorsim.DefaultWebhookMaxAttempts),
		envHelp("delivery attempts per webhook", "QESFLOW_SIM_WEBHOOK_MAX_ATTEMPTS"))
	fs.DurationVar(&f.webhookTimeout, "webhook-timeout", envDuration("QESFLOW_SIM_WEBHOOK_TIMEOUT", treezorsim.DefaultWebhookTimeout),
		envHelp("timeout of one delivery attempt", "QESFLOW_SIM_WEBHOOK_TIMEOUT"))
	fs.StringVar(&f.autoKYC, "auto-kyc", envString("QESFLOW_SIM_AUTO_KYC", ""),
		envHelp("decide KYC reviews automatically: validate, refuse, or empty for the KYC desk", "QESFLOW_SIM_AUTO_KYC"))
	fs.DurationVar(&f.autoKYCDelay, "auto-kyc-delay", envDuration("QESFLOW_SIM_AUTO_KYC_DELAY", 5*time.Second),
		envHelp("delay of the automatic KYC decision", "QESFLOW_SIM_AUTO_KYC_DELAY"))
	fs.BoolVar(&f.skipPendingKYC, "skip-kyc-pending-webhook", envBool("QESFLOW_SIM_SKIP_KYC_PENDING_WEBHOOK", false),
		envHelp("do not send user.kycreview PENDING right after a review request", "QESFLOW_SIM_SKIP_KYC_PENDING_WEBHOOK"))
	fs.BoolVar(&f.flatQES, "qes-flat-response", envBool("QESFLOW_SIM_QES_FLAT_RESPONSE", false),
		envHelp("answer POST /qes in the flat OpenAPI form instead of the nested seed form", "QESFLOW_SIM_QES_FLAT_RESPONSE"))
	fs.IntVar(&f.documents, "documents", envInt("QESFLOW_SIM_DOCUMENTS", treezorsim.DefaultDocumentsPerSuccess),
		envHelp("documents created per successful identification (1 or 2)", "QESFLOW_SIM_DOCUMENTS"))
	fs.DurationVar(&f.documentURLTTL, "document-url-ttl", envDuration("QESFLOW_SIM_DOCUMENT_URL_TTL", treezorsim.DefaultDocumentURLTTL),
		envHelp("validity of presigned document URLs", "QESFLOW_SIM_DOCUMENT_URL_TTL"))
	fs.BoolVar(&f.downloadsEnabled, "downloads-enabled", envBool("QESFLOW_SIM_DOWNLOADS_ENABLED", false),
		envHelp("enable document downloads for the client (off by default, as at Treezor: GET /v1/documents/{id}/download answers 403)", "QESFLOW_SIM_DOWNLOADS_ENABLED"))
	fs.IntVar(&f.documentSize, "document-size", envInt("QESFLOW_SIM_DOCUMENT_SIZE", 0),
		envHelp("pad every document to at least this many bytes (0: a small PDF)", "QESFLOW_SIM_DOCUMENT_SIZE"))
	fs.IntVar(&f.fileBytesPerSecond, "file-bytes-per-second", envInt("QESFLOW_SIM_FILE_BYTES_PER_SECOND", 0),
		envHelp("throttle presigned document downloads to this rate (0: unthrottled)", "QESFLOW_SIM_FILE_BYTES_PER_SECOND"))
	fs.StringVar(&f.tlsCert, "tls-cert-file", envString("QESFLOW_SIM_TLS_CERT_FILE", ""),
		envHelp("serve over TLS with this certificate (PEM; set --public-url to https://...)", "QESFLOW_SIM_TLS_CERT_FILE"))
	fs.StringVar(&f.tlsKey, "tls-key-file", envString("QESFLOW_SIM_TLS_KEY_FILE", ""),
		envHelp("private key (PEM) of --tls-cert-file", "QESFLOW_SIM_TLS_KEY_FILE"))
	fs.StringVar(&f.clientCA, "tls-client-ca-file", envString("QESFLOW_SIM_TLS_CLIENT_CA_FILE", ""),
		envHelp("require a client certificate signed by a CA of this PEM bundle (mutual TLS, as Treezor's API)", "QESFLOW_SIM_TLS_CLIENT_CA_FILE"))
	fs.Int64Var(&f.seed, "seed", int64(envInt("QESFLOW_SIM_SEED", 0)),
		envHelp("seed of ids and chaos (0: random)", "QESFLOW_SIM_SEED"))
	fs.Float64Var(&f.duplicateRate, "chaos-duplicate-rate", simEnvFloat("QESFLOW_SIM_CHAOS_DUPLICATE_RATE", 0),
		envHelp("probability that a webhook is delivered 1-2 more times", "QESFLOW_SIM_CHAOS_DUPLICATE_RATE"))
	fs.Float64Var(&f.reorderRate, "chaos-reorder-rate", simEnvFloat("QESFLOW_SIM_CHAOS_REORDER_RATE", 0),
		envHelp("probability that an action's webhooks are delivered shuffled", "QESFLOW_SIM_CHAOS_REORDER_RATE"))
	fs.DurationVar(&f.maxDelay, "chaos-max-delay", envDuration("QESFLOW_SIM_CHAOS_MAX_DELAY", 0),
		envHelp("random delay up to this before each delivery", "QESFLOW_SIM_CHAOS_MAX_DELAY"))
	fs.Float64Var(&f.apiFaultRate, "chaos-api-fault-rate", simEnvFloat("QESFLOW_SIM_CHAOS_API_FAULT_RATE", 0),
		envHelp("fraction of /v1 calls that fault (5xx before processing, or hang after it)", "QESFLOW_SIM_CHAOS_API_FAULT_RATE"))
	fs.Float64Var(&f.apiHangShare, "chaos-api-hang-share", simEnvFloat("QESFLOW_SIM_CHAOS_API_HANG_SHARE", 0),
		envHelp("fraction of faulted calls that hang instead of answering 5xx", "QESFLOW_SIM_CHAOS_API_HANG_SHARE"))
	fs.DurationVar(&f.apiHang, "chaos-api-hang", envDuration("QESFLOW_SIM_CHAOS_API_HANG", treezorsim.DefaultAPIFaultTimeout),
		envHelp("how long a hanging call hangs (past the client's timeout)", "QESFLOW_SIM_CHAOS_API_HANG"))
	fs.StringVar(&f.webhookVariants, "webhook-variants", envString("QESFLOW_SIM_WEBHOOK_VARIANTS", ""),
		envHelp(webhookVariantsHelp, "QESFLOW_SIM_WEBHOOK_VARIANTS"))
	fs.StringVar(&f.logLevel, "log-level", envString("QESFLOW_LOG_LEVEL", "info"), envHelp("log level: debug, info, warn, error", "QESFLOW_LOG_LEVEL"))
	fs.StringVar(&f.logFormat, "log-format", envString("QESFLOW_LOG_FORMAT", "json"), envHelp("log format: json or console", "QESFLOW_LOG_FORMAT"))
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
func simEnvFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(envString(name, ""), 64); err == nil {
		return v
	}
	return def
}
