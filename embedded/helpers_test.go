package embedded_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/workflows"
)

const (
	testTaskQueue = "embedded-test"
	resumeSignal  = "resume"
)

// testTimeout bounds each step that waits on the server; the box is shared and slow.
const testTimeout = 90 * time.Second

// greet is a tiny workflow that runs one activity.
func greet(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	var greeting string
	err := workflow.ExecuteActivity(ctx, makeGreeting, name).Get(ctx, &greeting)
	return greeting, err
}

func makeGreeting(_ context.Context, name string) (string, error) {
	return "hello " + name, nil
}

// awaitResume waits for the resume signal and returns its payload.
func awaitResume(ctx workflow.Context) (string, error) {
	var payload string
	workflow.GetSignalChannel(ctx, resumeSignal).Receive(ctx, &payload)
	return "resumed with " + payload, nil
}

// startServer starts a server and stops it at the end of the test.
func startServer(t *testing.T, cfg embedded.Config) *embedded.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	srv, err := embedded.Start(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Stop()) })
	return srv
}

// dial returns an SDK client of srv's namespace, closed at the end of the test.
func dial(t *testing.T, srv *embedded.Server) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  srv.FrontendAddress(),
		Namespace: srv.Namespace(),
		Logger:    quietSDKLogger(),
	})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// runWorker runs a worker for the test workflows until the returned stop is called (or the
// test ends).
func runWorker(t *testing.T, c client.Client) (stop func()) {
	t.Helper()
	w := worker.New(c, testTaskQueue, worker.Options{})
	w.RegisterWorkflow(greet)
	w.RegisterWorkflow(awaitResume)
	w.RegisterActivity(makeGreeting)
	require.NoError(t, w.Start())
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			w.Stop()
		}
	}
	t.Cleanup(stop)
	return stop
}

// qesflowSearchAttributes sets every qesflow search attribute, as the onboarding workflow does.
func qesflowSearchAttributes(userID string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		temporal.NewSearchAttributeKeyKeyword(workflows.SATreezorUserID).ValueSet(userID),
		temporal.NewSearchAttributeKeyKeyword(workflows.SAQESState).ValueSet("AWAITING_USER"),
		temporal.NewSearchAttributeKeyInt64(workflows.SAQESAttempt).ValueSet(1),
		temporal.NewSearchAttributeKeyInt64(workflows.SAQESReasonCode).ValueSet(0),
		temporal.NewSearchAttributeKeyKeyword(workflows.SAQESIdentificationID).ValueSet("ident-1"),
		temporal.NewSearchAttributeKeyKeyword(workflows.SAKYCReview).ValueSet("NONE"),
	)
}

// startAwaitResume starts awaitResume with every qesflow search attribute set.
func startAwaitResume(t *testing.T, c client.Client, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             testTaskQueue,
		TypedSearchAttributes: qesflowSearchAttributes(id),
	}, awaitResume)
	require.NoError(t, err)
}

// resumeAndWait signals awaitResume run id and returns its result.
func resumeAndWait(t *testing.T, c client.Client, id, payload string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	require.NoError(t, c.SignalWorkflow(ctx, id, "", resumeSignal, payload))
	var result string
	require.NoError(t, c.GetWorkflow(ctx, id, "").Get(ctx, &result))
	return result
}

func quietSDKLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
}
