package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/workflows"
)

// The killed process of TestKillMidRunKeepsAcceptedWebhooks is this test binary, re-run with
// killChildDirEnv set: it runs the tuned embedded server on that directory with the product
// and the signal sinks, prints killChildReady and the bridge's address, and waits to be killed.
const (
	killChildDirEnv = "QESFLOW_BENCH_KILL_CHILD_DIR"
	killChildReady  = "QESFLOW-BENCH-KILL-CHILD-READY "
	killSinks       = 8
	killWebhooks    = 4000
	killAfter       = 300 // accepted webhooks before the kill
)

type killChildInfo struct {
	BridgeURL string `json:"bridgeUrl"`
	Secret    string `json:"secret"`
}

// TestKillMidRunKeepsAcceptedWebhooks posts webhooks to the bridge of a process running the
// tuned embedded server (the default pragmas: WAL, synchronous=normal), kills it with SIGKILL
// while webhooks are in flight, restarts the server on the same directory and checks that
// every webhook the bridge answered 2xx is in its workflow's history.
func TestKillMidRunKeepsAcceptedWebhooks(t *testing.T) {
	if dir := os.Getenv(killChildDirEnv); dir != "" {
		runKillChild(t, dir)
		return
	}
	dir := filepath.Join(t.TempDir(), "data")
	child := exec.Command(os.Args[0], "-test.run=^TestKillMidRunKeepsAcceptedWebhooks$")
	child.Env = append(os.Environ(), killChildDirEnv+"="+dir)
	var childErr bytes.Buffer
	child.Stderr = &childErr
	stdout, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	info := make(chan *killChildInfo, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			if rest, ok := strings.CutPrefix(lines.Text(), killChildReady); ok {
				var ci killChildInfo
				if json.Unmarshal([]byte(rest), &ci) == nil {
					info <- &ci
					return
				}
			}
		}
		info <- nil
	}()
	var ci *killChildInfo
	select {
	case ci = <-info:
	case <-time.After(2 * time.Minute):
	}
	if ci == nil {
		_ = child.Process.Kill()
		_ = child.Wait()
		t.Fatalf("the child was not ready:\n%s", childErr.String())
	}

	hooks, err := signedWebhooks(ci.Secret, "kill", killWebhooks, killSinks)
	require.NoError(t, err)
	target := newBridgeTarget(ci.BridgeURL, 16)
	var (
		mu       sync.Mutex
		accepted = map[string]bool{}
		refused  atomic.Int64
		count    atomic.Int64
		killOnce sync.Once
	)
	kill := func() { killOnce.Do(func() { _ = child.Process.Kill() }) } // SIGKILL: no shutdown, no flush
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	closedLoop(ctx, 0, killWebhooks, 16, func(ctx context.Context, i int) error {
		if err := target.deliver(ctx, hooks[i]); err != nil {
			refused.Add(1)
			return err
		}
		mu.Lock()
		accepted[hooks[i].event.WebhookID] = true
		mu.Unlock()
		if count.Add(1) == killAfter {
			kill()
		}
		return nil
	})
	kill()
	_ = child.Wait()
	require.GreaterOrEqual(t, len(accepted), killAfter, "child stderr:\n%s", childErr.String())
	require.Positive(t, refused.Load(), "the kill must interrupt the run")

	// Restart the server on the same directory with a worker for the sinks: a signal that
	// arrived while a workflow task was running is kept with the workflow (buffered) and
	// enters its history once that task, whose worker died with the child, times out.
	s, err := startStack(ctx, embedded.Config{DataDir: dir}, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, s.stop()) }()
	sinks := newBareWorker(s.client, workflows.TaskQueue+"-bench-sink")
	require.NoError(t, sinks.Start())
	defer sinks.Stop()
	var lost []string
	inHistory := map[string]bool{}
	require.Eventually(t, func() bool {
		for i := range killSinks {
			for _, id := range signalledWebhooks(ctx, t, s.client, sinkWorkflowID(userID("sink", i))) {
				inHistory[id] = true
			}
		}
		lost = lost[:0]
		for id := range accepted {
			if !inHistory[id] {
				lost = append(lost, id)
			}
		}
		return len(lost) == 0
	}, 90*time.Second, time.Second, "webhooks answered 2xx but not in history after the restart: %v", lost)
	t.Logf("%d webhooks accepted before the kill, all in history after the restart; %d refused or cut off",
		len(accepted), refused.Load())
}

// signalledWebhooks lists the webhook ids of the webhook signals in a workflow's history.
func signalledWebhooks(ctx context.Context, t *testing.T, c client.Client, workflowID string) []string {
	var ids []string
	iter := c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		attrs := ev.GetWorkflowExecutionSignaledEventAttributes()
		if attrs == nil || attrs.GetSignalName() != workflows.SignalWebhook {
			continue
		}
		var got treezor.Event
		require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &got))
		ids = append(ids, got.WebhookID)
	}
	return ids
}

func runKillChild(t *testing.T, dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := startStack(ctx, embedded.Config{DataDir: dir}, nil)
	require.NoError(t, err)
	p, err := s.startProduct(ctx, workflows.TaskQueue, false)
	require.NoError(t, err)
	require.NoError(t, startSinks(ctx, p.client, p.sinkQueue, killSinks))
	line, err := json.Marshal(killChildInfo{BridgeURL: p.bridgeURL, Secret: p.webhookSecret})
	require.NoError(t, err)
	_, err = os.Stdout.WriteString(killChildReady + string(line) + "\n")
	require.NoError(t, err)
	select {} // until killed
}
