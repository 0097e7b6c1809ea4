// Package bench measures qesflow against baselines, in one run on one machine, so that noise
// cancels out of the ratios it reports (docs/benchmarks.md, written by `qesflow bench`):
//
//   - Throughput: a bare workflow with as many activities and signals as one onboarding
//     (Update-With-Start, 2 activities, 5 signals, no HTTP) on the untuned default SQLite
//     configuration of go.temporal.io/server (untunedConfig) and on the tuned
//     embedded server, and complete onboardings through the whole product (API → simulator →
//     signed webhooks → bridge → workflow → KYC review → completed, payloads encrypted as in
//     `qesflow dev`) on the same tuned server, all at the same concurrency. Beside them: the bare
//     flow on the tuned server without the statement cache and on the official dev server, the
//     full path at GOGC 100, and the full path on a second product and server in the
//     configuration of the day issue 24 was filed (baselineConfig, GOGC 100), against which
//     the CPU per onboarding is compared. The segments run in a palindrome order
//     (segmentOrder: untuned, …, tuned, full path, full path, tuned, …, untuned), three times, so
//     that a machine that slows down or speeds up during the run biases no ratio; each segment
//     ends when visibility shows its flows completed, so that the server's deferred visibility
//     writes count where they were caused. Besides the rates,
//     the process CPU time per flow is reported: other load on a shared machine disturbs it
//     less than a rate.
//   - Bridge: verified webhooks per second into running workflows against raw SignalWorkflow
//     calls of the same events (raw, bridge, bridge, raw, twice), and the latency from request to 2xx
//     in an open loop at a fixed rate.
//   - Scale: onboardings parked at AWAITING_USER by a worker with the default sticky cache, the
//     memory of that worker and of the whole process while they wait; then a worker with the
//     SDK's cache of 10,000 takes over, the provider puts every identification under review
//     (each onboarding wakes up and parks again) and that worker's memory is read; finally all
//     of them are completed by webhooks and counted in visibility.
//
// Everything runs in this process except, when Config.WorkerCommand is set (`qesflow bench`
// runs `qesflow worker`), the worker of the scale section, so that its memory is measured
// alone. No figure is asserted by the tests: they run every section at a tiny size.
package bench
