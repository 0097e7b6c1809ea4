package e2e

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"
)

var (
	chaosN           = flag.Int("chaos.n", 300, "chaos suite: number of onboardings (50 with -short unless set)")
	chaosSeed        = flag.Uint64("chaos.seed", 0, "chaos suite: seed of the scripts and the fault draws (0: random)")
	chaosConcurrency = flag.Int("chaos.concurrency", 96, "chaos suite: onboardings driven at the same time")
	chaosFlowTimeout = flag.Duration("chaos.flow-timeout", 4*time.Minute, "chaos suite: how long one onboarding may take")
	chaosSabotage    = flag.Float64("chaos.sabotage", 0, "chaos suite self-check: share of webhooks the bridge answers 200 and loses; the suite must then fail")
)

// TestChaosOnboardings drives N scripted onboardings through the real path while every
// fault is injected at once, then checks each one (see docs/reliability.md, "Chaos").
func TestChaosOnboardings(t *testing.T) {
	n, seed := chaosSettings(t)
	rng := newRNG(seed)
	scripts := newScriptBuilder(rng).scripts(n)
	t.Logf("chaos: seed %d (rerun with -chaos.seed %d), %d flows: %s", seed, seed, n, kindCounts(scripts))

	began := time.Now()
	stack := startChaosStack(t, seed)
	api := newAPIClient(t, stack.apiURL, apiKey)
	flows := make([]*flow, n)
	for i, s := range scripts {
		flows[i] = &flow{userID: fmt.Sprintf("chaos-%04d", i), script: s}
	}

	var p progress
	faultsDone := make(chan struct{})
	allDone := make(chan struct{})
	go func() {
		defer close(faultsDone)
		injectFaults(t, stack, rng, n, &p, allDone)
	}()
	runFlows(flows, &driver{sim: stack.sim, api: api, logf: t.Logf}, &p)
	close(allDone)
	<-faultsDone
	drove := time.Since(began)

	idle, cancelIdle := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancelIdle()
	require.NoError(t, stack.sim.WaitIdle(idle), "webhooks still queued at the simulator")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	stack.requireEncryptedInput(ctx, flows[0].userID)
	sum := checkFlows(ctx, t, flows, &checker{stack: stack, api: api})
	sum.slow = explainSlowFlows(ctx, t, stack, flows)
	sum.events = checkEvents(ctx, t, flows, api, stack.events)
	sum.report(t, stack, api, seed, n, drove, time.Since(began))

	workers, servers, _ := stack.restarts()
	require.GreaterOrEqual(t, workers, 3, "worker restarts while flows ran")
	require.GreaterOrEqual(t, servers, 2, "server restarts while flows ran")
	require.Zero(t, sum.lost, "lost flows")
	require.Zero(t, sum.wrong, "wrong flows")
	require.Positive(t, sum.events.delivered, "events delivered")
	require.Zero(t, sum.events.lost, "events lost")
	require.Zero(t, sum.events.outOfOrder, "events out of order")
}

// chaosSettings reads the flags: N (50 with -short unless -chaos.n is given) and the seed.
func chaosSettings(t *testing.T) (int, uint64) {
	n := *chaosN
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "chaos.n" })
	if testing.Short() && !explicit {
		n = 50
	}
	require.Positive(t, n, "-chaos.n")
	seed := *chaosSeed
	if seed == 0 {
		seed = rand.Uint64() >> 1
	}
	return n, seed
}

// progress counts the flows started and finished.
type progress struct{ started, finished atomic.Int64 }

// runFlows drives every flow, chaosConcurrency at a time.
func runFlows(flows []*flow, d *driver, p *progress) {
	var g errgroup.Group
	g.SetLimit(max(*chaosConcurrency, 1))
	for _, f := range flows {
		g.Go(func() error {
			p.started.Add(1)
			defer p.finished.Add(1)
			ctx, cancel := context.WithTimeout(context.Background(), *chaosFlowTimeout)
			defer cancel()
			start := time.Now()
			f.err = d.run(ctx, f)
			f.elapsed = time.Since(start)
			return nil
		})
	}
	_ = g.Wait()
}

// A fault is injected once the given share of flows has finished, so that flows are in
// flight whatever the speed of the machine.
type fault struct {
	progress float64
	server   bool // restart the embedded server; false: replace the worker
}

var faultPlan = []fault{
	{0.05, false}, {0.15, true}, {0.30, false}, {0.45, false}, {0.55, true}, {0.70, false},
}

