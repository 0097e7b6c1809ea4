package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/workflows"
)

// Targets of the issue, as ratios measured in one run.
const (
	targetTunedOverUntuned   = 2.0
	targetFullPathOverBare   = 0.9
	targetBridgeOverRaw      = 0.9
	targetBridgeP99Millis    = 50
	targetParkedWorkerRSSMiB = 400
	// Against the official dev server (the peer): the tuned bare flow on a file and in
	// memory, and the full path against the peer's bare flow on a file.
	targetTunedOverPeerFile   = 3.0
	targetTunedOverPeerMemory = 1.2
	targetFullOverPeerFile    = 5.0
	// CPU per onboarding "falls by at least a third" against the configuration of the day the
	// issue was filed: that configuration spends at least 1.5× what today's does.
	targetBaselineOverNowCPU = 1.5
)

// warmUpFlows is the number of unmeasured flows of each kind before the segments.
const warmUpFlows = 20

// flowKind is what one segment of the throughput section drives.
type flowKind int

const (
	bareUntuned flowKind = iota
	bareTuned
	fullPath
	peerFile
	peerMemory
	// bareNoCache: the tuned server without the prepared-statement cache, for the cache's
	// before/after.
	bareNoCache
	// fullPathGoGC: the full path with the garbage collector at Go's default target (100),
	// for the --gogc setting's before/after.
	fullPathGoGC
	// fullPathBaseline: the full path on a product and server of its own in the configuration
	// of the day issue 24 was filed (baselineConfig), at GOGC 100, for the CPU target.
	fullPathBaseline
)

func (k flowKind) String() string {
	return [...]string{"bare flows, untuned server", "bare flows, tuned server", "full-path onboardings",
		"bare flows, official dev server (SQLite file)", "bare flows, official dev server (in memory)",
		"bare flows, tuned server without the statement cache", "full-path onboardings at GOGC 100",
		"full-path onboardings, baseline configuration"}[k]
}

// shortName names k in the report's note on the segment order.
func (k flowKind) shortName() string {
	return [...]string{"untuned", "tuned", "full", "official file", "official memory", "no cache",
		"full GOGC 100", "full baseline configuration"}[k]
}

// goDefaultGCPercent is the garbage collector's target without GOGC.
const goDefaultGCPercent = 100

// segmentOrder is a palindrome: every pair of kinds is measured symmetrically around the same
// midpoint in time, so a machine that speeds up or slows down during the run biases no ratio.
// It runs throughputRounds times: on a shared machine, whose speed also wanders back and
// forth, more and shorter alternations average that out better than one long pair.
// The baseline configuration's full path runs next to today's, whose CPU it is compared with.
var segmentOrder = []flowKind{bareUntuned, bareNoCache, peerFile, peerMemory, bareTuned, fullPathGoGC,
	fullPathBaseline, fullPath, fullPath, fullPathBaseline,
	fullPathGoGC, bareTuned, peerMemory, peerFile, bareNoCache, bareUntuned}

// throughputRounds is how many times segmentOrder runs; each kind's flows are split evenly
// over its 2 × throughputRounds segments.
const throughputRounds = 3

// segmentsPerKind is the number of segments of each kind.
const segmentsPerKind = 2 * throughputRounds

// flowDriver runs the flows of one kind: job i is flow i; n flows split over its segments.
type flowDriver struct {
	run  job
	n    int
	next int // the first flow of the next segment
	segs int // segments run so far
	// completed counts the flows that visibility shows completed, of this kind and of the
	// kinds that share its counter (the same workflow type on the same server); started
	// counts the flows those kinds started, warm-ups included.
	completed func(ctx context.Context) (int, error)
	started   *int
	// otherCPU, when set, is the CPU used so far by a process other than this one that
	// serves these flows (the official dev server); a segment counts its increase too.
	otherCPU func() time.Duration
}

