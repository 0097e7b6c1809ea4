package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/qesflow/qesflow/worker"
	"github.com/qesflow/qesflow/workflows"
)

// scaleTaskQueue is the task queue of the parked onboardings: only the scale worker polls it.
const scaleTaskQueue = "qes-onboarding-bench-scale"

// settleTime lets the processes finish the work of parking before their memory is read.
const settleTime = 5 * time.Second

// scale parks Config.Parked onboardings at AWAITING_USER with a worker that has the default
// sticky cache (worker.DefaultStickyCacheSize) and reads the memory of that worker and of
// this process. It then hands them to a worker whose cache holds all of them
// (Config.CompareCache, the SDK's 10,000 by default), has the provider put every
// identification under review (qes.created, qes.processing: each onboarding wakes up on that
// worker and parks again at PROVIDER_REVIEW) and reads that worker's memory, then completes
// every one of them by webhooks and counts what completed.
func (r *runner) scale(ctx context.Context, sec *Section) (err error) {
	cfg, p := r.cfg, r.product
	apiURL, err := p.serveAPI(scaleTaskQueue)
	if err != nil {
		return err
	}
	onboard := newOnboardingClient(p, apiURL, cfg.Concurrency)
	onboard.createUsers("parked", 0, cfg.Parked)

	r.progress("starting the worker with the default sticky cache (%d)", worker.DefaultStickyCacheSize)
	w, err := r.startScaleWorker(ctx, scaleTaskQueue, 0, "worker-default-cache.log")
	if err != nil {
		return err
	}
	defer func() {
		if w != nil {
			err = errors.Join(err, w.stop())
		}
	}()

	r.progress("parking %d onboardings at concurrency %d", cfg.Parked, cfg.Concurrency)
	list := make([]parked, cfg.Parked)
	park := closedLoop(ctx, 0, cfg.Parked, cfg.Concurrency, func(ctx context.Context, i int) error {
		pk, err := onboard.start(ctx, userID("parked", i))
		list[i] = pk
		return err
	})
	if err := park.err("park onboardings"); err != nil {
		return err
	}
	parkedWorker, alone, parkedSelf, err := r.parkedMemory(ctx, w, workflows.StateAwaitingUser, cfg.Parked)
	if err != nil {
		return err
	}
	r.progress("parked: worker %s, this process %s", megabytes(parkedWorker.RSS), megabytes(parkedSelf.RSS))

	if alone {
		r.progress("replacing the worker by one with a sticky cache of %d", cfg.CompareCache)
		stopErr := w.stop()
		w = nil
		if stopErr != nil {
			return stopErr
		}
		if w, err = r.startScaleWorker(ctx, scaleTaskQueue, cfg.CompareCache, "worker-compare-cache.log"); err != nil {
			return err
		}
	}
	r.progress("the provider puts the %d identifications under review", cfg.Parked)
	review := closedLoop(ctx, 0, cfg.Parked, cfg.Concurrency, func(ctx context.Context, i int) error {
		return onboard.review(ctx, list[i])
	})
	if err := review.err("put identifications under review"); err != nil {
		return err
	}
	reviewWorker, _, _, err := r.parkedMemory(ctx, w, workflows.StateProviderReview, cfg.Parked)
	if err != nil {
		return err
	}
	r.progress("under review: worker %s", megabytes(reviewWorker.RSS))

	r.progress("completing the %d parked onboardings by webhooks", cfg.Parked)
	complete := closedLoop(ctx, 0, cfg.Parked, cfg.Concurrency, func(ctx context.Context, i int) error {
		return onboard.complete(ctx, list[i])
	})
	completingSelf, err := readMemory("self")
	if err != nil {
		return err
	}
	// Visibility follows the workflows by a moment: wait for the count, then take it as it is.
	_ = r.waitCount(ctx, string(workflows.StateCompletedValidated), "Completed", cfg.Parked)
	completed, err := r.count(ctx, string(workflows.StateCompletedValidated), "Completed")
	if err != nil {
		return err
	}

	r.addScaleRows(sec, scaleFigures{
		park: park, review: review, complete: complete, alone: alone, completed: completed,
		parkedWorker: parkedWorker, parkedSelf: parkedSelf, reviewWorker: reviewWorker, peakSelf: completingSelf,
	})
	lost := cfg.Parked - completed
	if err := complete.err("complete parked onboardings"); err != nil {
		return err
	}
	if lost != 0 {
		return fmt.Errorf("%d of %d parked onboardings did not complete", lost, cfg.Parked)
	}
	return nil
}

