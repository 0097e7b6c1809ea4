package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/internal/gctune"
	"github.com/qesflow/qesflow/internal/httpserver"
)

const serverSummary = "run the Temporal server alone (SQLite file, in memory, or PostgreSQL) with its Web UI: a single node, one replica, no high availability"

// serverSingleNode is what --help says about where qesflow server fits.
const serverSingleNode = `Run exactly one replica per store: it is a single node (all Temporal services in one
process), and a second server on the same database fights the first over history shards.
There is no high availability: while it is down, onboardings wait (nothing is lost).
It suits development, tests and a single-host install on PostgreSQL. Other hosts reach it
only with --frontend-ip set to an address they can reach (0.0.0.0 in a container). For more,
run a Temporal cluster (the official Helm chart) or Temporal Cloud, and qesflow setup.`

// runServer runs the embedded Temporal server as a process of its own: the persistent single
// node of a scaled-out install (workers, bridges and APIs connect to it), or the Temporal of
// the docker-compose stack on PostgreSQL.
func runServer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("server", serverSummary, stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "qesflow server: %s\n\n%s\n\nFlags:\n", serverSummary, serverSingleNode)
		fs.PrintDefaults()
	}
	dataDir := envFlag(fs, "data-dir", "QESFLOW_DATA_DIR", ".qesflow/temporal", "directory of the SQLite file store (when neither --postgres-dsn nor --ephemeral)")
	ephemeral := envFlag(fs, "ephemeral", "QESFLOW_EPHEMERAL", false, "keep everything in memory")
	ip := envFlag(fs, "frontend-ip", "QESFLOW_FRONTEND_IP", "127.0.0.1", "address the frontend and the UI bind to (0.0.0.0 in a container)")
	port := envFlag(fs, "temporal-port", "QESFLOW_TEMPORAL_PORT", embedded.DefaultFrontendPort, "Temporal frontend (gRPC) port")
	uiPort := envFlag(fs, "ui-port", "QESFLOW_UI_PORT", embedded.DefaultUIPort, "Temporal Web UI port; -1 disables the UI")
	namespace := envFlag(fs, "namespace", "TEMPORAL_NAMESPACE", embedded.DefaultNamespace, "namespace registered with qesflow's search attributes")
	retention := envFlag[time.Duration](fs, "retention", "QESFLOW_RETENTION", embedded.DefaultRetention, "how long closed workflows are kept")
	shards := envFlag(fs, "num-history-shards", "QESFLOW_NUM_HISTORY_SHARDS", 0, "history shards of a new store (0: 1 for a new store, or what an existing store has); fixed once the store exists")
	codec := envFlag(fs, "ui-codec-endpoint", "QESFLOW_UI_CODEC_ENDPOINT", "", "codec endpoint the UI decrypts payloads with, as the operator's browser reaches it, e.g. https://codec.example.com/codec (qesflow codec-server with --ui-origins set to this UI)")
	healthAddr := envFlag(fs, "health-addr", "QESFLOW_SERVER_HEALTH_ADDR", "", "serve /healthz and /readyz here once the namespace and search attributes are registered (for container health checks); /readyz keeps checking the store and the frontend; empty: none")
	metricsAddr := envFlag(fs, "metrics-addr", "QESFLOW_SERVER_METRICS_ADDR", "", "serve the Temporal server's own Prometheus metrics at http://<addr>/metrics, e.g. 0.0.0.0:9091 (an admin port; empty: none)")
	pgPasswordFile := envFlag(fs, "postgres-password-file", "QESFLOW_POSTGRES_PASSWORD_FILE", "", "file holding the PostgreSQL password, used as it is (no URL escaping); replaces the DSN's password. QESFLOW_POSTGRES_PASSWORD gives it directly")
	serverLog := envFlag(fs, "server-log-level", "QESFLOW_SERVER_LOG_LEVEL", "warn", "log level of the Temporal server itself")
	tlsFlags := addFrontendTLSFlags(fs)
	logs := addLogFlags(fs)
	gogc := addGCFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	gcPercent, err := gctune.Apply(*gogc)
	if err != nil {
		return err
	}
	// The DSN holds a password: from the environment only, so it never shows in ps or --help.
	dsn := envString("QESFLOW_POSTGRES_DSN", "")
	pgPassword, err := secretValue("", "QESFLOW_POSTGRES_PASSWORD", *pgPasswordFile)
	if err != nil {
		return err
	}
	if pgPassword != "" && dsn == "" {
		return errors.New("a PostgreSQL password is set but QESFLOW_POSTGRES_DSN is not")
	}
	logger, err := logs.build()
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()

	cfg := embedded.Config{PostgresPassword: pgPassword, MetricsAddress: *metricsAddr,
		Ephemeral: *ephemeral, PostgresDSN: dsn, Namespace: *namespace, Retention: *retention,
		FrontendIP: *ip, FrontendPort: *port, UIPort: *uiPort, UICodecEndpoint: *codec,
		Logger: logger.Named("temporal"), LogLevel: *serverLog, NumHistoryShards: int32(*shards),
	}
	if err := tlsFlags.apply(&cfg, logger); err != nil {
		return err
	}
	store := "PostgreSQL"
	switch {
	case dsn != "" && *ephemeral:
		return errors.New("QESFLOW_POSTGRES_DSN and --ephemeral exclude each other")
	case *ephemeral:
		store = "memory"
	case dsn == "":
		cfg.DataDir = *dataDir
		store = "SQLite in " + *dataDir
	}
	startCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	srv, err := embedded.Start(startCtx, cfg)
	if err != nil {
		var pe *embedded.PortInUseError
		if errors.As(err, &pe) {
			flagName := map[string]string{embedded.PurposeFrontend: "--temporal-port", embedded.PurposeUI: "--ui-port"}[pe.Purpose]
			if flagName != "" {
				return fmt.Errorf("%w (choose another with %s)", err, flagName)
			}
		}
		return err
	}
	logger.Info("temporal server started", zap.String("frontend", srv.FrontendAddress()), zap.Int("gogc", gcPercent),
		zap.String("ui", srv.UIAddress()), zap.String("namespace", srv.Namespace()), zap.String("store", store))
	fmt.Fprintf(stdout, "Temporal frontend %s (namespace %s), Web UI %s, store %s\n",
		srv.FrontendAddress(), srv.Namespace(), orDisabled(srv.UIAddress()), store)
	if *healthAddr == "" {
		<-ctx.Done()
	} else {
		// Started only now: a probe that answers means the server is ready for qesflow.
		health := httpserver.New(httpserver.Options{Name: "server", Addr: *healthAddr, Logger: logger,
			Ready: srv.Ready})
		if err := health.Run(ctx); err != nil {
			_ = srv.Stop()
			return fmt.Errorf("health endpoint: %w", err)
		}
	}
	logger.Info("stopping temporal server")
	return srv.Stop()
}

func orDisabled(s string) string {
	if s == "" {
		return "(disabled)"
	}
	return s
}
