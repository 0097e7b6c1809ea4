package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	sqliteschema "go.temporal.io/server/schema/sqlite"
)

// visibilityTable is the SQLite table of workflow visibility records.
const visibilityTable = "executions_visibility"

// keptVisibilityIndexes are the indexes of executions_visibility a new SQLite file store keeps
// (unless Config.AllVisibilityIndexes), besides those of the columns qesflow's search
// attributes are mapped to; dropUnusedVisibilityIndexes drops the other ones.
//
// The server's schema creates an index on that table for every column a visibility query
// might filter on, and SQLite maintains every one of them on every visibility write: each
// workflow start, search attribute upsert and close replaces the row, so fewer indexes make
// every write cheaper (docs/performance.md has the measurement). The queries of qesflow and of
// the Web UI need only these:
//
//   - default_idx: listing and counting a namespace, ordered by close and start time (the
//     Web UI's workflow list, ListWorkflow with an empty query);
//   - by_execution_time, by_workflow_id, by_workflow_type, by_status, by_task_queue: the
//     filters of the Web UI and of qesflow (ExecutionStatus, TaskQueue, WorkflowId,
//     WorkflowType);
//   - by_temporal_namespace_division: the server adds "TemporalNamespaceDivision IS NULL"
//     to every list query, to hide its internal workflows;
//   - by_temporal_scheduled_by_id, by_temporal_schedule_paused: the schedule list.
//
// Dropping an index never changes the result of a query, only how fast it runs: a query on
// a dropped column (say HistoryLength, or the parent workflow) still works and scans the
// namespace's rows. The fts5 tables and their triggers, the primary key and the indexes of
// other tables stay as the server creates them.
//
// Only a new database is built this way. An existing file keeps the indexes it has (there is
// no migration): a store created before, or with AllVisibilityIndexes, keeps all of them and is as fast as
// it always was; delete the data directory to get a new one. A search attribute added to the
// namespace later (through the API) is mapped to a column whose index is gone, so queries on
// it scan too until the store is rebuilt.
var keptVisibilityIndexes = []string{
	"default_idx",
	"by_execution_time",
	"by_workflow_id",
	"by_workflow_type",
	"by_status",
	"by_task_queue",
	"by_temporal_namespace_division",
	"by_temporal_scheduled_by_id",
	"by_temporal_schedule_paused",
}

// searchAttributeColumns are the visibility columns ns maps its custom search attributes to,
// e.g. "Keyword03" for QESState.
func searchAttributeColumns(ns *sqliteschema.NamespaceConfig) []string {
	return slices.Sorted(maps.Keys(ns.Detail.GetConfig().GetCustomSearchAttributeAliases()))
}

// dropUnusedVisibilityIndexes drops, in one transaction, the indexes of executions_visibility
// in the SQLite file at path other than keptVisibilityIndexes and those whose first column
// after namespace_id is one of columns (the columns of the namespace's search attributes). It
// leaves the schema alone if it lacks one of keptVisibilityIndexes: that is not the schema
// the list was written for.
func dropUnusedVisibilityIndexes(path string, columns []string) error {
	// The DSN as the server's SQLite plugin builds it; the database must exist.
	params := url.Values{}
	params.Set("mode", "rw")
	params.Add("_pragma", "synchronous=full")
	db, err := sql.Open("sqlite", "file:"+path+"?"+params.Encode())
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("drop unused visibility indexes in %s: %w", path, err)
	}
	defer func() { _ = tx.Rollback() }()

	indexes, err := visibilityIndexColumns(ctx, tx)
	if err != nil {
		return fmt.Errorf("list visibility indexes in %s: %w", path, err)
	}
	for _, name := range keptVisibilityIndexes {
		if _, ok := indexes[name]; !ok {
			return nil
		}
	}
	for _, name := range slices.Sorted(maps.Keys(indexes)) {
		column := indexes[name]
		if slices.Contains(keptVisibilityIndexes, name) ||
			slices.ContainsFunc(columns, func(c string) bool { return strings.EqualFold(c, column) }) {
			continue
		}
		if _, err := tx.ExecContext(ctx, "DROP INDEX IF EXISTS "+quoteIdentifier(name)); err != nil {
			return fmt.Errorf("drop visibility index %s in %s: %w", name, path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("drop unused visibility indexes in %s: %w", path, err)
	}
	return nil
}

// visibilityIndexColumns maps each index of executions_visibility that the schema created
// (not the primary key's) to its second column, "" if that is an expression. SQLite's own
// parse of the index (pragma_index_info) names the column, so the CREATE INDEX text is not
// parsed here.
func visibilityIndexColumns(ctx context.Context, tx *sql.Tx) (map[string]string, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT m.name, COALESCE(c.name, '')
		FROM sqlite_master AS m LEFT JOIN pragma_index_info(m.name) AS c ON c.seqno = 1
		WHERE m.type = 'index' AND m.tbl_name = ? AND m.sql IS NOT NULL`, visibilityTable)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	indexes := map[string]string{}
	for rows.Next() {
		var name, column string
		if err := rows.Scan(&name, &column); err != nil {
			return nil, err
		}
		indexes[name] = column
	}
	return indexes, rows.Err()
}

// quoteIdentifier quotes name as an SQL identifier.
func quoteIdentifier(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
