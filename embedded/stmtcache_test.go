package embedded

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	persistencesql "go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/common/resolver"
)

// TestStatementCacheReachesThePluginsHandle fails when an upgrade of the server's SQLite
// plugin moves the handle cacheStatements swaps: the database the server then opens must
// run on connections that cache statements, on the same store.
func TestStatementCacheReachesThePluginsHandle(t *testing.T) {
	sqlCfg := sqliteMemoryStore(Config{})
	release, err := cacheStatements(sqlCfg, log.NewNoopLogger())
	require.NoError(t, err)
	defer func() { require.NoError(t, release()) }()

	// What the server does when it starts: open the store through the plugin.
	db, err := persistencesql.NewSQLDB(sqlplugin.DbKindMain, sqlCfg, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
	require.NoError(t, err)
	defer db.Close()
	xdb, err := pooledHandle(db)
	require.NoError(t, err)

	// The schema the plugin created on its first connection is there: the same store.
	for range 3 {
		var n int
		require.NoError(t, xdb.QueryRow(`SELECT count(*) FROM namespaces`).Scan(&n))
		require.Zero(t, n)
	}
	conn, err := xdb.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.Raw(func(dc any) error {
		c, ok := dc.(interface{ Len() int })
		require.True(t, ok, "the connection is a %T, not a caching one", dc)
		require.Equal(t, 1, c.Len(), "the count query is cached")
		return nil
	}))

	// Opening it again (a restart in the same process) keeps the one cached handle.
	again, err := cacheStatements(sqlCfg, log.NewNoopLogger())
	require.NoError(t, err)
	require.NoError(t, again())
}

func TestSQLiteDSNMatchesThePlugins(t *testing.T) {
	cfg := sqliteMemoryStore(Config{SQLitePragmas: map[string]string{"busy_timeout": "5000"}})
	cfg.DatabaseName = "x"
	require.Equal(t, "file:x?_pragma=busy_timeout%3D5000&_time_format=sqlite&cache=shared&mode=memory", sqliteDSN(cfg))
}
