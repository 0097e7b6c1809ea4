package embedded_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", to create and drop test databases
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/internal/pgtest"
)

func TestPostgresSurvivesRestart(t *testing.T) {
	t.Parallel()
	server := pgtest.Server(t)
	database := "qesflow_test_" + strings.ToLower(rand.Text())
	dsn := pgtest.DSN(server, database)
	pgtest.DropAtEnd(t, server, database, database+embedded.VisibilityDatabaseSuffix)

	cfg := embedded.Config{PostgresDSN: dsn, UIPort: embedded.UIDisabled}
	first := startOnce(t, cfg)
	c := dialOnce(t, first)
	requireSearchAttributes(t, c, first.Namespace())
	startAwaitResume(t, c, "await-postgres")
	c.Close()
	require.NoError(t, first.Stop())

	second := startServer(t, cfg)
	c = dial(t, second)
	runWorker(t, c)
	require.Equal(t, "resumed with after-restart", resumeAndWait(t, c, "await-postgres", "after-restart"))
	requireSearchAttributes(t, c, second.Namespace())

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	require.Eventually(t, func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: "TreezorUserId = 'await-postgres' AND ExecutionStatus = 'Completed'",
		})
		return err == nil && len(resp.GetExecutions()) == 1
	}, testTimeout, 200*time.Millisecond)
}
