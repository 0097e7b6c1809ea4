package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/internal/gctune"
	"github.com/qesflow/qesflow/workflows"
)

// Run runs the selected sections and returns the report. It fails when a section could not
// run or lost a flow; the report then holds what was measured until then.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.DataDir == "" {
		return nil, errors.New("bench: a data directory is required")
	}
	cfg = cfg.withDefaults()
	if err := freshDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, report: &Report{CommandLine: cfg.CommandLine, Started: time.Now()}}
	defer debug.SetGCPercent(gctune.Current()) // the run leaves the target as it found it
	gcPercent, err := gctune.Apply(cfg.GCPercent)
	if err != nil {
		return nil, err
	}
	r.gcPercent = gcPercent
	r.report.Environment = append(environment(), "load average before: "+loadAverage())
	if cfg.Note != "" {
		r.report.Environment = append(r.report.Environment, "note: "+cfg.Note)
	}
	err = r.run(ctx)
	r.report.Took = time.Since(r.report.Started)
	r.report.Environment = append(r.report.Environment, "load average after: "+loadAverage())
	return r.report, err
}

type runner struct {
	cfg     Config
	report  *Report
	tuned   *stack
	product *product // on tuned
	untuned *stack
	noCache *stack // the tuned server without the statement cache
	// baseline is the product on a server of its own in the configuration of the day issue 24
	// was filed (baselineConfig); the throughput section's full path runs on it too.
	baseline *product
	// gcPercent is the garbage collector's target of the run (Config.GCPercent applied).
	gcPercent int
	// The official dev server, its store in a SQLite file and in memory (throughput section).
	peerFile, peerMemory *peer
}

func (r *runner) run(ctx context.Context) (err error) {
	defer func() {
		for _, s := range []*stack{r.untuned, r.tuned} {
			if s != nil {
				if stopErr := s.stop(); stopErr != nil {
					err = errors.Join(err, fmt.Errorf("stop stack: %w", stopErr))
				}
			}
		}
	}()
	r.progress("starting the tuned embedded server (SQLite file) and the product")
	if r.tuned, err = startStack(ctx, embedded.Config{DataDir: filepath.Join(r.cfg.DataDir, tunedDir)}, r.cfg.Logger); err != nil {
		return err
	}
	if r.product, err = r.tuned.startProduct(ctx, workflows.TaskQueue, true); err != nil {
		return err
	}
	var errs []error
	if !r.cfg.SkipThroughput {
		errs = append(errs, r.section(ctx, "Throughput: bare workflow and full path, untuned and tuned server", r.throughput))
	}
	if !r.cfg.SkipBridge {
		errs = append(errs, r.section(ctx, "Webhook bridge", r.bridge))
	}
	if !r.cfg.SkipScale {
		errs = append(errs, r.section(ctx, "Scale: parked onboardings", r.scale))
	}
	return errors.Join(errs...)
}

// section runs one section, timing it and adding it to the report even when it fails.
func (r *runner) section(ctx context.Context, title string, fn func(context.Context, *Section) error) error {
	s := &Section{Title: title}
	r.report.Sections = append(r.report.Sections, s)
	r.progress("section: %s", title)
	start := time.Now()
	err := fn(ctx, s)
	s.Took = time.Since(start)
	if err != nil {
		s.note("FAILED: %v", err)
		return fmt.Errorf("%s: %w", title, err)
	}
	return nil
}

func (r *runner) progress(format string, args ...any) {
	fmt.Fprintf(r.cfg.Progress, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// Directories of the servers inside Config.DataDir.
const (
	tunedDir   = "tuned"
	untunedDir = "untuned"
	noCacheDir = "tuned-no-statement-cache"
	// baselineDir holds the server, and the documents, of the baseline configuration's product.
	baselineDir = "baseline-configuration"
	peerDir     = "official-dev-server"
)

// freshDataDir creates dir and checks that it holds no server of an earlier run: the run
// must not mix with older data.
func freshDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	for _, sub := range []string{tunedDir, untunedDir, noCacheDir, baselineDir, peerDir} {
		if _, err := os.Stat(filepath.Join(dir, sub)); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("data directory %s holds an earlier run (%s); use an empty one", dir, sub)
		}
	}
	return nil
}

// environment describes the machine and the build.
func environment() []string {
	env := []string{
		fmt.Sprintf("CPU: %s, %d logical cores, GOMAXPROCS %d", cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0)),
		fmt.Sprintf("memory: %s", memTotal()),
		fmt.Sprintf("Go %s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH),
	}
	return env
}

func cpuModel() string {
	return procField("/proc/cpuinfo", "model name", "unknown CPU")
}

func memTotal() string {
	return procField("/proc/meminfo", "MemTotal", "unknown")
}

// procField is the value of the first "name: value" line of a /proc file.
func procField(path, name, fallback string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fallback
	}
	for line := range strings.Lines(string(raw)) {
		key, value, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(key) == name {
			return strings.TrimSpace(value)
		}
	}
	return fallback
}

// loadAverage is the 1, 5 and 15 minute load averages.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}
