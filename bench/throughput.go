package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime/pprof"
	"strconv"

	"github.com/qesflow/qesflow/embedded"
)

// Targets of the issue, as ratios measured in one run.
const (
	targetTunedOverUntuned   = 2.0
	targetFullPathOverBare   = 0.8
	targetBridgeOverRaw      = 0.9
	targetBridgeP99Millis    = 50
	targetParkedWorkerRSSMiB = 400
)

// throughputKind is what one segment drives.
type throughputKind int

const (
	bareUntuned throughputKind = iota
	bareTuned
	fullPath
)

// throughput runs bare flows on the untuned and the tuned server and onboardings through the
// whole product on the tuned one, in the palindrome order untuned, tuned, full, full, tuned,
// untuned: each pair of figures is measured symmetrically around the same midpoint in time.
func (r *runner) throughput(ctx context.Context, sec *Section) (err error) {
	cfg := r.cfg
	if !cfg.SkipUntuned {
		r.progress("starting the untuned server (go.temporal.io/server SQLite defaults)")
		untunedCfg := embedded.Config{DataDir: filepath.Join(cfg.DataDir, untunedDir), Untuned: true}
		if r.untuned, err = startStack(ctx, untunedCfg, cfg.Logger); err != nil {
			return err
		}
		defer func() {
			err = errors.Join(err, r.untuned.stop())
			r.untuned = nil
		}()
	}
	onboard := newOnboardingClient(r.product, r.product.apiURL, cfg.Concurrency)
	warm := min(cfg.Concurrency, 20)
	onboard.createUsers("flow", 0, cfg.Flows+warm)

	jobs := map[throughputKind]job{
		bareTuned: func(ctx context.Context, i int) error {
			return runBareFlow(ctx, r.tuned.client, "t-"+strconv.Itoa(i))
		},
		fullPath: func(ctx context.Context, i int) error {
			return onboard.run(ctx, userID("flow", i))
		},
	}
	if r.untuned != nil {
		jobs[bareUntuned] = func(ctx context.Context, i int) error {
			return runBareFlow(ctx, r.untuned.client, "u-"+strconv.Itoa(i))
		}
	}
	// Warm up: connections, tokens, caches. Not measured.
	for kind, fn := range jobs {
		first := map[throughputKind]int{bareTuned: cfg.BaselineFlows, bareUntuned: cfg.BaselineFlows, fullPath: cfg.Flows}[kind]
		if err := closedLoop(ctx, first, warm, cfg.Concurrency, fn).err("warm-up"); err != nil {
			return err
		}
	}

	order := []throughputKind{bareUntuned, bareTuned, fullPath, fullPath, bareTuned, bareUntuned}
	totals := map[throughputKind]runStats{}
	next := map[throughputKind]int{}
	size := map[throughputKind]int{bareUntuned: cfg.BaselineFlows, bareTuned: cfg.BaselineFlows, fullPath: cfg.Flows}
	names := map[throughputKind]string{bareUntuned: "bare flows, untuned server", bareTuned: "bare flows, tuned server", fullPath: "full-path onboardings"}
	for seg, kind := range order {
		fn, ok := jobs[kind]
		if !ok {
			continue
		}
		n := size[kind] / 2
		if next[kind] > 0 {
			n = size[kind] - next[kind]
		}
		if kind == fullPath && seg == 2 && cfg.CPUProfile != nil {
			if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
				return fmt.Errorf("start CPU profile: %w", err)
			}
		}
		r.progress("segment %d: %d %s at concurrency %d", seg+1, n, names[kind], cfg.Concurrency)
		st := closedLoop(ctx, next[kind], n, cfg.Concurrency, fn)
		if kind == fullPath && seg == 3 && cfg.CPUProfile != nil {
			pprof.StopCPUProfile()
		}
		r.progress("  %.1f/s, %s CPU each", st.PerSecond(), ms(st.CPUPer()))
		next[kind] += n
		totals[kind] = totals[kind].add(st)
		if err := st.err(names[kind]); err != nil {
			return err
		}
	}

	untuned, tuned, full := totals[bareUntuned], totals[bareTuned], totals[fullPath]
	if r.untuned != nil {
		sec.add(Row{Measure: "bare flow, untuned go.temporal.io/server SQLite file defaults", Value: rate(untuned, "flows"),
			Latency: latency(untuned), CPU: cpuEach(untuned)})
	}
	sec.add(Row{Measure: "bare flow, tuned embedded server (SQLite file)", Value: rate(tuned, "flows"),
		Latency: latency(tuned), CPU: cpuEach(tuned)})
	sec.add(Row{Measure: "full-path onboarding, tuned embedded server", Value: rate(full, "onboardings"),
		Latency: latency(full), CPU: cpuEach(full)})
	if r.untuned != nil {
		sec.add(ratioRow("tuned ÷ untuned server (bare flow)", tuned.PerSecond(), untuned.PerSecond(), targetTunedOverUntuned))
	}
	sec.add(ratioRow("full path ÷ bare flow (tuned server)", full.PerSecond(), tuned.PerSecond(), targetFullPathOverBare))
	sec.add(Row{Measure: "CPU per flow, bare ÷ full path (tuned server)",
		Ratio: fmt.Sprintf("%.2f×", float64(tuned.CPUPer())/float64(max(full.CPUPer(), 1)))})
	sec.note("concurrency %d; %d bare flows per server and %d onboardings, each in two segments "+
		"(order: untuned, tuned, full, full, tuned, untuned), after %d unmeasured warm-up flows each",
		cfg.Concurrency, cfg.BaselineFlows, cfg.Flows, warm)
	sec.note("a bare flow: Update-With-Start waiting for the first activity, 4 signals, the second activity, " +
		"1 more signal sent once it returned; an onboarding: POST /v1/onboardings, the user succeeds at the " +
		"simulator, which sends qes.created, qes.processing, qes.finalized, document.create, then " +
		"user.kycreview (validated) once the workflow requested the review")
	sec.note("latency: from the first call of a flow to its workflow's result; CPU each: user and system " +
		"time of this process (server, product, driver) divided by the flows of the segments")
	return nil
}
