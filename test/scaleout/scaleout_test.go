package scaleout

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qesflow/qesflow/internal/pgtest"
)

const (
	defaultFlows = 200
	concurrency  = 32
	// driveTimeout bounds the whole run of onboardings; the run takes well under it.
	driveTimeout = 6 * time.Minute
	// settleTimeout bounds the wait for the last webhooks after the onboardings ended.
	settleTimeout = 2 * time.Minute
)

// TestScaleOut runs the scaled-out stack as separate processes (see the package doc), drives
// the onboardings over HTTP, SIGKILLs one worker and one bridge once a third of them have
// begun and both bridges have signalled webhooks, and checks that every onboarding ends as
// its scenario says, with every webhook in its history.
func TestScaleOut(t *testing.T) {
	if testing.Short() {
		t.Skip("scale-out test: seven processes and 200 onboardings; not with -short")
	}
	server := pgtest.Server(t)
	n := flowCount(t)
	dir := logDir(t)
	bin := buildBinary(t, dir)
	db := freshDatabase(t, server) // dropped after the processes stop
	began := time.Now()
	c := startCluster(t, bin, dir, db.dsn())
	setup := time.Since(began)
	t.Logf("cluster ready in %s: temporal %s (PostgreSQL %s, %d history shards), sim %s, api %s, bridges %s %s",
		setup.Round(time.Millisecond), c.temporalAddr, db.name, historyShards, c.simURL, c.apiURL, c.bridges[0].url, c.bridges[1].url)

	d := &driver{http: newHTTPClient(), c: c}
	flows := newFlows(n)
	ctx, cancel := context.WithTimeout(context.Background(), driveTimeout)
	defer cancel()
	var p progress
	driveStart := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.driveAll(ctx, flows, concurrency, &p)
	}()

	survivorWorker, survivorBridge := c.workers[1], c.bridges[1]
	kill := d.killMidRun(ctx, t, &p, int64(n/3), done)

	<-done
	driveTime := time.Since(driveStart)
	settleCtx, settleCancel := context.WithTimeout(context.Background(), settleTimeout)
	defer settleCancel()
	stats, err := d.waitSimIdle(settleCtx)
	if err != nil {
		t.Errorf("after the run: %v", err)
	}
	afterSignalled, err := signalled(settleCtx, d.http, survivorBridge)
	if err != nil {
		t.Errorf("read the metrics of %s: %v", survivorBridge.name, err)
	}
	afterTasks, err := workflowTasks(settleCtx, d.http, survivorWorker)
	if err != nil {
		t.Errorf("read the metrics of %s: %v", survivorWorker.name, err)
	}
	out := d.verify(settleCtx, flows, stats)

	for _, problem := range kill.problems {
		t.Error(problem)
	}
	for _, survivor := range []*process{c.server, c.sim, c.api, survivorWorker.process, survivorBridge.process} {
		if survivor.exited() {
			t.Errorf("%s stopped during the run (%s)", survivor.name, survivor.status())
		}
	}
	if kill.done && afterSignalled <= kill.signalled[1] {
		t.Errorf("%s signalled no webhook after the kill (%d before, %d after)", survivorBridge.name, kill.signalled[1], afterSignalled)
	}
	if kill.done && afterTasks <= kill.workflowTasks[1] {
		t.Errorf("%s polled no workflow task after the kill (%d before, %d after)", survivorWorker.name, kill.workflowTasks[1], afterTasks)
	}
	if stats.WebhooksFailed != 0 {
		t.Errorf("the simulator gave up %d webhook deliveries", stats.WebhooksFailed)
	}
	const maxListed = 30
	for i, problem := range out.problems {
		if i == maxListed {
			t.Errorf("... and %d more problems", len(out.problems)-maxListed)
			break
		}
		t.Error(problem)
	}

	median, longest := durations(flows)
	killed := "none killed"
	if kill.done {
		killed = "1 killed"
	}
	summary := fmt.Sprintf("scaleout: %d flows, 2 workers (%s), 2 bridges (%s), %d lost, %d wrong, %d webhooks lost; "+
		"%d webhooks delivered (%d retries), killed with %d flows in flight; setup %s, flows %s (%.1f/s, each median %s, longest %s)",
		n, killed, killed, out.lost, out.wrong, out.lostWebhooks, out.webhooks, stats.WebhooksRetried, kill.inFlight,
		setup.Round(time.Second), driveTime.Round(time.Second), float64(n)/driveTime.Seconds(),
		median.Round(100*time.Millisecond), longest.Round(100*time.Millisecond))
	t.Log(summary)
	slowest := slices.MaxFunc(flows, func(a, b *flow) int { return cmp.Compare(a.took, b.took) })
	t.Logf("slowest flow: %s (%s), %s", slowest.userID, slowest.scenario.name, slowest.took.Round(100*time.Millisecond))
	if !kill.done {
		t.Errorf("no process was killed: %s", strings.Join(kill.problems, "; "))
	}
}

