// Package scaleout holds the scale-out integration test of qesflow (README, "Scale out"):
// the Temporal server on PostgreSQL, two workers, two webhook bridges that the Treezor
// simulator's webhooks alternate between (no load balancer), the onboarding API and the
// simulator, each a separate process of the built qesflow binary. It runs a batch of
// onboardings with mixed outcomes over HTTP, kills one worker and one bridge with SIGKILL
// mid-run, and checks that every onboarding reaches its expected terminal state and that no
// webhook is lost.
//
// The test runs when PostgreSQL is reachable at 127.0.0.1:5432 with trust auth (or at
// QESFLOW_TEST_POSTGRES_URL), fails when CI is set and it is not, and skips otherwise or
// with -short. QESFLOW_SCALEOUT_FLOWS changes the number of onboardings (default 200);
// QESFLOW_SCALEOUT_DIR keeps the processes' logs in a directory under it, and
// QESFLOW_SCALEOUT_LOG_LEVEL sets their level (default warn).
//
//	go test -count=1 -v -run TestScaleOut ./scaleout/
//
// The package has no code outside its tests.
package scaleout
