package embedded

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/server/common/dynamicconfig"
)

// TestUntunedKeepsServerDefaults checks that an untuned config adds neither the default
// pragmas nor the default dynamic config, while explicit settings still apply.
func TestUntunedKeepsServerDefaults(t *testing.T) {
	ns, err := newNamespaceConfig(Config{}.withDefaults(), nil)
	require.NoError(t, err)
	tuned, err := sqliteFileStore(t.TempDir(), Config{}, ns)
	require.NoError(t, err)
	require.Equal(t, "wal", tuned.ConnectAttributes["journal_mode"])
	require.Len(t, dynamicConfig(Config{}), len(DefaultDynamicConfig))

	untuned, err := sqliteFileStore(t.TempDir(), Config{Untuned: true}, ns)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"mode": "rwc"}, untuned.ConnectAttributes)
	require.Empty(t, dynamicConfig(Config{Untuned: true}))

	explicit := Config{Untuned: true, SQLitePragmas: map[string]string{"synchronous": "off"},
		DynamicConfig: map[string]any{"limit.maxIDLength": 255}}
	withPragma, err := sqliteFileStore(t.TempDir(), explicit, ns)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"mode": "rwc", "synchronous": "off"}, withPragma.ConnectAttributes)
	require.Equal(t, dynamicconfig.StaticClient{dynamicconfig.MakeKey("limit.maxIDLength"): 255}, dynamicConfig(explicit))

	pool := Config{DataDir: t.TempDir(), Untuned: true, SQLiteMaxConns: 2}.withDefaults()
	require.ErrorContains(t, pool.validate(), "needs journal_mode=wal")
}
