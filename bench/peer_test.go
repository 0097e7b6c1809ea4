package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/qesflow/qesflow/embedded"
)

// testDevServerEnv, when set, makes the test binary stand in for `temporal server start-dev`:
// it takes the flags startPeer passes and serves an embedded server on --port, on a file
// next to --db-filename or in memory. The official CLI is built outside the test suite (see
// scripts/build-temporal-cli.sh); this checks the peer segment's own plumbing: the child
// process, its ports, the client and worker, its CPU, and its stop.
const testDevServerEnv = "QESFLOW_BENCH_TEST_DEVSERVER"

func runTestDevServer(args []string) error {
	if len(args) < 2 || args[0] != "server" || args[1] != "start-dev" {
		return fmt.Errorf("want server start-dev, got %q", args)
	}
	fs := flag.NewFlagSet("start-dev", flag.ContinueOnError)
	fs.Bool("headless", false, "")
	ip := fs.String("ip", "", "")
	port := fs.Int("port", 0, "")
	fs.Int("http-port", 0, "")
	fs.Int("metrics-port", 0, "")
	fs.String("log-level", "", "")
	dbFile := fs.String("db-filename", "", "")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg := embedded.Config{FrontendIP: *ip, FrontendPort: *port, UIPort: embedded.UIDisabled, Namespace: peerNamespace,
		Ephemeral: *dbFile == ""}
	if *dbFile != "" {
		cfg.DataDir = filepath.Join(filepath.Dir(*dbFile), "test-dev-server-"+strconv.Itoa(*port))
	}
	srv, err := embedded.Start(ctx, cfg)
	if err != nil {
		return err
	}
	<-ctx.Done()
	return srv.Stop()
}

// TestPeerRunsBareFlows starts the peer on a file and in memory and runs a few bare flows on
// each, as a segment does. It asserts nothing about speed.
func TestPeerRunsBareFlows(t *testing.T) {
	t.Setenv(testDevServerEnv, "1")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for name, db := range map[string]string{"file": filepath.Join(t.TempDir(), "temporal.db"), "memory": ""} {
		t.Run(name, func(t *testing.T) {
			p, err := startPeer(ctx, os.Args[0], db, zap.NewNop())
			require.NoError(t, err)
			defer func() { require.NoError(t, p.stop()) }()
			st := closedLoop(ctx, 0, 3, 2, func(ctx context.Context, i int) error {
				return runBareFlow(ctx, p.client, name+"-"+strconv.Itoa(i))
			})
			require.NoError(t, st.err("bare flows on the peer"))
			require.Equal(t, 3, st.Done)
			d := &flowDriver{completed: completedCounter(p.client, BareWorkflowName)}
			require.NoError(t, d.settle(ctx, 3))
			require.Positive(t, p.cpu(), "the dev server process's CPU is read from /proc")
		})
	}
}