// parkedMemory waits until visibility shows want onboardings in state, lets the processes
// settle, and reads the memory of the worker and of this process.
func (r *runner) parkedMemory(ctx context.Context, w scaleWorker, state workflows.State, want int) (workerMem memory, alone bool, self memory, err error) {
	if err := r.waitCount(ctx, string(state), "Running", want); err != nil {
		return memory{}, false, memory{}, fmt.Errorf("parked onboardings: %w", err)
	}
	if err := sleep(ctx, settleTime); err != nil {
		return memory{}, false, memory{}, err
	}
	if workerMem, alone, err = w.memory(); err != nil {
		return memory{}, false, memory{}, err
	}
	self, err = readMemory("self")
	return workerMem, alone, self, err
}

// scaleFigures are the measurements of the scale section.
type scaleFigures struct {
	park, review, complete                           runStats
	alone                                            bool // the worker ran in a process of its own
	completed                                        int
	parkedWorker, parkedSelf, reviewWorker, peakSelf memory
}

func (r *runner) addScaleRows(sec *Section, f scaleFigures) {
	n := strconv.Itoa(r.cfg.Parked)
	sec.add(Row{Measure: "park " + n + " onboardings (POST /v1/onboardings → AWAITING_USER)",
		Value: fmt.Sprintf("%s in %s", rate(f.park, "onboardings"), round(f.park.Elapsed)), Latency: latency(f.park)})
	limit := int64(targetParkedWorkerRSSMiB) << 20
	workerRow := Row{Measure: fmt.Sprintf("worker RSS, %s parked at AWAITING_USER, default sticky cache (%d)", n, worker.DefaultStickyCacheSize),
		Target: fmt.Sprintf("≤ %d MB", targetParkedWorkerRSSMiB)}
	if f.alone {
		workerRow.Value, workerRow.Met = megabytes(f.parkedWorker.RSS), verdict(f.parkedWorker.RSS <= limit)
	} else {
		workerRow.Value = "in this process: ≤ " + megabytes(f.parkedSelf.RSS)
		workerRow.Met = verdict(f.parkedSelf.RSS <= limit)
	}
	sec.add(workerRow)
	sec.add(Row{Measure: "whole process RSS, " + n + " parked (server, API, bridge, simulator, driver" + inProcessNote(f.alone) + ")",
		Value: megabytes(f.parkedSelf.RSS)})
	sec.add(Row{Measure: "put " + n + " identifications under review (2 webhooks each, accepted by the bridge)",
		Value: fmt.Sprintf("%s in %s", rate(f.review, "onboardings"), round(f.review.Elapsed)), Latency: latency(f.review)})
	if f.alone {
		sec.add(Row{Measure: fmt.Sprintf("worker RSS, %s parked at PROVIDER_REVIEW, sticky cache %d", n, r.cfg.CompareCache),
			Value: megabytes(f.reviewWorker.RSS)})
	}
	sec.add(Row{Measure: "complete " + n + " parked onboardings by webhooks",
		Value: fmt.Sprintf("%s in %s", rate(f.complete, "onboardings"), round(f.complete.Elapsed)), Latency: latency(f.complete)})
	sec.add(Row{Measure: "whole process peak RSS over the run", Value: megabytes(f.peakSelf.Peak)})
	lost := r.cfg.Parked - f.completed
	sec.add(Row{Measure: "completed validated / lost", Value: fmt.Sprintf("%d / %d", f.completed, lost),
		Target: "0 lost", Met: verdict(lost == 0 && f.complete.Failed == 0)})
	if f.alone {
		sec.note("the parked onboardings have a task queue of their own, served by one `qesflow worker` "+
			"process at a time: the one with the default sticky cache parks them, then one with a cache of %d "+
			"takes over, wakes every one of them up (identification under review) and completes them", r.cfg.CompareCache)
	} else {
		sec.note("the worker runs in this process (no worker command): its memory is part of the whole process's")
	}
	sec.note("memory: VmRSS (VmHWM for the peak) from /proc, read %s after all of them showed the state in visibility",
		settleTime)
	sec.note("completed and lost are counted in visibility (ExecutionStatus Completed, QESState %s)",
		workflows.StateCompletedValidated)
}

func inProcessNote(alone bool) string {
	if alone {
		return ""
	}
	return ", worker"
}

// count is the number of workflows of the scale task queue in state and execution status.
func (r *runner) count(ctx context.Context, state, status string) (int, error) {
	return countWorkflows(ctx, r.product.client, fmt.Sprintf("TaskQueue = '%s' AND %s = '%s' AND ExecutionStatus = '%s'",
		scaleTaskQueue, workflows.SAQESState, state, status))
}

// waitCount waits until visibility counts want workflows in state and status.
func (r *runner) waitCount(ctx context.Context, state, status string, want int) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	last := 0
	err := waitFor(ctx, time.Second, func() (bool, error) {
		n, err := r.count(ctx, state, status)
		last = n
		return err == nil && n == want, nil
	})
	if err != nil {
		return fmt.Errorf("visibility shows %d of %d in %s: %w", last, want, state, err)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