// logDir is where the binary, the processes' logs and the worker's documents go: a fresh
// directory under QESFLOW_SCALEOUT_DIR, kept after the test, or a temporary one.
func logDir(t *testing.T) string {
	t.Helper()
	parent := os.Getenv("QESFLOW_SCALEOUT_DIR")
	if parent == "" {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp(parent, "scaleout-")
	if err != nil {
		t.Fatalf("QESFLOW_SCALEOUT_DIR: %v", err)
	}
	t.Logf("logs kept in %s", dir)
	return dir
}

// flowCount is QESFLOW_SCALEOUT_FLOWS, default 200.
func flowCount(t *testing.T) int {
	t.Helper()
	raw := os.Getenv("QESFLOW_SCALEOUT_FLOWS")
	if raw == "" {
		return defaultFlows
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 10 {
		t.Fatalf("QESFLOW_SCALEOUT_FLOWS=%q: want a number of onboardings, at least 10", raw)
	}
	return n
}

// killReport is what happened at the kill.
type killReport struct {
	done          bool
	inFlight      int64  // flows begun and not ended at the kill
	signalled     [2]int // webhooks the two bridges had signalled just before
	workflowTasks [2]int // workflow tasks the two workers had polled just before
	problems      []string
}

// killMidRun waits until `at` flows have begun, both bridges have signalled webhooks
// (they take turns) and both workers have polled workflow tasks (they share the task
// queue), then SIGKILLs the first worker and the first bridge. It returns early if the run
// ends first.
func (d *driver) killMidRun(ctx context.Context, t *testing.T, p *progress, at int64, runDone <-chan struct{}) killReport {
	var r killReport
	worker, bridge := d.c.workers[0], d.c.bridges[0]
	for {
		if p.begun.Load() >= at && d.bothBusy(ctx, &r) {
			break
		}
		select {
		case <-runDone:
			r.problems = append(r.problems, fmt.Sprintf("the run ended before %d flows had begun with both bridges signalling", at))
			return r
		case <-ctx.Done():
			r.problems = append(r.problems, "the run timed out before the kill")
			return r
		case <-time.After(100 * time.Millisecond):
		}
	}
	r.inFlight = p.inFlight()
	for _, victim := range []*node{worker, bridge} {
		if err := victim.kill(); err != nil {
			r.problems = append(r.problems, err.Error())
		}
	}
	r.done = true
	t.Logf("SIGKILLed %s and %s with %d flows begun, %d in flight (bridges had signalled %d and %d webhooks, workers polled %d and %d workflow tasks)",
		worker.name, bridge.name, p.begun.Load(), r.inFlight, r.signalled[0], r.signalled[1], r.workflowTasks[0], r.workflowTasks[1])
	return r
}

// bothBusy reads the bridges' and the workers' counters into r and reports whether each
// process has had work.
func (d *driver) bothBusy(ctx context.Context, r *killReport) bool {
	for i := range 2 {
		var err error
		if r.signalled[i], err = signalled(ctx, d.http, d.c.bridges[i]); err != nil || r.signalled[i] == 0 {
			return false
		}
		if r.workflowTasks[i], err = workflowTasks(ctx, d.http, d.c.workers[i]); err != nil || r.workflowTasks[i] == 0 {
			return false
		}
	}
	return true
}
