package bench

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/dynamicconfig"

	"github.com/qesflow/qesflow/embedded"
)

// sqliteOwnPragmas are SQLite's own values of the pragmas embedded.DefaultSQLitePragmas tunes:
// a rollback journal synced on every commit, no lock wait, automatic checkpoints, no log limit.
var sqliteOwnPragmas = map[string]string{
	"journal_mode":       "delete",
	"synchronous":        "full",
	"busy_timeout":       "0",
	"wal_autocheckpoint": "1000",
	"journal_size_limit": "-1",
}

// serverOwnDynamicConfig is go.temporal.io/server's own value of every setting
// embedded.DefaultDynamicConfig tunes, read from the server's setting definitions; a tuned key
// the bench does not know stays nil here (TestUntunedConfigUndoesEveryTuning catches it).
func serverOwnDynamicConfig() map[string]any {
	none := dynamicconfig.NewNoopCollection()
	byKey := map[string]any{
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key().String(): dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Get(none)(embedded.DefaultNamespace),
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key().String():          dynamicconfig.MatchingNumTaskqueueWritePartitions.Get(none)(embedded.DefaultNamespace, BareTaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW),
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key().String():                 dynamicconfig.HistoryCacheHostLevelMaxSize.Get(none)(),
		dynamicconfig.ExternalPayloadsEnabled.Key().String():                      dynamicconfig.ExternalPayloadsEnabled.Get(none)(embedded.DefaultNamespace),
	}
	own := make(map[string]any, len(embedded.DefaultDynamicConfig))
	for key := range embedded.DefaultDynamicConfig {
		own[key] = byKey[dynamicconfig.MakeKey(key).String()]
	}
	return own
}

// untunedConfig is the baseline server of the bench: go.temporal.io/server as it configures a
// SQLite file store by default, none of qesflow's tuning, in dataDir.
func untunedConfig(dataDir string) embedded.Config {
	return embedded.Config{
		DataDir:              dataDir,
		SQLitePragmas:        sqliteOwnPragmas,
		DynamicConfig:        serverOwnDynamicConfig(),
		AllVisibilityIndexes: true,
		NoStatementCache:     true,
	}
}

// externalPayloadsKey is the dynamic config setting qesflow turns off (embedded.DefaultDynamicConfig).
const externalPayloadsKey = "history.externalPayloadsEnabled"

// baselineWorkflowRelease is the release of the workflow's changes (workflows.ChangeRelease)
// of the day issue 24 was filed: its Treezor calls are activities (release 3 makes them local
// activities). The baseline product's worker runs at it (worker.Options.WorkflowRelease).
const baselineWorkflowRelease = 2

// baselineMeasure names the baseline configuration's full path in the report.
const baselineMeasure = "full-path onboarding, baseline configuration (no statement cache, external payloads on, GOGC 100, workflow release 2)"

// baselineConfig is the embedded server as qesflow configured it the day issue 24 was filed,
// the baseline its CPU target is measured against: tuned, but without the prepared-statement
// cache and with the server's own history.externalPayloadsEnabled, in dataDir. (The process's
// GOGC of that day, Go's default, is the segment's: see setGCPercent.)
func baselineConfig(dataDir string) embedded.Config {
	return embedded.Config{
		DataDir:          dataDir,
		NoStatementCache: true,
		DynamicConfig:    map[string]any{externalPayloadsKey: serverOwnDynamicConfig()[externalPayloadsKey]},
	}
}
