package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx": create and drop test databases
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/internal/pgtest"
	"github.com/qesflow/qesflow/workflows"
)

// runSetupCommand runs `qesflow setup` against address and returns its stdout.
func runSetupCommand(t *testing.T, address, namespace string, extra ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args := append([]string{"setup", "--temporal-address", address, "--namespace", namespace, "--log-format", "console"}, extra...)
	code := runMain(context.Background(), args, &stdout, &stderr)
	require.Equal(t, 0, code, "qesflow setup: stdout %s stderr %s", stdout.String(), stderr.String())
	return stdout.String()
}

// requirePrepared checks the namespace's retention and that it has every search attribute
// of the workflows package.
func requirePrepared(t *testing.T, c client.Client, namespace string, retention time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	desc, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	require.NoError(t, err)
	require.Equal(t, retention, desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration())
	list, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	require.NoError(t, err)
	for name, typ := range workflows.SearchAttributeTypes() {
		require.Equal(t, typ, list.GetCustomAttributes()[name], "search attribute %s", name)
	}
}

func dialFrontend(t *testing.T, srv *embedded.Server, namespace string) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: namespace})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// exerciseSetup runs setup on a namespace the server does not know (fresh), then again (set
// up already: nothing changes), then on the server's own namespace.
func exerciseSetup(t *testing.T, srv *embedded.Server) {
	c := dialFrontend(t, srv, srv.Namespace())
	out := runSetupCommand(t, srv.FrontendAddress(), "qesflow-setup", "--retention", "72h")
	require.Contains(t, out, "namespace qesflow-setup: created, retention 72h0m0s")
	require.Contains(t, out, "search attributes: added ")
	for name := range workflows.SearchAttributeTypes() {
		require.Contains(t, out, name)
	}
	requirePrepared(t, c, "qesflow-setup", 72*time.Hour)

	out = runSetupCommand(t, srv.FrontendAddress(), "qesflow-setup", "--retention", "72h")
	require.Contains(t, out, "namespace qesflow-setup: exists, retention 72h0m0s")
	require.Contains(t, out, "search attributes: all registered")
	requirePrepared(t, c, "qesflow-setup", 72*time.Hour)

	// The retention follows the setting on every deploy.
	t.Setenv("QESFLOW_RETENTION", "720h")
	out = runSetupCommand(t, srv.FrontendAddress(), "qesflow-setup")
	require.Contains(t, out, "retention updated to 720h0m0s")
	requirePrepared(t, c, "qesflow-setup", 720*time.Hour)

	out = runSetupCommand(t, srv.FrontendAddress(), srv.Namespace(), "--retention", "24h")
	require.Contains(t, out, "search attributes: all registered")
	requirePrepared(t, c, srv.Namespace(), 24*time.Hour)
}

func TestSetupOnEmbeddedServer(t *testing.T) {
	srv := startEmbedded(t, embedded.Config{Ephemeral: true})
	exerciseSetup(t, srv)
}

func TestSetupOnPostgresServer(t *testing.T) {
	server := pgtest.Server(t)
	database := "qesflow_setup_" + strings.ToLower(rand.Text())
	pgtest.DropAtEnd(t, server, database, database+embedded.VisibilityDatabaseSuffix)
	srv := startEmbedded(t, embedded.Config{PostgresDSN: pgtest.DSN(server, database)})
	exerciseSetup(t, srv)
}

// Readiness tells the truth: the API answers 503 naming the missing search attributes while
// the namespace lacks them (every onboarding start would fail), 503 naming the namespace while
// it does not exist, and 200 once qesflow setup ran.
func TestAPIReadinessNeedsTheNamespaceAndSearchAttributes(t *testing.T) {
	srv := startEmbedded(t, embedded.Config{Ephemeral: true})
	c := dialFrontend(t, srv, srv.Namespace())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	addr := loopbackAddr(t)
	t.Setenv("QESFLOW_API_KEYS", "ready-test-key-5e9a1c7f3b8d2e6a0c4f:onboarding")
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr syncBuffer
	go func() {
		done <- runMain(runCtx, []string{"api", "--addr", addr, "--log-format", "console",
			"--temporal-address", srv.FrontendAddress(), "--namespace", "bare"}, io.Discard, &stderr)
	}()
	t.Cleanup(func() {
		stop()
		<-done
	})
	readyz := func() (int, string) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	require.Eventually(t, func() bool {
		code, body := readyz()
		return code == http.StatusServiceUnavailable && strings.Contains(body, "namespace bare does not exist")
	}, 60*time.Second, 100*time.Millisecond, "stderr: %s", stderr.String())

	_, err := c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: "bare", WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		code, body := readyz()
		return code == http.StatusServiceUnavailable && strings.Contains(body, "lacks search attributes") &&
			strings.Contains(body, workflows.SAQESIdentificationID)
	}, 60*time.Second, 100*time.Millisecond)

	runSetupCommand(t, srv.FrontendAddress(), "bare")
	require.Eventually(t, func() bool {
		code, _ := readyz()
		return code == http.StatusOK
	}, 60*time.Second, 100*time.Millisecond)
}

func startEmbedded(t *testing.T, cfg embedded.Config) *embedded.Server {
	t.Helper()
	cfg.UIPort = embedded.UIDisabled
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv, err := embedded.Start(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}
