package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// job is one unit of work of a driver: a flow, a webhook, a signal. i numbers it from 0.
type job func(ctx context.Context, i int) error

// runStats is what a driver measured.
type runStats struct {
	Done, Failed int
	Elapsed      time.Duration
	CPU          time.Duration   // user and system time of this whole process over the run
	Latencies    []time.Duration // of the jobs that succeeded
	FirstErr     error
}

// PerSecond is the rate of successful jobs.
func (r runStats) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Done) / r.Elapsed.Seconds()
}

// CPUPer is the process CPU time per successful job.
func (r runStats) CPUPer() time.Duration {
	if r.Done == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Done)
}

// Percentile is the p-th percentile (0 < p ≤ 1) of the latencies, 0 without any.
func (r runStats) Percentile(p float64) time.Duration {
	return percentile(r.Latencies, p)
}

// add merges another run of the same kind: counts and times add up.
func (r runStats) add(o runStats) runStats {
	r.Done += o.Done
	r.Failed += o.Failed
	r.Elapsed += o.Elapsed
	r.CPU += o.CPU
	r.Latencies = append(r.Latencies, o.Latencies...)
	if r.FirstErr == nil {
		r.FirstErr = o.FirstErr
	}
	return r
}

// err reports the failures of the run, if any.
func (r runStats) err(what string) error {
	if r.Failed == 0 {
		return nil
	}
	return fmt.Errorf("%s: %d of %d failed, first: %w", what, r.Failed, r.Done+r.Failed, r.FirstErr)
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// recorder collects the outcomes of concurrent jobs.
type recorder struct {
	mu        sync.Mutex
	done      int
	failed    int
	latencies []time.Duration
	firstErr  error
}

func (r *recorder) record(latency time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.failed++
		if r.firstErr == nil {
			r.firstErr = err
		}
		return
	}
	r.done++
	r.latencies = append(r.latencies, latency)
}

func (r *recorder) stats(elapsed, cpu time.Duration) runStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return runStats{Done: r.done, Failed: r.failed, Elapsed: elapsed, CPU: cpu, Latencies: r.latencies, FirstErr: r.firstErr}
}

// processCPU is the user and system time this process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// closedLoop runs jobs first..first+n-1 with concurrency workers, each starting its next job
// as soon as the last one ended: the throughput the system sustains at that concurrency.
func closedLoop(ctx context.Context, first, n, concurrency int, fn job) runStats {
	var next atomic.Int64
	next.Store(int64(first))
	end := int64(first + n)
	var rec recorder
	var wg sync.WaitGroup
	start, cpu := time.Now(), processCPU()
	for range min(concurrency, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= end {
					return
				}
				t := time.Now()
				err := fn(ctx, int(i))
				rec.record(time.Since(t), err)
			}
		}()
	}
	wg.Wait()
	return rec.stats(time.Since(start), processCPU()-cpu)
}

// paced starts job i at start + i/rate, whether earlier jobs ended or not (an open loop, as
// webhooks arrive), and measures each latency from the moment the job was due, so that a
// driver that falls behind shows in the latencies instead of hiding them.
func paced(ctx context.Context, n int, rate float64, fn job) runStats {
	var rec recorder
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / rate)
	start, cpu := time.Now(), processCPU()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(d):
			}
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := fn(ctx, i)
			rec.record(time.Since(due), err)
		}()
	}
	wg.Wait()
	return rec.stats(time.Since(start), processCPU()-cpu)
}
