package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/codec"
	"github.com/qesflow/qesflow/internal/temporalclient"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/worker"
)

// testWorkerEnv, when set, makes the test binary the worker process of the scale section:
// its value is the WorkerProcess, as JSON.
const testWorkerEnv = "QESFLOW_BENCH_TEST_WORKER"

func TestMain(m *testing.M) {
	// The worker first: a worker process started by a test that set testDevServerEnv
	// inherits it too.
	if spec := os.Getenv(testWorkerEnv); spec != "" {
		if err := runTestWorker(spec); err != nil {
			fmt.Fprintln(os.Stderr, "test worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(testDevServerEnv) != "" {
		if err := runTestDevServer(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "test dev server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testWorkerCommand re-runs the test binary as a worker process.
func testWorkerCommand(p WorkerProcess) *exec.Cmd {
	spec, _ := json.Marshal(p)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), testWorkerEnv+"="+string(spec))
	return cmd
}

// runTestWorker is what `qesflow worker` does with the same settings, until SIGTERM.
func runTestWorker(spec string) error {
	var p WorkerProcess
	if err := json.Unmarshal([]byte(spec), &p); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	opts := temporalclient.Options{Address: p.TemporalAddress, Namespace: p.Namespace}
	if p.CodecKeys != "" {
		keys, err := codec.ParseKeyring(p.CodecKeys)
		if err != nil {
			return err
		}
		opts.DataConverter = codec.DataConverter(keys)
	}
	c, err := temporalclient.Dial(ctx, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	tz, err := treezor.NewClient(treezor.Config{
		BaseURL: p.TreezorBaseURL, ClientID: p.TreezorClientID, ClientSecret: p.TreezorClientSecret,
		Scopes: treezor.DefaultScopes,
	})
	if err != nil {
		return err
	}
	w, err := worker.New(c, worker.Options{
		TaskQueue: p.TaskQueue, Treezor: tz, DocumentDir: p.DocumentDir, StickyCacheSize: p.StickyCacheSize,
	})
	if err != nil {
		return err
	}
	interrupt := make(chan any)
	go func() {
		<-ctx.Done()
		close(interrupt)
	}()
	return w.Run(interrupt)
}

// The measures every report has when no section is skipped.
var wantMeasures = []string{
	"bare flow, untuned go.temporal.io/server SQLite file defaults",
	"bare flow, tuned embedded server (SQLite file)",
	"full-path onboarding, tuned embedded server",
	"tuned ÷ untuned server (bare flow)",
	"full path ÷ bare flow (tuned server)",
	"CPU per flow, bare ÷ full path (tuned server)",
	"bare flow, official dev server " + PeerCLIVersion + " (SQLite file)",
	"bare flow, official dev server " + PeerCLIVersion + " (in memory)",
	"tuned embedded ÷ official dev server (file), bare flow",
	"tuned embedded ÷ official dev server (memory), bare flow",
	"full path ÷ official dev server (file) bare flow",
	"bare flow, tuned server without the statement cache",
	"statement cache: bare flow rate, with ÷ without",
	"statement cache: CPU per bare flow, without ÷ with",
	"full-path onboarding at GOGC 100 (Go's default)",
	"GOGC 300: full-path rate, ÷ GOGC 100",
	"GOGC 300: CPU per onboarding, GOGC 100 ÷ GOGC 300",
	baselineMeasure,
	"full-path rate, now ÷ baseline configuration",
	"CPU per onboarding, baseline configuration ÷ now",
	"raw SignalWorkflow calls",
	"verified webhooks through the bridge",
	"bridge ÷ raw SignalWorkflow",
	"bridge latency, request to 2xx, at 40 webhooks/s",
	"raw SignalWorkflow latency at 40 signals/s",
	"park 12 onboardings (POST /v1/onboardings → AWAITING_USER)",
	"worker RSS, 12 parked at AWAITING_USER, default sticky cache (2000)",
	"whole process RSS, 12 parked (server, API, bridge, simulator, driver)",
	"put 12 identifications under review (2 webhooks each, accepted by the bridge)",
	"worker RSS, 12 parked at PROVIDER_REVIEW, sticky cache 4",
	"complete 12 parked onboardings by webhooks",
	"whole process peak RSS over the run",
	"completed validated / lost",
}

// TestRunTinyReportsEveryFigure runs every section at a tiny size, with the scale section's
// worker in a process of its own and the peer segments against the test dev server, and
// checks that the report has every figure and ratio. It asserts nothing about speed.
func TestRunTinyReportsEveryFigure(t *testing.T) {
	t.Setenv(testDevServerEnv, "1")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var fullProfile, bridgeProfile bytes.Buffer
	report, err := Run(ctx, Config{
		Flows: 4, BaselineFlows: 4, Concurrency: 4,
		BridgeWebhooks: 20, BridgeRate: 40, BridgeWorkflows: 3,
		Parked: 12, CompareCache: 4,
		GCPercent:        300,
		DataDir:          t.TempDir(),
		WorkerCommand:    testWorkerCommand,
		CommandLine:      "qesflow bench --tiny",
		PeerCLI:          os.Args[0],
		CPUProfile:       &fullProfile,
		BridgeCPUProfile: &bridgeProfile,
	})
	require.NoError(t, err)
	for name, p := range map[string]*bytes.Buffer{"full path": &fullProfile, "bridge": &bridgeProfile} {
		require.True(t, bytes.HasPrefix(p.Bytes(), []byte{0x1f, 0x8b}), "%s: a gzipped pprof profile, got %d bytes", name, p.Len())
	}

	figure := regexp.MustCompile(`^\d+\.\d (flows|onboardings|signals|webhooks)/s( in \d+s)?$|^\d+ MB$|^\d+ / 0$`)
	ratio := regexp.MustCompile(`^\d+\.\d{2,3}×$`)
	md := report.Markdown()
	for _, m := range wantMeasures {
		row, ok := report.Row(m)
		require.True(t, ok, "report has no row %q:\n%s", m, md)
		require.Contains(t, md, "| "+m+" |")
		if row.Ratio != "" {
			require.Regexp(t, ratio, row.Ratio, m)
			require.NotRegexp(t, `^0\.0+×$`, row.Ratio, m)
			if row.Target != "" {
				require.Contains(t, []string{"yes", "no"}, row.Met, m)
			}
			continue
		}
		require.Regexp(t, figure, row.Value, m)
	}
	row, _ := report.Row("completed validated / lost")
	require.Equal(t, "12 / 0", row.Value)
	require.Equal(t, "yes", row.Met)
	require.Contains(t, md, "qesflow bench --tiny")
	require.Contains(t, md, "GOGC): 300 in every segment")
	// The baseline configuration's segments ran (a kind without flows has no CPU each) and
	// its target row has a verdict.
	row, _ = report.Row(baselineMeasure)
	require.NotRegexp(t, `^0\.0 `, row.Value)
	require.NotEqual(t, "0 µs", row.CPU)
	row, _ = report.Row("CPU per onboarding, baseline configuration ÷ now")
	require.Equal(t, "≥ 1.5×", row.Target)
	require.Contains(t, md, "full GOGC 100, full baseline configuration, full, full, full baseline configuration, full GOGC 100")
	require.Contains(t, md, "history.externalPayloadsEnabled=true (the server's default), GOGC 100, and the worker at workflow release 2")
	require.Len(t, report.Sections, 3)
	for _, s := range report.Sections {
		require.Positive(t, s.Took, s.Title)
		require.NotContains(t, strings.Join(s.Notes, "\n"), "FAILED")
	}
}

// TestSegmentOrderIsAPalindrome: every kind is measured symmetrically around the midpoint of
// a round, so a drift of the machine's speed biases no ratio.
func TestSegmentOrderIsAPalindrome(t *testing.T) {
	seen := map[flowKind]int{}
	for i, k := range segmentOrder {
		require.Equal(t, k, segmentOrder[len(segmentOrder)-1-i], "position %d", i)
		seen[k]++
	}
	for _, k := range []flowKind{bareUntuned, bareTuned, fullPath, peerFile, peerMemory, bareNoCache, fullPathGoGC, fullPathBaseline} {
		require.Equal(t, 2, seen[k], "%s runs twice per round", k)
	}
}
