package embedded_test

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/workflows"
)

// serverVisibilityIndexes are the indexes of executions_visibility a new tuned store keeps
// whatever the namespace's search attributes.
var serverVisibilityIndexes = []string{
	"default_idx", "by_execution_time", "by_workflow_id", "by_workflow_type", "by_status",
	"by_task_queue", "by_temporal_namespace_division", "by_temporal_scheduled_by_id",
	"by_temporal_schedule_paused",
}

// visibilityFTS are the fts5 tables and the triggers that fill them, never dropped.
var visibilityFTS = []string{
	"executions_visibility_fts_text", "executions_visibility_fts_keyword_list",
	"executions_visibility_ai", "executions_visibility_ad", "executions_visibility_au",
}

func TestNewDataDirKeepsOnlyQueriedVisibilityIndexes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := embedded.Config{DataDir: dir, UIPort: embedded.UIDisabled}

	first := startOnce(t, cfg)
	c := dialOnce(t, first)
	aliases := searchAttributeAliases(t, c, first.Namespace())
	require.ElementsMatch(t, slices.Collect(maps.Keys(workflows.SearchAttributeTypes())), slices.Collect(maps.Values(aliases)))

	stopWorker := runWorker(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	const id = "greet-indexes"
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             testTaskQueue,
		TypedSearchAttributes: qesflowSearchAttributes("user-indexes"),
	}, greet, "indexes")
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, nil))
	stopWorker()
	requireQueriesFind(t, c, id)
	c.Close()
	require.NoError(t, first.Stop())

	// The kept indexes: the server's and those of the columns the attributes are mapped to.
	want := slices.Clone(serverVisibilityIndexes)
	for column := range aliases {
		if index := customColumnIndex(t, column); index != "" {
			want = append(want, index)
		}
	}
	require.Len(t, aliases, len(workflows.SearchAttributeTypes()))
	indexes, objects := visibilitySchema(t, dir)
	require.ElementsMatch(t, want, indexes)
	require.Subset(t, objects, visibilityFTS)

	// A restart on the existing file neither fails nor drops more; the run is still listed.
	second := startOnce(t, cfg)
	c = dialOnce(t, second)
	require.Equal(t, aliases, searchAttributeAliases(t, c, second.Namespace()))
	requireQueriesFind(t, c, id)
	c.Close()
	require.NoError(t, second.Stop())
	restarted, objects := visibilitySchema(t, dir)
	require.ElementsMatch(t, want, restarted)
	require.Subset(t, objects, visibilityFTS)
}

func TestAllVisibilityIndexesDataDirKeepsThem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := embedded.Config{DataDir: dir, UIPort: embedded.UIDisabled, AllVisibilityIndexes: true}
	srv := startOnce(t, cfg)
	require.NoError(t, srv.Stop())
	indexes, objects := visibilitySchema(t, dir)
	require.Len(t, indexes, 58, "the server's schema")
	require.Subset(t, indexes, []string{"by_history_length", "by_parent_workflow_id", "by_batcher_user", "by_keyword_10"})
	require.Subset(t, objects, visibilityFTS)

	// An existing file is left as it is, even by a server that would trim a new one.
	cfg.AllVisibilityIndexes = false
	srv = startOnce(t, cfg)
	require.NoError(t, srv.Stop())
	again, _ := visibilitySchema(t, dir)
	require.ElementsMatch(t, indexes, again)
}

// requireQueriesFind checks that listing every workflow, and queries on qesflow's search
// attributes, find run id.
func requireQueriesFind(t *testing.T, c client.Client, id string) {
	t.Helper()
	queries := []string{
		"",
		workflows.SAQESState + " = 'AWAITING_USER'",
		workflows.SATreezorUserID + " = 'user-indexes' AND " + workflows.SAQESAttempt + " = 1",
		workflows.SAQESIdentificationID + " = 'ident-1' AND ExecutionStatus = 'Completed'",
	}
	for _, query := range queries {
		require.Eventually(t, func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
			if err != nil {
				return false
			}
			for _, e := range resp.GetExecutions() {
				if e.GetExecution().GetWorkflowId() == id {
					return true
				}
			}
			return false
		}, testTimeout, 200*time.Millisecond, "query %q", query)
	}
}

// searchAttributeAliases maps the visibility columns of the namespace's search attributes to
// their names, e.g. "Keyword03" -> "QESState".
func searchAttributeAliases(t *testing.T, c client.Client, namespace string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	ns, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	require.NoError(t, err)
	return ns.GetConfig().GetCustomSearchAttributeAliases()
}

// customColumnIndex is the schema's name of the index of a pre-allocated custom column:
// "Keyword03" -> "by_keyword_03".
func customColumnIndex(t *testing.T, column string) string {
	t.Helper()
	m := regexp.MustCompile(`^([A-Za-z]+)(\d\d)$`).FindStringSubmatch(column)
	require.NotNil(t, m, "column %q", column)
	if m[1] == "KeywordList" {
		return "" // keyword lists are searched through the fts5 table, not a b-tree index
	}
	return fmt.Sprintf("by_%s_%s", strings.ToLower(m[1]), m[2])
}

// visibilitySchema reads the store in dir: the indexes of executions_visibility the schema
// created, and the names of all its objects.
func visibilitySchema(t *testing.T, dir string) (indexes, objects []string) {
	t.Helper()
	path := filepath.Join(dir, embedded.DatabaseFileName)
	require.FileExists(t, path)
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query("SELECT type, name, tbl_name, sql IS NOT NULL FROM sqlite_master")
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var kind, name, table string
		var hasSQL bool
		require.NoError(t, rows.Scan(&kind, &name, &table, &hasSQL))
		objects = append(objects, name)
		if kind == "index" && table == "executions_visibility" && hasSQL {
			indexes = append(indexes, name)
		}
	}
	require.NoError(t, rows.Err())
	return indexes, objects
}
