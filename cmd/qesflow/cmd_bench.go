package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/qesflow/qesflow/bench"
	"github.com/qesflow/qesflow/codec"
)

const benchSummary = "measure throughput, bridge latency and memory against baselines in one run; write docs/benchmarks.md"

// benchFlags are the flags of qesflow bench.
type benchFlags struct {
	cfg        bench.Config
	out        string
	dataDir    string
	cpuProfile string
	// bareCPUProfile needs --skip-untuned: only then are two bare-flow segments adjacent.
	bareCPUProfile   string
	bridgeCPUProfile string
	logLevel         string
}

func parseBenchFlags(args []string, stderr io.Writer) (*benchFlags, error) {
	fs := newFlagSet("bench", benchSummary, stderr)
	f := &benchFlags{}
	c := &f.cfg
	envVar(fs, &c.Flows, "flows", "QESFLOW_BENCH_FLOWS", bench.DefaultFlows, "complete onboardings through the full path (as many again at GOGC 100 and in the baseline configuration, unless left out)")
	envVar(fs, &c.BaselineFlows, "baseline-flows", "QESFLOW_BENCH_BASELINE_FLOWS", bench.DefaultBaselineFlows, "bare flows (2 activities, 5 signals) on each of the tuned and the untuned server")
	envVar(fs, &c.Concurrency, "concurrency", "QESFLOW_BENCH_CONCURRENCY", bench.DefaultConcurrency, "flows, webhooks or signals in flight at once")
	envVar(fs, &c.BridgeWebhooks, "bridge-webhooks", "QESFLOW_BENCH_BRIDGE_WEBHOOKS", bench.DefaultBridgeWebhooks, "webhooks (and raw signals) of the bridge throughput test; the latency test sends 20 s worth at --bridge-rate")
	envVar(fs, &c.BridgeRate, "bridge-rate", "QESFLOW_BENCH_BRIDGE_RATE", bench.DefaultBridgeRate, "webhooks per second of the bridge latency test")
	envVar(fs, &c.BridgeWorkflows, "bridge-workflows", "QESFLOW_BENCH_BRIDGE_WORKFLOWS", bench.DefaultBridgeWorkflows, "running workflows the bridge test's webhooks go to")
	envVar(fs, &c.Parked, "parked", "QESFLOW_BENCH_PARKED", bench.DefaultParked, "onboardings parked at AWAITING_USER, then completed")
	envVar(fs, &c.CompareCache, "compare-cache", "QESFLOW_BENCH_COMPARE_CACHE", bench.DefaultCompareCache, "sticky cache size of the worker that takes over the parked onboardings and completes them (the SDK default; the parking worker has the worker's default)")
	envVar(fs, &c.SkipUntuned, "skip-untuned", "QESFLOW_BENCH_SKIP_UNTUNED", false, "skip the untuned-server baseline")
	envVar(fs, &c.SkipNoCache, "skip-no-cache", "QESFLOW_BENCH_SKIP_NO_CACHE", false, "skip the tuned server without the prepared-statement cache (the cache's before/after, bare flow)")
	envVar(fs, &c.SkipBaselineConfig, "skip-baseline-config", "QESFLOW_BENCH_SKIP_BASELINE_CONFIG", false, "skip the full path on a second product and server in the configuration of the day issue 24 was filed (no prepared-statement cache, history.externalPayloadsEnabled=true, GOGC 100), the baseline of the CPU-per-onboarding target")
	envVar(fs, &c.GCPercent, "gogc", "QESFLOW_GOGC", 0, "garbage collector target of the run, as qesflow server and dev set it (0: their default, or GOGC when set); unless it is 100, the full path also runs at GOGC 100 for comparison")
	envVar(fs, &c.SkipPeer, "skip-peer", "QESFLOW_BENCH_SKIP_PEER", false, "skip the official dev server baseline (temporal server start-dev, SQLite file and in memory)")
	envVar(fs, &c.PeerCLI, "peer-cli", "QESFLOW_BENCH_PEER_CLI", "", "the official Temporal CLI "+bench.PeerCLIVersion+" binary whose dev server is the peer (empty: where scripts/build-temporal-cli.sh puts it, "+bench.DefaultPeerCLI()+")")
	envVar(fs, &c.SkipThroughput, "skip-throughput", "QESFLOW_BENCH_SKIP_THROUGHPUT", false, "skip the throughput section (bare flows and full path)")
	envVar(fs, &c.SkipBridge, "skip-bridge", "QESFLOW_BENCH_SKIP_BRIDGE", false, "skip the webhook bridge section")
	envVar(fs, &c.SkipScale, "skip-scale", "QESFLOW_BENCH_SKIP_SCALE", false, "skip the parked-onboardings section")
	envVar(fs, &f.out, "out", "QESFLOW_BENCH_OUT", "docs/benchmarks.md", "markdown report to write (empty: standard output only)")
	envVar(fs, &f.dataDir, "data-dir", "QESFLOW_BENCH_DATA_DIR", "", "empty directory for the servers' SQLite files, worker and product logs, kept afterwards (empty: a temporary directory, removed)")
	envVar(fs, &f.cpuProfile, "cpuprofile", "QESFLOW_BENCH_CPUPROFILE", "", "write a CPU profile of the first two full-path segments to this file (go tool pprof)")
	envVar(fs, &f.bareCPUProfile, "cpuprofile-bare", "QESFLOW_BENCH_CPUPROFILE_BARE", "", "write a CPU profile of two bare-flow segments on the tuned server to this file, to compare with --cpuprofile")
	envVar(fs, &f.bridgeCPUProfile, "cpuprofile-bridge", "QESFLOW_BENCH_CPUPROFILE_BRIDGE", "", "write a CPU profile of two segments of webhooks through the bridge to this file (go tool pprof)")
	envVar(fs, &c.Note, "note", "QESFLOW_BENCH_NOTE", "", "a line for the report about the conditions of the run, e.g. what else the machine was running")
	envVar(fs, &f.logLevel, "log-level", "QESFLOW_LOG_LEVEL", "info", "level of the product's logs, written as JSON to <data-dir>/bench.log (they are part of the cost)")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if err := f.cfg.Validate(); err != nil {
		return nil, err
	}
	if f.bareCPUProfile != "" && (!f.cfg.SkipUntuned || !f.cfg.SkipNoCache || f.cfg.SkipThroughput) {
		return nil, errors.New("--cpuprofile-bare profiles two adjacent bare-flow segments of the throughput section: " +
			"use it with --skip-untuned and --skip-no-cache (their segments run between them otherwise) and without --skip-throughput")
	}
	return f, nil
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	f, err := parseBenchFlags(args, stderr)
	if err != nil {
		return err
	}
	cfg := f.cfg
	cfg.CommandLine = strings.TrimSpace("qesflow bench " + quoteArgs(args))
	cfg.DataDir = f.dataDir
	if cfg.DataDir == "" {
		if cfg.DataDir, err = os.MkdirTemp("", "qesflow-bench-"); err != nil {
			return fmt.Errorf("temporary data directory: %w", err)
		}
		defer func() {
			if err == nil { // a failed run keeps its logs
				_ = os.RemoveAll(cfg.DataDir)
			}
		}()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	logPath := filepath.Join(cfg.DataDir, "bench.log")
	logger, err := benchLogger(f.logLevel, logPath)
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()
	cfg.Logger = logger
	cfg.Progress = stderr
	if cfg.WorkerCommand, err = workerCommand(); err != nil {
		return err
	}
	for _, p := range []struct {
		path string
		dst  *io.Writer
	}{{f.cpuProfile, &cfg.CPUProfile}, {f.bareCPUProfile, &cfg.BareCPUProfile},
		{f.bridgeCPUProfile, &cfg.BridgeCPUProfile}} {
		if p.path == "" {
			continue
		}
		prof, err := os.Create(p.path)
		if err != nil {
			return fmt.Errorf("CPU profile: %w", err)
		}
		defer prof.Close()
		*p.dst = prof
	}

	report, runErr := bench.Run(ctx, cfg)
	if report == nil {
		return runErr
	}
	md := report.Markdown()
	fmt.Fprint(stdout, md)
	if runErr != nil {
		return fmt.Errorf("%w (report not written; product logs in %s)", runErr, logPath)
	}
	if f.out != "" {
		if err := os.WriteFile(f.out, []byte(md), 0o644); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		fmt.Fprintf(stderr, "report written to %s\n", f.out)
	}
	for _, row := range report.Missed() {
		fmt.Fprintf(stderr, "target missed: %s: %s %s (target %s)\n", row.Measure, row.Value, row.Ratio, row.Target)
	}
	return nil
}

// benchLogger logs the product's parts as production does (JSON at level, unsampled), to a file.
func benchLogger(level, path string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.Sampling = nil
	cfg.OutputPaths = []string{path}
	cfg.ErrorOutputPaths = []string{path}
	return cfg.Build()
}

// workerCommand runs the scale section's worker as this binary's `qesflow worker`.
func workerCommand() (func(bench.WorkerProcess) *exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the qesflow binary for the worker process: %w", err)
	}
	return func(p bench.WorkerProcess) *exec.Cmd {
		cmd := exec.Command(exe, "worker",
			"--temporal-address", p.TemporalAddress,
			"--namespace", p.Namespace,
			"--task-queue", p.TaskQueue,
			"--treezor-base-url", p.TreezorBaseURL,
			"--treezor-client-id", p.TreezorClientID,
			"--document-dir", p.DocumentDir,
			"--sticky-cache-size", strconv.Itoa(p.StickyCacheSize),
			"--metrics-addr", "",
			"--log-level", "warn")
		env := []string{"TREEZOR_CLIENT_SECRET=" + p.TreezorClientSecret}
		if p.CodecKeys != "" {
			env = append(env, codec.EnvKeys+"="+p.CodecKeys)
		}
		cmd.Env = append(withoutQESFlowEnv(os.Environ()), env...)
		return cmd
	}, nil
}

// withoutQESFlowEnv drops the variables that would configure the worker process differently
// from its flags.
func withoutQESFlowEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "QESFLOW_") || strings.HasPrefix(kv, "TREEZOR_") || strings.HasPrefix(kv, "TEMPORAL_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// quoteArgs renders args as a shell would need them.
func quoteArgs(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$`\\|&;<>()*?[]#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		quoted[i] = a
	}
	return strings.Join(quoted, " ")
}