// injectFaults replaces the worker and restarts the server as the flows progress, while
// flows are in flight; it stops planning once every flow has finished.
func injectFaults(t *testing.T, s *chaosStack, rng *rand.Rand, n int, p *progress, allDone <-chan struct{}) {
	// The rng is the scripts' one; this goroutine owns it from here on.
	for _, f := range faultPlan {
		target := int64(f.progress * float64(n))
		for p.finished.Load() < target {
			select {
			case <-allDone:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		time.Sleep(time.Duration(rng.Int64N(int64(1500 * time.Millisecond))))
		select {
		case <-allDone:
			return
		default:
		}
		started := time.Now()
		inFlight := p.started.Load() - p.finished.Load()
		var err error
		what := "worker replaced"
		if f.server {
			what = "server restarted"
			err = s.restartServer(time.Duration(500+rng.IntN(1500)) * time.Millisecond)
		} else {
			err = s.restartWorker(time.Duration(rng.IntN(1000)) * time.Millisecond)
		}
		if err != nil {
			t.Errorf("chaos: %s failed: %v", what, err)
			return
		}
		t.Logf("chaos: %s with %d flows in flight, took %s (%d/%d finished)", what, inFlight,
			time.Since(started).Round(time.Millisecond), p.finished.Load(), n)
	}
}

// slowFlow is how long a flow may take before its history is searched for timeouts.
const slowFlow = 45 * time.Second

// explainSlowFlows counts the timeouts in the histories of the slow flows.
func explainSlowFlows(ctx context.Context, t *testing.T, s *chaosStack, flows []*flow) string {
	var slow, withActivityTimeout, withTaskTimeout, activityTimeouts, taskTimeouts int
	for _, f := range flows {
		if f.elapsed < slowFlow {
			continue
		}
		slow++
		a, w, err := s.timeouts(ctx, f.userID)
		if err != nil {
			t.Logf("chaos: %v", err)
			continue
		}
		activityTimeouts += a
		taskTimeouts += w
		if a > 0 {
			withActivityTimeout++
		}
		if w > 0 {
			withTaskTimeout++
		}
	}
	return fmt.Sprintf("%d flows took over %s: %d with an activity timeout (%d in all), %d with a workflow task timeout (%d in all)",
		slow, slowFlow, withActivityTimeout, activityTimeouts, withTaskTimeout, taskTimeouts)
}

// summary adds up the verdicts.
type summary struct {
	lost, wrong                         int
	duplicates, afterEnd, unseenSignals int
	stale, outOfOrder, held             int
	payinsNotNeeded, sepaFromWallet     int
	sepaNoOnboarding                    int
	slow                                string
	events                              eventVerdict
	byKind                              map[string][]time.Duration
}

// checkFlows checks every flow, a few at a time, and reports each failure.
func checkFlows(ctx context.Context, t *testing.T, flows []*flow, c *checker) summary {
	verdicts := make([]verdict, len(flows))
	var g errgroup.Group
	g.SetLimit(16)
	for i, f := range flows {
		g.Go(func() error {
			verdicts[i] = c.check(ctx, f)
			return nil
		})
	}
	_ = g.Wait()
	sum := summary{byKind: map[string][]time.Duration{}}
	for i, v := range verdicts {
		f := flows[i]
		sum.byKind[f.script.kind] = append(sum.byKind[f.script.kind], f.elapsed)
		sum.duplicates += v.duplicates
		sum.afterEnd += v.afterEnd
		sum.stale += v.stale
		sum.outOfOrder += v.outOfOrder
		sum.held += v.held
		sum.unseenSignals += v.unseenSignals
		sum.payinsNotNeeded += v.payinsNotNeeded
		sum.sepaFromWallet += v.sepaFromWallet
		sum.sepaNoOnboarding += v.sepaNoOnboarding
		if len(v.notes) > 0 {
			var b strings.Builder
			for _, e := range v.timeline {
				fmt.Fprintf(&b, "\n  %s %s %s %s %s", e.Time.Format("15:04:05.000"), e.Kind, e.EventType, e.State, e.Note)
			}
			t.Logf("chaos: flow %s (%s): %s; timeline of its SEPA step:%s", f.userID, f.script.kind, strings.Join(v.notes, "; "), b.String())
		}
		if len(v.lost) > 0 {
			sum.lost++
			t.Errorf("chaos: flow %s (%s) lost: %s", f.userID, f.script.kind, strings.Join(v.lost, "; "))
		}
		if len(v.wrong) > 0 {
			sum.wrong++
			t.Errorf("chaos: flow %s (%s) wrong: %s", f.userID, f.script.kind, strings.Join(v.wrong, "; "))
		}
	}
	return sum
}

// report prints the one-line summary (also to stdout, for CI logs) and the details.
func (sum summary) report(t *testing.T, s *chaosStack, api *apiClient, seed uint64, n int, drove, total time.Duration) {
	st := s.sim.Stats()
	workers, servers, downtime := s.restarts()
	activityRetries := int(s.retries.retries.Load())
	retries := st.WebhooksRetried + activityRetries
	line := fmt.Sprintf("chaos: %d flows, %d lost, %d wrong, %d duplicates absorbed, %d retries, %d worker restarts, %d server restarts, payins not needed: %d, SEPA transfers read from the wallet: %d, SEPA transfers answered no-onboarding once: %d, %d events delivered, %d lost, %d out of order",
		n, sum.lost, sum.wrong, sum.duplicates, retries, workers, servers, sum.payinsNotNeeded, sum.sepaFromWallet, sum.sepaNoOnboarding,
		sum.events.delivered, sum.events.lost, sum.events.outOfOrder)
	t.Log(line)
	fmt.Println(line)

	apiCalls, byRoute, apiRetries := api.retries()
	fl := s.flaky.Stats()
	t.Logf("chaos: seed %d, concurrency %d, flows driven in %s, total %s (server down %s)",
		seed, *chaosConcurrency, drove.Round(time.Second), total.Round(time.Second), downtime.Round(time.Second))
	t.Logf("chaos: webhooks: %d emitted, %d duplicate deliveries sent, %d deliveries answered 2xx, %d redeliveries, %d given up, %d held behind a later action (variants %+v)",
		st.WebhooksEmitted, st.DuplicatesSent, st.WebhooksDelivered, st.WebhooksRetried, st.WebhooksFailed, st.WebhooksHeld, s.sim.WebhookVariants())
	t.Logf("chaos: bridge faults: %d refused with 503, %d answered 503 after signalling, %d lost on purpose (-chaos.sabotage); %d signals went through although the bridge answered 503",
		fl.Refused, fl.Replaced, fl.Lost, sum.unseenSignals)
	t.Logf("chaos: payins acknowledged without a workflow: %d no step could use (a card top-up, a PENDING transfer, another wallet), "+
		"%d SEPA transfers that came before the onboarding published its wallets and were read from the wallet instead, "+
		"%d SEPA transfers a delivery of which was acknowledged no-onboarding while the workflow ran but another reached it (checks_test.go, payinMatters)",
		sum.payinsNotNeeded, sum.sepaFromWallet, sum.sepaNoOnboarding)
	ev := sum.events
	t.Logf("chaos: outbound events: %d requests to the receiver, %d answered 503, %d accepted and answered after the sender's %s timeout, %d duplicates seen (same webhook-id again)",
		ev.requests, ev.refused, ev.stalled, eventSenderTimeout, ev.duplicates)
	t.Logf("chaos: workflows absorbed %d duplicates, %d stale (older identification), %d out of order, %d held (raced InitiateQES), %d after the end",
		sum.duplicates, sum.stale, sum.outOfOrder, sum.held, sum.afterEnd)
	t.Logf("chaos: Treezor API faults: %d 5xx, %d hangs; %d accessTag replays; activity executions %d, retries %d",
		st.APIErrors, st.APIHangs, st.AccessTagReplays, s.retries.executions.Load(), activityRetries)
	t.Logf("chaos: onboarding API: %d requests, %d retried (by route and status, 0 = transport error: %v)", apiCalls, apiRetries, byRoute)
	for _, body := range api.internalErrors() {
		t.Logf("chaos: onboarding API answered 500 (retried): %s", body)
	}
	for i, e := range s.errorLogs.All() {
		if i == 5 {
			t.Logf("chaos: … %d more error logs", s.errorLogs.Len()-i)
			break
		}
		t.Logf("chaos: %s error log: %s %v", e.LoggerName, e.Message, e.ContextMap())
	}
	t.Logf("chaos: %s", sum.slow)
	kinds := make([]string, 0, len(sum.byKind))
	for k := range sum.byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		d := sum.byKind[k]
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		t.Logf("chaos:   %-26s %3d flows, median %s, max %s", k, len(d), d[len(d)/2].Round(100*time.Millisecond), d[len(d)-1].Round(100*time.Millisecond))
	}
}
