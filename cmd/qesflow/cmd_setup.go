package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/internal/clustersetup"
	"github.com/qesflow/qesflow/internal/temporalclient"
	"github.com/qesflow/qesflow/workflows"
)

const setupSummary = "prepare a Temporal namespace for qesflow: create it if missing, register the search attributes, verify (idempotent)"

// runSetup prepares the namespace on any cluster or Temporal Cloud; safe to run on every
// deploy (the Helm chart runs it as a pre-install and pre-upgrade hook).
func runSetup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("setup", setupSummary, stderr)
	retention := envFlag[time.Duration](fs, "retention", "QESFLOW_RETENTION", embedded.DefaultRetention, "retention of closed workflows: a new namespace gets it, an existing one is updated to it where this identity may")
	timeout := envFlag[time.Duration](fs, "timeout", "QESFLOW_SETUP_TIMEOUT", 2*time.Minute, "how long setup may take, waiting for the cluster included")
	tf := addTemporalFlags(fs)
	logs := addLogFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	tf.allowPlaintext = true // setup writes no payloads: it needs no encryption keys
	if err := tf.validate(); err != nil {
		return err
	}
	if *retention <= 0 {
		return fmt.Errorf("--retention %s: want a positive duration", *retention)
	}
	logger, err := logs.build()
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	opts := tf.options(nil) // setup sends no payloads: no codec warning
	tc, err := temporalclient.Dial(ctx, opts)
	if err != nil {
		return err
	}
	defer tc.Close()
	res, err := clustersetup.Ensure(ctx, tc, clustersetup.Config{
		Namespace:        opts.Namespace,
		Retention:        *retention,
		SearchAttributes: workflows.SearchAttributeTypes(),
	})
	if err != nil {
		return err
	}
	switch {
	case res.CreatedNamespace:
		fmt.Fprintf(stdout, "namespace %s: created, retention %s\n", opts.Namespace, *retention)
	case res.UpdatedRetention:
		fmt.Fprintf(stdout, "namespace %s: retention updated to %s\n", opts.Namespace, *retention)
	case res.RetentionNotUpdated != "":
		fmt.Fprintf(stdout, "namespace %s: exists; warning: %s\n", opts.Namespace, res.RetentionNotUpdated)
	default:
		fmt.Fprintf(stdout, "namespace %s: exists, retention %s\n", opts.Namespace, *retention)
	}
	if len(res.AddedSearchAttributes) > 0 {
		fmt.Fprintf(stdout, "search attributes: added %s\n", strings.Join(res.AddedSearchAttributes, ", "))
	} else {
		fmt.Fprintln(stdout, "search attributes: all registered")
	}
	fmt.Fprintf(stdout, "namespace %s is ready for qesflow\n", opts.Namespace)
	return nil
}
