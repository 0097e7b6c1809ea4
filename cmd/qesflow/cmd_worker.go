package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdkworker "go.temporal.io/sdk/worker"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/qesflow/qesflow/activities"
	"github.com/qesflow/qesflow/internal/assembly"
	"github.com/qesflow/qesflow/internal/httpserver"
	"github.com/qesflow/qesflow/starter"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/worker"
	"github.com/qesflow/qesflow/workflows"
)

const workerSummary = "run the Temporal worker of the QES onboarding workflow"

// workerFlags are the flags of qesflow worker.
type workerFlags struct {
	treezorBaseURL, treezorClientID  string
	treezorAllowHTTP                 bool
	treezorSecret, treezorSecretFile string
	treezorScopes                    string
	treezorTimeout                   time.Duration
	treezorTLS                       treezor.TLSFiles
	documentDir                      string
	taskQueue                        string
	workflowPollers, activityPollers int
	workflowSlots, activitySlots     int
	stickyCacheSize                  int
	workflowRelease                  int
	stopTimeout                      time.Duration
	metricsAddr                      string
	events                           *eventFlags
	clientFlags
}

func parseWorkerFlags(args []string, stderr io.Writer) (*workerFlags, error) {
	fs := newFlagSet("worker", workerSummary, stderr)
	f := &workerFlags{}
	envVar(fs, &f.treezorAllowHTTP, "treezor-allow-http", "TREEZOR_ALLOW_HTTP", false, "accept an http:// Treezor base URL on another host (the simulator of the compose demo profile); the OAuth client secret and PII then cross the network in clear")
	envVar(fs, &f.treezorBaseURL, "treezor-base-url", "TREEZOR_BASE_URL", "", "Treezor API base URL, e.g. https://<tenant>.sandbox.treezor.co (required)")
	envVar(fs, &f.treezorClientID, "treezor-client-id", "TREEZOR_CLIENT_ID", "", "Treezor OAuth client id (required)")
	unsetEnvVar(fs, &f.treezorSecret, "treezor-client-secret", "TREEZOR_CLIENT_SECRET", "Treezor OAuth client secret; prefer the environment or a file")
	envVar(fs, &f.treezorSecretFile, "treezor-client-secret-file", "TREEZOR_CLIENT_SECRET_FILE", "", "file holding the Treezor OAuth client secret")
	envVar(fs, &f.treezorScopes, "treezor-scopes", "TREEZOR_SCOPES", strings.Join(treezor.DefaultScopes, " "), "OAuth scopes, comma- or space-separated (GET needs read_only, PUT/POST read_write)")
	addTreezorTLSFlags(fs, &f.treezorTLS)
	envVar(fs, &f.treezorTimeout, "treezor-timeout", "TREEZOR_TIMEOUT", treezor.DefaultTimeout, "timeout of one Treezor API call")
	envVar(fs, &f.documentDir, "document-dir", "QESFLOW_DOCUMENT_DIR", "./.qesflow/documents", "directory the signed QES documents are downloaded to")
	addTaskQueueFlag(fs, &f.taskQueue, "task queue of the onboarding workflow and activities")
	envVar(fs, &f.workflowPollers, "workflow-task-pollers", "QESFLOW_WORKFLOW_TASK_POLLERS", 0, "most workflow task pollers; they scale with the load and always keep one on the task queue (0: "+strconv.Itoa(worker.DefaultWorkflowTaskPollers)+"; more take tasks sooner but batch fewer signals per task)")
	envVar(fs, &f.activityPollers, "activity-task-pollers", "QESFLOW_ACTIVITY_TASK_POLLERS", 0, "concurrent activity task pollers (0: SDK default)")
	envVar(fs, &f.workflowSlots, "max-concurrent-workflow-tasks", "QESFLOW_MAX_CONCURRENT_WORKFLOW_TASKS", 0, "workflow tasks executed at once (0: SDK default)")
	envVar(fs, &f.activitySlots, "max-concurrent-activities", "QESFLOW_MAX_CONCURRENT_ACTIVITIES", 0, "activities executed at once (0: SDK default)")
	envVar(fs, &f.stickyCacheSize, "sticky-cache-size", "QESFLOW_STICKY_CACHE_SIZE", 0, "workflows kept in the process-wide sticky cache (0: "+strconv.Itoa(worker.DefaultStickyCacheSize)+", sized for onboardings that wait for days; the SDK default is 10000)")
	envVar(fs, &f.workflowRelease, "workflow-release", "QESFLOW_WORKFLOW_RELEASE", 0, "release of the workflow's changes the onboardings this worker starts record (1 to "+strconv.Itoa(workflows.LatestRelease)+"; 0: the newest, "+strconv.Itoa(workflows.LatestRelease)+"): during a rolling upgrade, run the new workers at the old release until no old worker is left (docs/workflow.md)")
	envVar(fs, &f.stopTimeout, "stop-timeout", "QESFLOW_WORKER_STOP_TIMEOUT", worker.DefaultStopTimeout, "time running activities get to finish on shutdown")
	envVar(fs, &f.metricsAddr, "metrics-addr", "QESFLOW_WORKER_METRICS_ADDR", "127.0.0.1:9090", "listen address of /healthz, /readyz and /metrics (empty: none)")
	f.events = addEventFlags(fs)
	f.clientFlags = addClientFlags(fs)
	if err := f.parse(fs, args); err != nil {
		return nil, err
	}
	return f, f.validate()
}

