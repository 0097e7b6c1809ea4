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

func init() {
	register(command{name: "bench", summary: benchSummary, run: runBench})
}

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
	fs.IntVar(&c.Flows, "flows", envInt("QESFLOW_BENCH_FLOWS", bench.DefaultFlows),
		envHelp("complete onboardings through the full path", "QESFLOW_BENCH_FLOWS"))
	fs.IntVar(&c.BaselineFlows, "baseline-flows", envInt("QESFLOW_BENCH_BASELINE_FLOWS", bench.DefaultBaselineFlows),
		envHelp("bare flows (2 activities, 5 signals) on each of the tuned and the untuned server", "QESFLOW_BENCH_BASELINE_FLOWS"))
	fs.IntVar(&c.Concurrency, "concurrency", envInt("QESFLOW_BENCH_CONCURRENCY", bench.DefaultConcurrency),
		envHelp("flows, webhooks or signals in flight at once", "QESFLOW_BENCH_CONCURRENCY"))
	fs.IntVar(&c.BridgeWebhooks, "bridge-webhooks", envInt("QESFLOW_BENCH_BRIDGE_WEBHOOKS", bench.DefaultBridgeWebhooks),
		envHelp("webhooks (and raw signals) of the bridge throughput test; the latency test sends 20 s worth at --bridge-rate", "QESFLOW_BENCH_BRIDGE_WEBHOOKS"))
	fs.IntVar(&c.BridgeRate, "bridge-rate", envInt("QESFLOW_BENCH_BRIDGE_RATE", bench.DefaultBridgeRate),
		envHelp("webhooks per second of the bridge latency test", "QESFLOW_BENCH_BRIDGE_RATE"))
	fs.IntVar(&c.BridgeWorkflows, "bridge-workflows", envInt("QESFLOW_BENCH_BRIDGE_WORKFLOWS", bench.DefaultBridgeWorkflows),
		envHelp("running workflows the bridge test's webhooks go to", "QESFLOW_BENCH_BRIDGE_WORKFLOWS"))
	fs.IntVar(&c.Parked, "parked", envInt("QESFLOW_BENCH_PARKED", bench.DefaultParked),
		envHelp("onboardings parked at AWAITING_USER, then completed", "QESFLOW_BENCH_PARKED"))
	fs.IntVar(&c.CompareCache, "compare-cache", envInt("QESFLOW_BENCH_COMPARE_CACHE", bench.DefaultCompareCache),
		envHelp("sticky cache size of the worker that takes over the parked onboardings and completes them (the SDK default; the parking worker has the worker's default)", "QESFLOW_BENCH_COMPARE_CACHE"))
	fs.BoolVar(&c.SkipUntuned, "skip-untuned", envBool("QESFLOW_BENCH_SKIP_UNTUNED", false),
		envHelp("skip the untuned-server baseline", "QESFLOW_BENCH_SKIP_UNTUNED"))
	fs.BoolVar(&c.SkipNoCache, "skip-no-cache", envBool("QESFLOW_BENCH_SKIP_NO_CACHE", false),
		envHelp("skip the tuned server without the prepared-statement cache (the cache's before/after, bare flow)", "QESFLOW_BENCH_SKIP_NO_CACHE"))
	fs.IntVar(&c.GCPercent, "gogc", envInt("QESFLOW_GOGC", 0),
		envHelp("garbage collector target of the run, as qesflow server and dev set it (0: their default, or GOGC when set); unless it is 100, the full path also runs at GOGC 100 for comparison", "QESFLOW_GOGC"))
	fs.BoolVar(&c.SkipPeer, "skip-peer", envBool("QESFLOW_BENCH_SKIP_PEER", false),
		envHelp("skip the official dev server baseline (temporal server start-dev, SQLite file and in memory)", "QESFLOW_BENCH_SKIP_PEER"))
	fs.StringVar(&c.PeerCLI, "peer-cli", envString("QESFLOW_BENCH_PEER_CLI", ""),
		envHelp("the official Temporal CLI "+bench.PeerCLIVersion+" binary whose dev server is the peer (empty: where scripts/build-temporal-cli.sh puts it, "+bench.DefaultPeerCLI()+")", "QESFLOW_BENCH_PEER_CLI"))
	fs.BoolVar(&c.SkipThroughput, "skip-throughput", envBool("QESFLOW_BENCH_SKIP_THROUGHPUT", false),
		envHelp("skip the throughput section (bare flows and full path)", "QESFLOW_BENCH_SKIP_THROUGHPUT"))
	fs.BoolVar(&c.SkipBridge, "skip-bridge", envBool("QESFLOW_BENCH_SKIP_BRIDGE", false),
		envHelp("skip the webhook bridge section", "QESFLOW_BENCH_SKIP_BRIDGE"))
	fs.BoolVar(&c.SkipScale, "skip-scale", envBool("QESFLOW_BENCH_SKIP_SCALE", false),
		envHelp("skip the parked-onboardings section", "QESFLOW_BENCH_SKIP_SCALE"))
	fs.StringVar(&f.out, "out", envString("QESFLOW_BENCH_OUT", "docs/benchmarks.md"),
		envHelp("markdown report to write (empty: standard output only)", "QESFLOW_BENCH_OUT"))
	fs.StringVar(&f.dataDir, "data-dir", envString("QESFLOW_BENCH_DATA_DIR", ""),
		envHelp("empty directory for the servers' SQLite files, worker and product logs, kept afterwards (empty: a temporary directory, removed)", "QESFLOW_BENCH_DATA_DIR"))
	fs.StringVar(&f.cpuProfile, "cpuprofile", envString("QESFLOW_BENCH_CPUPROFILE", ""),
		envHelp("write a CPU profile of the first two full-path segments to this file (go tool pprof)", "QESFLOW_BENCH_CPUPROFILE"))
	fs.StringVar(&f.bareCPUProfile, "cpuprofile-bare", envString("QESFLOW_BENCH_CPUPROFILE_BARE", ""),
		envHelp("write a CPU profile of two bare-flow segments on the tuned server to this file, to compare with --cpuprofile", "QESFLOW_BENCH_CPUPROFILE_BARE"))
	fs.StringVar(&f.bridgeCPUProfile, "cpuprofile-bridge", envString("QESFLOW_BENCH_CPUPROFILE_BRIDGE", ""),
		envHelp("write a CPU profile of two segments of webhooks through the bridge to this file (go tool pprof)", "QESFLOW_BENCH_CPUPROFILE_BRIDGE"))
	fs.StringVar(&c.Note, "note", envString("QESFLOW_BENCH_NOTE", ""),
		envHelp("a line for the report about the conditions of the run, e.g. what else the machine was running", "QESFLOW_BENCH_NOTE"))
	fs.StringVar(&f.logLevel, "log-level", envString("QESFLOW_LOG_LEVEL", "info"),
		envHelp("level of the product's logs, written as JSON to <data-dir>/bench.log (they are part of the cost)", "QESFLOW_LOG_LEVEL"))
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
