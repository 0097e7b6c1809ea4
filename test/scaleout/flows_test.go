package scaleout

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/qesflow/qesflow/workflows"
)

// flow is one onboarding of the run.
type flow struct {
	index    int
	userID   string
	scenario scenario
	err      error            // why the flow did not reach its expected terminal state
	final    workflows.Status // the last status read
	took     time.Duration
}

func newFlows(n int) []*flow {
	flows := make([]*flow, n)
	for i, sc := range planScenarios(n) {
		flows[i] = &flow{index: i, userID: fmt.Sprintf("scaleout-%04d", i), scenario: sc}
	}
	return flows
}

// run plays the flow to its end and checks the terminal state.
func (d *driver) run(ctx context.Context, f *flow) error {
	if err := d.createUser(ctx, f.userID); err != nil {
		return fmt.Errorf("create user %s: %w", f.userID, err)
	}
	identificationID, err := d.startOnboarding(ctx, f.userID)
	if err != nil {
		return err
	}
	if err := f.scenario.play(ctx, d, f.userID, identificationID); err != nil {
		return fmt.Errorf("%s: %w", f.scenario.name, err)
	}
	want := f.scenario.want
	f.final, err = d.waitFor(ctx, f.userID, "the end", func(s workflows.Status) bool { return s.State.Terminal() })
	if err != nil {
		return fmt.Errorf("%s: %w", f.scenario.name, err)
	}
	if f.final.State != want {
		return fmt.Errorf("%s: user %s ended %s, want %s", f.scenario.name, f.userID, f.final.State, want)
	}
	return nil
}

// progress counts flows begun and ended, for the kill trigger and the report.
type progress struct {
	begun, ended atomic.Int64
}

func (p *progress) inFlight() int64 { return p.begun.Load() - p.ended.Load() }

// driveAll runs the flows, concurrency at a time, in order of index; each flow's error is
// kept in the flow.
func (d *driver) driveAll(ctx context.Context, flows []*flow, concurrency int, p *progress) {
	next := make(chan *flow)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range next {
				p.begun.Add(1)
				start := time.Now()
				f.err = d.run(ctx, f)
				f.took = time.Since(start)
				p.ended.Add(1)
			}
		}()
	}
	for _, f := range flows {
		next <- f
	}
	close(next)
	wg.Wait()
}

// outcome is the verdict of the run.
type outcome struct {
	lost, wrong  int      // onboardings that did not end, onboardings that ended wrong
	lostWebhooks int      // webhooks answered 2xx that are not in their onboarding's history
	webhooks     int      // deliveries answered 2xx
	problems     []string // one line per problem
}

// verify checks every flow against its scenario, the simulator's counters and its
// webhook deliveries: each webhook the simulator got a 2xx for must be in the onboarding's
// timeline (the workflow history), or it was lost.
func (d *driver) verify(ctx context.Context, flows []*flow, stats simStats) outcome {
	var mu sync.Mutex
	var out outcome
	report := func(counter *int, format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if counter != nil {
			*counter++
		}
		out.problems = append(out.problems, fmt.Sprintf(format, args...))
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, f := range flows {
		g.Go(func() error {
			if f.err != nil {
				if f.final.State.Terminal() {
					report(&out.wrong, "%v", f.err)
				} else {
					report(&out.lost, "%v", f.err)
				}
				return nil
			}
			d.verifyFlow(gctx, f, stats, &mu, &out, report)
			return nil
		})
	}
	_ = g.Wait()
	return out
}

func (d *driver) verifyFlow(ctx context.Context, f *flow, stats simStats, mu *sync.Mutex, out *outcome, report func(*int, string, ...any)) {
	sc, user := f.scenario, f.userID
	st, err := d.details(ctx, user)
	if err != nil {
		report(&out.wrong, "user %s: read the final status: %v", user, err)
		return
	}
	if st.State != sc.want || st.Attempt != sc.attempts {
		report(&out.wrong, "user %s (%s): ended %s after %d attempts, want %s after %d", user, sc.name, st.State, st.Attempt, sc.want, sc.attempts)
	}
	if got := stats.IdentificationsCreated[user]; got != sc.identifications {
		report(&out.wrong, "user %s (%s): %d identifications created at Treezor, want %d", user, sc.name, got, sc.identifications)
	}
	if got := stats.KYCReviewRequests[user]; got != sc.kycReviews {
		report(&out.wrong, "user %s (%s): %d KYC review requests at Treezor, want %d", user, sc.name, got, sc.kycReviews)
	}
	if st.TimelineDropped > 0 {
		report(&out.wrong, "user %s: the timeline dropped %d entries; webhooks cannot be checked", user, st.TimelineDropped)
		return
	}
	inHistory := map[string]bool{}
	for _, e := range st.Timeline {
		if e.Kind == workflows.KindWebhook {
			inHistory[e.WebhookID] = true
		}
	}
	su, err := d.simUser(ctx, user)
	if err != nil {
		report(&out.wrong, "user %s: read the simulator's deliveries: %v", user, err)
		return
	}
	for _, dl := range su.Deliveries {
		switch {
		case !dl.OK:
			report(&out.lostWebhooks, "user %s: webhook %s (%s) given up after %d attempts (last status %d)", user, dl.WebhookID, dl.Webhook, dl.Attempts, dl.Status)
		case !inHistory[dl.WebhookID]:
			report(&out.lostWebhooks, "user %s: webhook %s (%s) was answered 2xx but is not in the onboarding's history", user, dl.WebhookID, dl.Webhook)
		default:
			mu.Lock()
			out.webhooks++
			mu.Unlock()
		}
	}
}

// durations returns the median and the longest time a flow took.
func durations(flows []*flow) (median, longest time.Duration) {
	ds := make([]time.Duration, 0, len(flows))
	for _, f := range flows {
		ds = append(ds, f.took)
	}
	slices.Sort(ds)
	if len(ds) == 0 {
		return 0, 0
	}
	return ds[len(ds)/2], ds[len(ds)-1]
}