func (f *workerFlags) validate() error {
	var errs []error
	for _, n := range []struct {
		name  string
		value int
	}{
		{"--workflow-task-pollers", f.workflowPollers}, {"--activity-task-pollers", f.activityPollers},
		{"--max-concurrent-workflow-tasks", f.workflowSlots}, {"--max-concurrent-activities", f.activitySlots},
		{"--sticky-cache-size", f.stickyCacheSize},
	} {
		if n.value < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %d", n.name, n.value))
		}
	}
	if _, err := workflows.ReleasePreference(f.workflowRelease); err != nil {
		errs = append(errs, fmt.Errorf("--workflow-release (QESFLOW_WORKFLOW_RELEASE): %w", err))
	}
	if f.treezorBaseURL == "" {
		errs = append(errs, errors.New("--treezor-base-url (TREEZOR_BASE_URL) is required"))
	} else if err := requireHTTPS(f.treezorBaseURL, f.treezorAllowHTTP); err != nil {
		errs = append(errs, err)
	}
	if f.treezorClientID == "" {
		errs = append(errs, errors.New("--treezor-client-id (TREEZOR_CLIENT_ID) is required"))
	}
	if err := checkTreezorTLS(f.treezorTLS); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// treezorClient builds the Treezor API client from the flags. certs is nil without a
// client certificate; observe receives every call's outcome (may be nil).
func (f *workerFlags) treezorClient(observe func(string, error)) (tz *treezor.Client, certs *treezor.CertReloader, err error) {
	secret, err := secretValue(f.treezorSecret, "TREEZOR_CLIENT_SECRET", f.treezorSecretFile)
	if err != nil {
		return nil, nil, err
	}
	if secret == "" {
		return nil, nil, errors.New("the Treezor client secret is required (TREEZOR_CLIENT_SECRET or --treezor-client-secret-file)")
	}
	if starter.IsKnownWeakSecret(secret) {
		return nil, nil, errors.New("the Treezor client secret is a documented placeholder (.env.example): set the one Treezor issued")
	}
	if f.treezorTLS.Enabled() {
		if certs, err = treezor.NewCertReloader(f.treezorTLS); err != nil {
			return nil, nil, err
		}
	}
	tz, err = treezor.NewClient(treezor.Config{
		BaseURL:      f.treezorBaseURL,
		ClientID:     f.treezorClientID,
		ClientSecret: secret,
		Scopes:       strings.FieldsFunc(f.treezorScopes, func(r rune) bool { return r == ',' || r == ' ' }),
		Timeout:      f.treezorTimeout,
		Observe:      observe,
		ClientCert:   certs,
	})
	return tz, certs, err
}

