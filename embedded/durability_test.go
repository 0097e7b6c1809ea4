package embedded_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/workflows"
)

// The killed process of TestDataDirSurvivesProcessKill is this test binary, re-run with
// crashChildDirEnv set: it starts a server on that directory, starts a run, announces
// crashChildReady on stdout and waits to be killed.
const (
	crashChildDirEnv = "QESFLOW_EMBEDDED_CRASH_CHILD_DIR"
	crashChildReady  = "QESFLOW-EMBEDDED-CRASH-CHILD-READY"
	crashWorkflowID  = "await-crash"
)

func TestDataDirSurvivesProcessKill(t *testing.T) {
	if dir := os.Getenv(crashChildDirEnv); dir != "" {
		runCrashChild(t, dir)
		return
	}
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")

	child := exec.Command(os.Args[0], "-test.run=^TestDataDirSurvivesProcessKill$")
	child.Env = append(os.Environ(), crashChildDirEnv+"="+dir)
	var childErr bytes.Buffer
	child.Stderr = &childErr
	stdout, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	ready := make(chan bool, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			if lines.Text() == crashChildReady {
				ready <- true
				return
			}
		}
		ready <- false
	}()
	// childErr may be read only once the child is waited for.
	select {
	case ok := <-ready:
		if !ok {
			_ = child.Wait()
			t.Fatalf("the child exited before it was ready:\n%s", childErr.String())
		}
	case <-time.After(testTimeout):
		_ = child.Process.Kill()
		_ = child.Wait()
		t.Fatalf("the child was not ready in time:\n%s", childErr.String())
	}
	// SIGKILL: no shutdown hook, no flush, no checkpoint.
	require.NoError(t, child.Process.Kill())
	_ = child.Wait()

	srv := startServer(t, embedded.Config{DataDir: dir, UIPort: embedded.UIDisabled})
	c := dial(t, srv)
	runWorker(t, c)
	require.Equal(t, "resumed with after-crash", resumeAndWait(t, c, crashWorkflowID, "after-crash"))

	// Visibility lives in the same file and survived too.
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	require.Eventually(t, func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: workflows.SATreezorUserID + " = '" + crashWorkflowID + "'",
		})
		return err == nil && len(resp.GetExecutions()) == 1
	}, testTimeout, 200*time.Millisecond)
}

func runCrashChild(t *testing.T, dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	srv, err := embedded.Start(ctx, embedded.Config{DataDir: dir, UIPort: embedded.UIDisabled})
	require.NoError(t, err)
	c := dialOnce(t, srv)
	startAwaitResume(t, c, crashWorkflowID)
	_, err = os.Stdout.WriteString(crashChildReady + "\n")
	require.NoError(t, err)
	select {} // until killed
}
