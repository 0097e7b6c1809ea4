package bench

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/embedded"
)

// TestUntunedConfigUndoesEveryTuning checks that the baseline sets every pragma and every
// dynamic config key qesflow tunes, to a value other than qesflow's, and keeps all indexes.
func TestUntunedConfigUndoesEveryTuning(t *testing.T) {
	cfg := untunedConfig(t.TempDir())
	require.True(t, cfg.AllVisibilityIndexes)
	for name, tuned := range embedded.DefaultSQLitePragmas {
		require.Contains(t, cfg.SQLitePragmas, name)
		require.NotEqual(t, tuned, cfg.SQLitePragmas[name], name)
	}
	for key, tuned := range embedded.DefaultDynamicConfig {
		require.NotNil(t, cfg.DynamicConfig[key], key)
		require.NotEqual(t, tuned, cfg.DynamicConfig[key], key)
	}
	require.Equal(t, 10, cfg.DynamicConfig["frontend.namespaceRPS.visibility"])
	require.Equal(t, 128000, cfg.DynamicConfig["history.hostLevelCacheMaxSize"])
}

// TestBaselineConfigIsTheDayOfIssue24 checks that the baseline configuration differs from
// today's embedded server exactly by the statement cache and external payloads.
func TestBaselineConfigIsTheDayOfIssue24(t *testing.T) {
	cfg := baselineConfig(t.TempDir())
	require.True(t, cfg.NoStatementCache)
	require.Equal(t, map[string]any{externalPayloadsKey: true}, cfg.DynamicConfig, "the server's own value, and nothing else undone")
	require.Contains(t, embedded.DefaultDynamicConfig, externalPayloadsKey)
	require.NotEqual(t, embedded.DefaultDynamicConfig[externalPayloadsKey], cfg.DynamicConfig[externalPayloadsKey])
	require.Nil(t, cfg.SQLitePragmas)
	require.False(t, cfg.AllVisibilityIndexes)
}
