package embedded

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/server/common/dynamicconfig"
)

// TestExplicitSettingsOverrideDefaults checks that the default pragmas and dynamic config
// apply, and that explicit settings replace them key by key.
func TestExplicitSettingsOverrideDefaults(t *testing.T) {
	ns, err := newNamespaceConfig(Config{}.withDefaults(), nil)
	require.NoError(t, err)
	tuned, err := sqliteFileStore(t.TempDir(), Config{}, ns)
	require.NoError(t, err)
	require.Equal(t, "wal", tuned.ConnectAttributes["journal_mode"])
	require.Len(t, dynamicConfig(Config{}), len(DefaultDynamicConfig))

	explicit := Config{SQLitePragmas: map[string]string{"journal_mode": "delete", "synchronous": "full"},
		DynamicConfig: map[string]any{"history.hostLevelCacheMaxSize": 128000}}
	withPragma, err := sqliteFileStore(t.TempDir(), explicit, ns)
	require.NoError(t, err)
	require.Equal(t, "delete", withPragma.ConnectAttributes["journal_mode"])
	require.Equal(t, "full", withPragma.ConnectAttributes["synchronous"])
	require.Equal(t, DefaultSQLitePragmas["busy_timeout"], withPragma.ConnectAttributes["busy_timeout"])
	dc := dynamicConfig(explicit)
	require.Len(t, dc, len(DefaultDynamicConfig))
	require.Equal(t, 128000, dc[dynamicconfig.MakeKey("history.hostLevelCacheMaxSize")])

	pool := Config{DataDir: t.TempDir(), SQLitePragmas: map[string]string{"journal_mode": "delete"}, SQLiteMaxConns: 2}.withDefaults()
	require.ErrorContains(t, pool.validate(), "needs journal_mode=wal")
}
