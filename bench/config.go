package bench

import (
	"errors"
	"fmt"
	"io"
	"os/exec"

	"go.uber.org/zap"
)

// Defaults of Config: the sizes of `qesflow bench` without flags (about 15 minutes on two
// cores).
const (
	DefaultFlows = 2000
	// DefaultBaselineFlows equals DefaultFlows: segments of the same size end with the same
	// drain (the last flows of a segment run below the set concurrency), so the drain does
	// not favour one side of the full path ÷ bare ratio.
	DefaultBaselineFlows   = DefaultFlows
	DefaultConcurrency     = 64
	DefaultBridgeWebhooks  = 16000
	DefaultBridgeRate      = 200
	DefaultBridgeWorkflows = 200
	DefaultParked          = 10000
	DefaultCompareCache    = 10000 // the SDK's default sticky cache size
)

// Config sizes and selects the sections of one run.
type Config struct {
	// Flows is the number of complete onboardings of the full path; BaselineFlows the number
	// of bare flows on each server (tuned and untuned). Each is split over its segments
	// (see segmentOrder); keep them equal for a fair ratio.
	Flows, BaselineFlows int
	// Concurrency is the number of flows (and of webhooks or signals in the bridge throughput
	// test) in flight at once.
	Concurrency int
	// BridgeWebhooks is the number of webhooks (and of raw signals) of the bridge throughput
	// test; BridgeRate the request rate of the latency test, per second, which sends as many
	// as 20 seconds at that rate take (at most BridgeWebhooks); BridgeWorkflows the number of
	// running workflows the webhooks go to.
	BridgeWebhooks, BridgeRate, BridgeWorkflows int
	// Parked is the number of onboardings parked at AWAITING_USER, then completed.
	Parked int
	// CompareCache is the sticky cache size of the worker that takes over the parked
	// onboardings, wakes them up and completes them (the one that parks them has the worker's
	// default, worker.DefaultStickyCacheSize).
	CompareCache int

	SkipUntuned, SkipThroughput, SkipBridge, SkipScale bool
	// SkipNoCache leaves out the segments of the tuned server without the prepared-statement
	// cache (the cache's before/after).
	SkipNoCache bool
	// SkipBaselineConfig leaves out the full path in the configuration of the day issue 24 was
	// filed (baselineConfig, at GOGC 100): a second server and product of its own, against
	// which the "CPU per onboarding falls by a third" is measured.
	SkipBaselineConfig bool
	// GCPercent is the garbage collector's target (GOGC) of the run, as `--gogc` sets it for
	// a process running the embedded server (0: gctune's default). The full path also runs at
	// Go's default (100) for comparison unless it is 100.
	GCPercent int
	// SkipPeer leaves out the official dev server's segments of the throughput section.
	SkipPeer bool
	// PeerCLI is the official Temporal CLI binary whose `server start-dev` is the peer
	// (PeerCLIVersion, built by scripts/build-temporal-cli.sh); empty: DefaultPeerCLI().
	PeerCLI string

	// DataDir holds one directory per server; it must be empty or missing.
	DataDir string
	// WorkerCommand builds the command of the worker process of the scale section; nil runs
	// that worker in this process (then only the whole process's memory is measured).
	WorkerCommand func(WorkerProcess) *exec.Cmd
	// CPUProfile, when set, receives a CPU profile of the first two full-path segments.
	CPUProfile io.Writer
	// BareCPUProfile, when set, receives a CPU profile of the second and third bare-flow
	// segments on the tuned server (adjacent, like the full-path ones), to compare with
	// CPUProfile.
	BareCPUProfile io.Writer
	// BridgeCPUProfile, when set, receives a CPU profile of the first two (adjacent)
	// segments of webhooks through the bridge.
	BridgeCPUProfile io.Writer
	// CommandLine is quoted in the report; Note, when set, is added to its environment.
	CommandLine, Note string
	// Logger receives the logs of every part of the product (as in production, they are part
	// of the cost); nil: none.
	Logger *zap.Logger
	// Progress receives a line per step; nil: none.
	Progress io.Writer
}

// WorkerProcess is what the worker process of the scale section must be started with: a
// `qesflow worker` with these flags does.
type WorkerProcess struct {
	TemporalAddress, Namespace, TaskQueue string
	TreezorBaseURL, TreezorClientID       string
	TreezorClientSecret                   string // pass it in the environment, not as an argument
	CodecKeys                             string // payload encryption keyring (QESFLOW_CODEC_KEYS); pass it in the environment
	DocumentDir                           string
	StickyCacheSize                       int // 0: the default
}

func (c Config) withDefaults() Config {
	setDefault := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setDefault(&c.Flows, DefaultFlows)
	setDefault(&c.BaselineFlows, DefaultBaselineFlows)
	setDefault(&c.Concurrency, DefaultConcurrency)
	setDefault(&c.BridgeWebhooks, DefaultBridgeWebhooks)
	setDefault(&c.BridgeRate, DefaultBridgeRate)
	setDefault(&c.BridgeWorkflows, DefaultBridgeWorkflows)
	setDefault(&c.Parked, DefaultParked)
	setDefault(&c.CompareCache, DefaultCompareCache)
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return c
}

// Validate reports every size that cannot work (zero sizes take the defaults).
func (c Config) Validate() error {
	var errs []error
	for _, n := range []struct {
		name  string
		value int
		min   int
	}{
		{"flows", c.Flows, 2}, {"baseline flows", c.BaselineFlows, 2}, {"concurrency", c.Concurrency, 1},
		{"bridge webhooks", c.BridgeWebhooks, 2}, {"bridge rate", c.BridgeRate, 1},
		{"bridge workflows", c.BridgeWorkflows, 1}, {"parked onboardings", c.Parked, 1},
		{"compare cache", c.CompareCache, 1},
	} {
		if n.value != 0 && n.value < n.min {
			errs = append(errs, fmt.Errorf("%s must be at least %d, got %d", n.name, n.min, n.value))
		}
	}
	return errors.Join(errs...)
}
