package main

import (
	"context"
	"flag"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qesflow/qesflow/internal/assembly"
	"github.com/qesflow/qesflow/workflows"
)

// clientFlags are the flags of every subcommand that talks to Temporal: the connection and
// the logs. Embedded in a subcommand's flags, so that f.temporal and f.log stay at hand.
type clientFlags struct {
	temporal *temporalFlags
	log      *logFlags
}

func addClientFlags(fs *flag.FlagSet) clientFlags {
	return clientFlags{temporal: addTemporalFlags(fs), log: addLogFlags(fs)}
}

// parse parses args and validates the connection flags.
func (c clientFlags) parse(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return c.temporal.validate()
}

// connection says how a subcommand connects: lazily (it starts while Temporal is unreachable)
// and with the registry it serves on /metrics (nil: none).
type connection struct {
	lazy     bool
	registry *prometheus.Registry
}

// connect builds the logger and the Temporal client through the one assembly of the product.
func (c clientFlags) connect(ctx context.Context, how connection) (*assembly.Parts, error) {
	logger, err := c.log.build()
	if err != nil {
		return nil, err
	}
	parts, err := assembly.Connect(ctx, assembly.Config{
		Temporal: c.temporal.options(logger.Named("temporal")), Logger: logger, Registry: how.registry, Lazy: how.lazy,
	})
	if err != nil {
		_ = logger.Sync()
		return nil, err
	}
	return parts, nil
}

// addTaskQueueFlag registers --task-queue, the queue of the onboarding workflow.
func addTaskQueueFlag(fs *flag.FlagSet, p *string, usage string) {
	envVar(fs, p, "task-queue", "QESFLOW_TASK_QUEUE", workflows.TaskQueue, usage)
}
