// Package bench measures qesflow against itself, in one run on one machine, so that noise
// cancels out of the ratios it reports (see docs/benchmarks.md, written by `qesflow bench`):
//
//   - Throughput: a bare workflow with as many activities and signals as one onboarding
//     (2 activities, 5 signals, no HTTP) on the untuned default SQLite configuration of
//     go.temporal.io/server and on the tuned embedded server, and complete onboardings
//     through the whole path (API → simulator → signed webhooks → bridge → workflow → KYC
//     review) on the same tuned server, all driven at the same concurrency. The segments run
//     in a palindrome order (untuned, tuned, full path, full path, tuned, untuned) so that a
//     machine that slows down or speeds up during the run biases no ratio.
//   - Bridge: verified webhooks per second into running workflows against raw SignalWorkflow
//     calls, and the latency from request to 2xx at a fixed request rate.
//   - Scale: onboardings parked at AWAITING_USER, the memory of the worker and of the whole
//     process while they wait, then all of them completed by webhooks.
//
// Everything runs in this process except, when Config.WorkerCommand is set, the worker of the
// scale section, so that its memory is measured alone.
package bench