// settle waits until visibility shows want flows of d's kind completed: the server writes
// visibility records after the fact, and that work belongs to the segment whose flows caused
// it, not to the next one.
func (d *flowDriver) settle(ctx context.Context, want int) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	last := 0
	err := waitFor(ctx, 20*time.Millisecond, func() (bool, error) {
		n, err := d.completed(ctx)
		last = n
		return err == nil && n >= want, nil
	})
	if err != nil {
		return fmt.Errorf("visibility shows %d of %d flows completed: %w", last, want, err)
	}
	return nil
}

// completedCounter counts the completed workflows of one type on the server c talks to.
func completedCounter(c client.Client, workflowType string) func(ctx context.Context) (int, error) {
	query := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Completed'", workflowType)
	return func(ctx context.Context) (int, error) { return countWorkflows(ctx, c, query) }
}

// throughput runs bare flows on the untuned and the tuned server and onboardings through the
// whole product on the tuned one, in segmentOrder, and compares their rates.
func (r *runner) throughput(ctx context.Context, sec *Section) (err error) {
	if !r.cfg.SkipUntuned {
		r.progress("starting the untuned server (go.temporal.io/server SQLite defaults)")
		untunedCfg := untunedConfig(filepath.Join(r.cfg.DataDir, untunedDir))
		if r.untuned, err = startStack(ctx, untunedCfg, r.cfg.Logger); err != nil {
			return err
		}
		defer func() {
			err = errors.Join(err, r.untuned.stop())
			r.untuned = nil
		}()
	}
	if !r.cfg.SkipNoCache {
		r.progress("starting the tuned server without the statement cache")
		noCacheCfg := embedded.Config{DataDir: filepath.Join(r.cfg.DataDir, noCacheDir), NoStatementCache: true}
		if r.noCache, err = startStack(ctx, noCacheCfg, r.cfg.Logger); err != nil {
			return err
		}
		defer func() {
			err = errors.Join(err, r.noCache.stop())
			r.noCache = nil
		}()
	}
	if !r.cfg.SkipBaselineConfig {
		r.progress("starting the product on a server in the baseline configuration (no statement cache, external payloads on, workflow release %d)", baselineWorkflowRelease)
		if r.baseline, err = r.startBaseline(ctx); err != nil {
			return err
		}
		defer func() {
			err = errors.Join(err, r.baseline.s.stop())
			r.baseline = nil
		}()
	}
	if !r.cfg.SkipPeer {
		if err := r.startPeers(ctx); err != nil {
			return err
		}
		defer func() {
			for _, p := range []*peer{r.peerFile, r.peerMemory} {
				if p != nil {
					err = errors.Join(err, p.stop())
				}
			}
			r.peerFile, r.peerMemory = nil, nil
		}()
	}
	drivers := r.flowDrivers()
	for kind, d := range drivers {
		r.setGCPercent(kind)
		// Connections, tokens, caches: not measured. Flows n… are not used by the segments.
		if err := closedLoop(ctx, d.n, warmUpFlows, r.cfg.Concurrency, d.run).err("warm-up"); err != nil {
			return err
		}
		*d.started += warmUpFlows
		if err := d.settle(ctx, *d.started); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	totals, err := r.runSegments(ctx, drivers)
	if err != nil {
		return err
	}
	r.addThroughputRows(sec, totals)
	return nil
}

// startBaseline starts a second product, assembled as the first (startProduct), on a server
// of its own in baselineConfig.
func (r *runner) startBaseline(ctx context.Context) (*product, error) {
	s, err := startStack(ctx, baselineConfig(filepath.Join(r.cfg.DataDir, baselineDir)), r.cfg.Logger.Named("baseline"))
	if err != nil {
		return nil, err
	}
	s.workflowRelease = baselineWorkflowRelease
	p, err := s.startProduct(ctx, workflows.TaskQueue, true)
	if err != nil {
		return nil, errors.Join(err, s.stop())
	}
	return p, nil
}

// flowDrivers are the drivers of every kind this run measures.
func (r *runner) flowDrivers() map[flowKind]*flowDriver {
	onboard := newOnboardingClient(r.product, r.product.apiURL, r.cfg.Concurrency)
	onboard.createUsers("flow", 0, 2*(r.cfg.Flows+warmUpFlows))
	drivers := map[flowKind]*flowDriver{
		bareTuned: {n: r.cfg.BaselineFlows, run: func(ctx context.Context, i int) error {
			return runBareFlow(ctx, r.tuned.client, "t-"+strconv.Itoa(i))
		}, completed: completedCounter(r.tuned.client, BareWorkflowName)},
		fullPath: {n: r.cfg.Flows, run: func(ctx context.Context, i int) error {
			return onboard.run(ctx, userID("flow", i))
		}, completed: completedCounter(r.product.client, workflows.WorkflowName), started: new(int)},
	}
	if r.untuned != nil {
		drivers[bareUntuned] = &flowDriver{n: r.cfg.BaselineFlows, run: func(ctx context.Context, i int) error {
			return runBareFlow(ctx, r.untuned.client, "u-"+strconv.Itoa(i))
		}, completed: completedCounter(r.untuned.client, BareWorkflowName)}
	}
	if r.noCache != nil {
		drivers[bareNoCache] = &flowDriver{n: r.cfg.BaselineFlows, run: func(ctx context.Context, i int) error {
			return runBareFlow(ctx, r.noCache.client, "n-"+strconv.Itoa(i))
		}, completed: completedCounter(r.noCache.client, BareWorkflowName)}
	}
	if r.gcPercent != goDefaultGCPercent {
		// The same product and server as fullPath, other users; the two share fullPath's counter.
		full := drivers[fullPath]
		drivers[fullPathGoGC] = &flowDriver{n: r.cfg.Flows, run: func(ctx context.Context, i int) error {
			return onboard.run(ctx, userID("flow", r.cfg.Flows+warmUpFlows+i))
		}, completed: full.completed, started: full.started}
	}
	if r.baseline != nil {
		// Its own product, simulator and users; the same onboarding as fullPath's.
		base := newOnboardingClient(r.baseline, r.baseline.apiURL, r.cfg.Concurrency)
		base.createUsers("baseline", 0, r.cfg.Flows+warmUpFlows)
		drivers[fullPathBaseline] = &flowDriver{n: r.cfg.Flows, run: func(ctx context.Context, i int) error {
			return base.run(ctx, userID("baseline", i))
		}, completed: completedCounter(r.baseline.client, workflows.WorkflowName)}
	}
	for kind, p := range map[flowKind]*peer{peerFile: r.peerFile, peerMemory: r.peerMemory} {
		if p == nil {
			continue
		}
		prefix := map[flowKind]string{peerFile: "pf-", peerMemory: "pm-"}[kind]
		drivers[kind] = &flowDriver{n: r.cfg.BaselineFlows, run: func(ctx context.Context, i int) error {
			return runBareFlow(ctx, p.client, prefix+strconv.Itoa(i))
		}, completed: completedCounter(p.client, BareWorkflowName), otherCPU: p.cpu}
	}
	for _, d := range drivers {
		if d.started == nil {
			d.started = new(int)
		}
	}
	return drivers
}

// runSegments runs segmentOrder throughputRounds times, each kind's flows split evenly over
// its segments, with the CPU profile (if any) around the two full-path segments of the first
// round (they are adjacent).
func (r *runner) runSegments(ctx context.Context, drivers map[flowKind]*flowDriver) (map[flowKind]runStats, error) {
	totals := map[flowKind]runStats{}
	seg := 0
	for range throughputRounds {
		for _, kind := range segmentOrder {
			d, ok := drivers[kind]
			if !ok {
				continue
			}
			seg++
			st, err := r.runSegment(ctx, seg, kind, d)
			totals[kind] = totals[kind].add(st)
			if err != nil {
				return nil, err
			}
		}
	}
	return totals, nil
}

// runSegment runs d's next segment, the seg-th of the run, and waits for it to settle.
func (r *runner) runSegment(ctx context.Context, seg int, kind flowKind, d *flowDriver) (runStats, error) {
	d.segs++
	n := d.n*d.segs/segmentsPerKind - d.next
	r.setGCPercent(kind)
	profile, firstProfiled := r.profileOf(kind)
	if profile != nil && d.segs == firstProfiled {
		if err := pprof.StartCPUProfile(profile); err != nil {
			return runStats{}, fmt.Errorf("start CPU profile: %w", err)
		}
	}
	r.progress("segment %d: %d %s at concurrency %d", seg, n, kind, r.cfg.Concurrency)
	var otherStart time.Duration
	if d.otherCPU != nil {
		otherStart = d.otherCPU()
	}
	st := closedLoop(ctx, d.next, n, r.cfg.Concurrency, d.run)
	d.next += n
	*d.started += n
	var settled time.Duration
	if st.Failed == 0 {
		settleStart, settleCPU := time.Now(), processCPU()
		if err := d.settle(ctx, *d.started); err != nil {
			return st, fmt.Errorf("%s: %w", kind, err)
		}
		settled = time.Since(settleStart)
		st.Elapsed += settled
		st.CPU += processCPU() - settleCPU
	}
	if d.otherCPU != nil {
		st.CPU += d.otherCPU() - otherStart
	}
	if profile != nil && d.segs == firstProfiled+1 {
		pprof.StopCPUProfile()
	}
	r.progress("  %.1f/s, %s CPU each (%s of it waiting for visibility to show them completed)",
		st.PerSecond(), ms(st.CPUPer()), settled.Round(time.Millisecond))
	return st, st.err(kind.String())
}

// setGCPercent sets the garbage collector's target for a segment of kind: Go's default for
// fullPathGoGC and fullPathBaseline, the run's for every other kind.
func (r *runner) setGCPercent(kind flowKind) {
	if kind == fullPathGoGC || kind == fullPathBaseline {
		debug.SetGCPercent(goDefaultGCPercent)
		return
	}
	debug.SetGCPercent(r.gcPercent)
}

// profileOf is where the CPU profile of kind's segments goes (nil: none) and the first of
// its two adjacent profiled segments: the first two full-path segments, the second and third
// of the bare flow on the tuned server.
func (r *runner) profileOf(kind flowKind) (io.Writer, int) {
	switch {
	case kind == fullPath && r.cfg.CPUProfile != nil:
		return r.cfg.CPUProfile, 1
	case kind == bareTuned && r.cfg.BareCPUProfile != nil:
		return r.cfg.BareCPUProfile, 2
	}
	return nil, 0
}

func (r *runner) addThroughputRows(sec *Section, totals map[flowKind]runStats) {
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
	r.addBeforeAfterRows(sec, totals)
	r.addBaselineRows(sec, totals)
	names := make([]string, len(segmentOrder))
	for i, k := range segmentOrder {
		names[i] = k.shortName()
	}
	order := strings.Join(names, ", ")
	if r.peerFile != nil {
		r.addPeerRows(sec, totals)
	}
	sec.note("concurrency %d; %d bare flows per server and %d onboardings, each in %d segments "+
		"(order: %s, %d times; a server left out is skipped), after %d unmeasured warm-up flows each",
		r.cfg.Concurrency, r.cfg.BaselineFlows, r.cfg.Flows, segmentsPerKind, order, throughputRounds, warmUpFlows)
	sec.note("a bare flow: Update-With-Start waiting for the first activity, 4 signals, the second activity, " +
		"1 more signal sent once it returned; an onboarding: POST /v1/onboardings, the user succeeds at the " +
		"simulator, which sends qes.created, qes.processing, qes.finalized, document.create, then " +
		"user.kycreview (validated) once the workflow requested the review")
	sec.note("latency: from the first call of a flow to its workflow's result; CPU each: user and system " +
		"time of this process (server, product, driver) divided by the flows of the segments")
	sec.note("each segment (and the warm-up) ends when visibility shows all its flows completed: the " +
		"visibility writes the server makes after a flow ended count in the segment that caused them")
	sec.note("garbage collector target of this process (GOGC): %d in every segment but the full path at GOGC 100 "+
		"and the full path in the baseline configuration (also 100)", r.gcPercent)
	if r.cfg.CPUProfile != nil {
		sec.note("the first two full-path segments ran with the CPU profiler on (--cpuprofile), which costs them a little")
	}
	if r.cfg.BareCPUProfile != nil {
		sec.note("the second and third bare-flow segments on the tuned server ran with the CPU profiler on (--cpuprofile-bare), which costs them a little")
	}
}

// addBeforeAfterRows compares, in the same run, the tuned server with and without the
// prepared-statement cache (bare flow) and the full path at the run's GC target and at Go's
// default. A ratio above 1 favours the setting.
func (r *runner) addBeforeAfterRows(sec *Section, totals map[flowKind]runStats) {
	cpuRatio := func(without, with runStats) string {
		return fmt.Sprintf("%.3f×", float64(without.CPUPer())/float64(max(with.CPUPer(), 1)))
	}
	if r.noCache != nil {
		tuned, noCache := totals[bareTuned], totals[bareNoCache]
		sec.add(Row{Measure: "bare flow, tuned server without the statement cache", Value: rate(noCache, "flows"),
			Latency: latency(noCache), CPU: cpuEach(noCache)})
		sec.add(Row{Measure: "statement cache: bare flow rate, with ÷ without",
			Ratio: fmt.Sprintf("%.3f×", tuned.PerSecond()/max(noCache.PerSecond(), 1e-9))})
		sec.add(Row{Measure: "statement cache: CPU per bare flow, without ÷ with", Ratio: cpuRatio(noCache, tuned)})
	}
	if _, ok := totals[fullPathGoGC]; ok {
		full, goDefault := totals[fullPath], totals[fullPathGoGC]
		sec.add(Row{Measure: "full-path onboarding at GOGC 100 (Go's default)", Value: rate(goDefault, "onboardings"),
			Latency: latency(goDefault), CPU: cpuEach(goDefault)})
		sec.add(Row{Measure: fmt.Sprintf("GOGC %d: full-path rate, ÷ GOGC 100", r.gcPercent),
			Ratio: fmt.Sprintf("%.3f×", full.PerSecond()/max(goDefault.PerSecond(), 1e-9))})
		sec.add(Row{Measure: fmt.Sprintf("GOGC %d: CPU per onboarding, GOGC 100 ÷ GOGC %d", r.gcPercent, r.gcPercent),
			Ratio: cpuRatio(goDefault, full)})
	}
}

// addBaselineRows compares, in the same run, the full path in the configuration of the day
// issue 24 was filed with today's: the issue asks that CPU per onboarding fall by at least a
// third.
func (r *runner) addBaselineRows(sec *Section, totals map[flowKind]runStats) {
	if r.baseline == nil {
		return
	}
	full, base := totals[fullPath], totals[fullPathBaseline]
	sec.add(Row{Measure: baselineMeasure,
		Value: rate(base, "onboardings"), Latency: latency(base), CPU: cpuEach(base)})
	sec.add(Row{Measure: "full-path rate, now ÷ baseline configuration",
		Ratio: fmt.Sprintf("%.3f×", full.PerSecond()/max(base.PerSecond(), 1e-9))})
	sec.add(ratioRow("CPU per onboarding, baseline configuration ÷ now",
		float64(base.CPUPer()), float64(full.CPUPer()), targetBaselineOverNowCPU))
	sec.note("baseline configuration: the configuration of the day issue 24 was filed, on a second product "+
		"(API, bridge, worker, simulator, assembled as the first) and embedded server of its own in this process: "+
		"tuned server without the prepared-statement cache, %s=true (the server's default), GOGC 100, and the "+
		"worker at workflow release %d (--workflow-release: Treezor calls as activities); "+
		"now: the full-path onboarding above (statement cache, %s=false, GOGC %d, workflow release %d: local Treezor calls)",
		externalPayloadsKey, baselineWorkflowRelease, externalPayloadsKey, r.gcPercent, workflows.LatestRelease)
}