// certWatchInterval is how often the Treezor client certificate files are checked for a
// renewal (a SIGHUP reloads them at once).
const certWatchInterval = time.Minute

// watchTreezorCert reloads the client certificate when its files change or on SIGHUP,
// until ctx is done.
func watchTreezorCert(ctx context.Context, certs *treezor.CertReloader, logger *zap.Logger) {
	go certs.Watch(ctx, certWatchInterval, func(err error) {
		if err != nil {
			logger.Error("renewed Treezor client certificate or CA bundle not loaded; the previous ones stay in use", zap.Error(err))
			return
		}
		logger.Info("Treezor client certificate and CA bundle reloaded", zap.Time("notAfter", certs.NotAfter()))
	})
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := certs.Reload(); err != nil {
				logger.Error("Treezor client certificate not reloaded; the previous one stays in use", zap.Error(err))
				continue
			}
			logger.Info("Treezor client certificate reloaded", zap.Time("notAfter", certs.NotAfter()))
		}
	}
}

func runWorker(ctx context.Context, args []string, _, stderr io.Writer) error {
	f, err := parseWorkerFlags(args, stderr)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	health := worker.NewTreezorHealth(reg)
	tz, certs, err := f.treezorClient(health.Observe)
	if err != nil {
		return err
	}
	parts, err := f.connect(ctx, connection{registry: reg})
	if err != nil {
		return err
	}
	defer parts.Close()
	logger := parts.Logger
	var events activities.EventSender
	if sender, err := f.events.sender(reg); err != nil {
		return err
	} else if sender != nil {
		events = sender // a nil *Sender must not become a non-nil interface
		logger.Info("outbound events enabled", zap.Strings("endpoints", sender.Endpoints()))
	}
	w, err := parts.Worker(worker.Options{
		TaskQueue:                              f.taskQueue,
		MaxConcurrentWorkflowTaskPollers:       f.workflowPollers,
		MaxConcurrentActivityTaskPollers:       f.activityPollers,
		MaxConcurrentWorkflowTaskExecutionSize: f.workflowSlots,
		MaxConcurrentActivityExecutionSize:     f.activitySlots,
		StickyCacheSize:                        f.stickyCacheSize,
		StopTimeout:                            f.stopTimeout,
		WorkflowRelease:                        f.workflowRelease,
		Treezor:                                tz,
		DocumentDir:                            f.documentDir,
		Events:                                 events,
	})
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	if f.metricsAddr != "" {
		srv := parts.HTTPServer(httpserver.Options{
			Name:  "worker",
			Addr:  f.metricsAddr,
			Ready: assembly.AllReady(parts.NamespaceReady(), health.Ready),
		})
		if err := srv.Listen(); err != nil {
			return err
		}
		g.Go(func() error { return srv.Serve(gctx) })
	}
	if certs != nil {
		logger.Info("Treezor mutual TLS enabled", zap.Time("notAfter", certs.NotAfter()))
		g.Go(func() error { watchTreezorCert(gctx, certs, logger); return nil })
	}
	g.Go(func() error { return runUntilDone(gctx, w, logger) })
	return g.Wait()
}

// runUntilDone runs w until ctx is done (then stops it gracefully) or a fatal worker error.
func runUntilDone(ctx context.Context, w sdkworker.Worker, logger *zap.Logger) error {
	interrupt := make(chan any)
	go func() {
		<-ctx.Done()
		close(interrupt)
	}()
	logger.Info("worker started")
	if err := w.Run(interrupt); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	logger.Info("worker stopped")
	return nil
}
