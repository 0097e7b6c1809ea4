package embedded

import (
	"database/sql"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/workflows"
)

// schemaObject is one row of sqlite_master.
type schemaObject struct{ Type, Name, Table, SQL string }

func readSchema(t *testing.T, path string) map[string]schemaObject {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query("SELECT type, name, tbl_name, COALESCE(sql, '') FROM sqlite_master")
	require.NoError(t, err)
	defer rows.Close()
	objects := map[string]schemaObject{}
	for rows.Next() {
		var o schemaObject
		require.NoError(t, rows.Scan(&o.Type, &o.Name, &o.Table, &o.SQL))
		objects[o.Name] = o
	}
	require.NoError(t, rows.Err())
	return objects
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

// TestNewStoreDropsOnlyUnusedVisibilityIndexes compares a new store built with all visibility
// indexes with one built trimmed, for the same namespace: they differ only by the dropped indexes of
// executions_visibility, which are all but keptVisibilityIndexes and those of the namespace's
// search attribute columns.
func TestNewStoreDropsOnlyUnusedVisibilityIndexes(t *testing.T) {
	t.Parallel()
	ns, err := newNamespaceConfig(Config{}.withDefaults(), workflows.SearchAttributeTypes())
	require.NoError(t, err)
	columns := searchAttributeColumns(ns)
	require.Len(t, columns, len(workflows.SearchAttributeTypes()))

	build := func(trim bool) map[string]schemaObject {
		dir := t.TempDir()
		path := filepath.Join(dir, DatabaseFileName)
		require.NoError(t, createSQLiteDatabase(dir, path, ns, trim))
		return readSchema(t, path)
	}
	full, trimmed := build(false), build(true)

	want := slices.Clone(keptVisibilityIndexes)
	for _, column := range columns {
		if index := customColumnIndex(t, column); index != "" {
			want = append(want, index)
		}
	}
	var fullIndexes, kept []string
	for name, o := range full {
		if o.Type == "index" && o.Table == visibilityTable && o.SQL != "" {
			fullIndexes = append(fullIndexes, name)
		}
		if _, ok := trimmed[name]; ok {
			require.Equal(t, o, trimmed[name], "a kept object is unchanged")
			if o.Type == "index" && o.Table == visibilityTable && o.SQL != "" {
				kept = append(kept, name)
			}
		} else {
			require.Equal(t, "index", o.Type, "only indexes are dropped: %s", name)
			require.Equal(t, visibilityTable, o.Table, "only visibility indexes are dropped: %s", name)
		}
	}
	require.Len(t, fullIndexes, 58, "the server's schema")
	require.ElementsMatch(t, want, kept)
	require.Len(t, trimmed, len(full)-58+len(want), "nothing is added")
	for _, name := range []string{"executions_visibility_fts_text", "executions_visibility_fts_keyword_list",
		"executions_visibility_ai", "executions_visibility_ad", "executions_visibility_au"} {
		require.Contains(t, trimmed, name)
	}
}

// TestUnknownVisibilitySchemaIsLeftAlone checks that a schema without one of the indexes the
// list keeps, not the one it was written for, loses nothing.
func TestUnknownVisibilitySchemaIsLeftAlone(t *testing.T) {
	t.Parallel()
	ns, err := newNamespaceConfig(Config{}.withDefaults(), workflows.SearchAttributeTypes())
	require.NoError(t, err)
	dir := t.TempDir()
	path := filepath.Join(dir, DatabaseFileName)
	require.NoError(t, createSQLiteDatabase(dir, path, ns, false))

	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	_, err = db.Exec("DROP INDEX by_status")
	require.NoError(t, db.Close())
	require.NoError(t, err)
	before := readSchema(t, path)

	require.NoError(t, dropUnusedVisibilityIndexes(path, searchAttributeColumns(ns)))
	after := readSchema(t, path)
	require.ElementsMatch(t, slices.Collect(maps.Keys(before)), slices.Collect(maps.Keys(after)))
}
