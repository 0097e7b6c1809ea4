package bench

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
)

// missedCloseClient answers GetWorkflow with a run whose first Get waits until its context
// ends, as a long poll that missed the workflow's close does, and whose later Gets return the
// result at once, as a poll that reads the closed mutable state does.
type missedCloseClient struct {
	client.Client
	gets    int
	missAll bool // every Get misses the close
}

func (c *missedCloseClient) GetWorkflow(ctx context.Context, wid, runID string) client.WorkflowRun {
	return &missedCloseRun{c: c}
}

type missedCloseRun struct {
	client.WorkflowRun
	c *missedCloseClient
}

func (r *missedCloseRun) Get(ctx context.Context, valuePtr any) error {
	r.c.gets++
	if r.c.gets == 1 || r.c.missAll {
		<-ctx.Done()
		return ctx.Err()
	}
	*valuePtr.(*string) = "done"
	return nil
}

// TestWorkflowResultAsksAgainAfterAMissedClose: a result whose long poll missed the close
// arrives about resultWait later, not after the server's 20 s long poll.
func TestWorkflowResultAsksAgainAfterAMissedClose(t *testing.T) {
	c := &missedCloseClient{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	var res string
	if err := workflowResult(ctx, c, "w", "r", &res); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); res != "done" || c.gets != 2 || took > 2*resultWait {
		t.Fatalf("result %q after %d gets in %s, want done after 2 gets within %s", res, c.gets, took, 2*resultWait)
	}
}

// TestWorkflowResultStopsWithItsContext: the run's own context still bounds the wait.
func TestWorkflowResultStopsWithItsContext(t *testing.T) {
	c := &missedCloseClient{missAll: true}
	ctx, cancel := context.WithTimeout(context.Background(), resultWait/2)
	defer cancel()
	var res string
	if err := workflowResult(ctx, c, "w", "r", &res); err == nil {
		t.Fatal("no error after the context ended")
	}
}
