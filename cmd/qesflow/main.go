// Command qesflow is the one binary of the product: every service is a subcommand.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand. Each lives in its own file; init registers them all.
type command struct {
	name    string
	summary string
	// run parses args (without the subcommand name) and runs until ctx is done or the work ends.
	run func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

func init() {
	for _, c := range []command{
		{name: "api", summary: apiSummary, run: runAPI},
		{name: "bench", summary: benchSummary, run: runBench},
		{name: "bridge", summary: bridgeSummary, run: runBridge},
		{name: "codec-server", summary: codecSummary, run: runCodecServer},
		{name: "dev", summary: "everything in one process: embedded Temporal server and UI, worker, bridge, API, simulator", run: runDev},
		{name: "gen-certs", summary: genCertsSummary, run: runGenCerts},
		{name: "healthcheck", summary: "probe a qesflow HTTP endpoint (for container health checks): exit 0 on 2xx", run: runHealthcheck},
		{name: "server", summary: serverSummary, run: runServer},
		{name: "setup", summary: setupSummary, run: runSetup},
		{name: "sim", summary: "run the Treezor sandbox simulator (API, end-user pages, KYC desk, signed webhooks)", run: runSim},
		{name: "start", summary: startSummary, run: runStart},
		{name: "worker", summary: workerSummary, run: runWorker},
	} {
		register(c)
	}
}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("qesflow: subcommand registered twice: " + c.name)
	}
	commands[c.name] = c
}

// planned lists subcommands that are specified but not built yet; they fail loudly.
var planned = map[string]string{
	"dev": "everything in one process: embedded Temporal server and UI, worker, bridge, API, simulator",
}

// errUsage marks an error already explained to the user by a flag set.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	name := args[0]
	c, ok := commands[name]
	if !ok {
		if summary, isPlanned := planned[name]; isPlanned {
			fmt.Fprintf(stderr, "qesflow %s (%s) is not built yet\n", name, summary)
			return 3
		}
		fmt.Fprintf(stderr, "qesflow: unknown subcommand %q\n\n", name)
		usage(stderr)
		return 2
	}
	if err := c.run(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if errors.Is(err, errUsage) {
			return 2
		}
		fmt.Fprintf(stderr, "qesflow %s: %v\n", name, err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, `qesflow: durable Treezor QES onboarding on Temporal.

Usage:
  qesflow <subcommand> [flags]
  qesflow <subcommand> --help

Subcommands:`)
	names := make([]string, 0, len(commands)+len(planned))
	for n := range commands {
		names = append(names, n)
	}
	for n := range planned {
		if _, built := commands[n]; !built {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if c, ok := commands[n]; ok {
			fmt.Fprintf(w, "  %-8s %s\n", n, c.summary)
		} else {
			fmt.Fprintf(w, "  %-8s %s (not built yet)\n", n, planned[n])
		}
	}
	fmt.Fprintln(w, `
Every flag can also be set by the environment variable named in its help text.`)
}
