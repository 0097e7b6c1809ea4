package workflows_test

import (
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/qesflow/qesflow/workflows"
)

var record = flag.Bool("record", false, "re-record workflows/testdata/*.json from runs on an in-process Temporal server")

// recordedHistories are the histories TestReplay requires in testdata.
var recordedHistories = []string{
	"success", "success-de", "retry-then-success", "fraud-clear", "fraud-reject", "expiry",
	"user-data-incomplete", "cancel", "continue-as-new-run1", "continue-as-new-run2",
}

// olderHistories are the directories of histories recorded by earlier versions of the
// workflow, oldest first: v0 before changeLeanTask, v1 with its version 1. They cannot be
// re-recorded; they prove that runs an earlier worker started go on.
var olderHistories = []string{filepath.Join("testdata", "v0"), filepath.Join("testdata", "v1")}

// TestReplay replays every recorded history with the current workflow code: a change
// that is not replay-safe (without workflow.GetVersion) fails here. testdata holds the
// histories of the current code (re-recorded with -record), olderHistories those of
// earlier versions.
func TestReplay(t *testing.T) {
	for _, dir := range append([]string{"testdata"}, olderHistories...) {
		files, err := filepath.Glob(filepath.Join(dir, "*.json"))
		require.NoError(t, err)
		have := map[string]bool{}
		for _, f := range files {
			have[strings.TrimSuffix(filepath.Base(f), ".json")] = true
		}
		for _, name := range recordedHistories {
			require.True(t, have[name], "%s/%s.json is missing (testdata: go test ./workflows -run TestRecordHistories -record; testdata/v*: restore it from git, it cannot be re-recorded)", dir, name)
		}
		replayFiles(t, files)
	}
}

// replayFiles replays each history file in a subtest named after it.
func replayFiles(t *testing.T, files []string) {
	logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	for _, file := range files {
		t.Run(filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file), func(t *testing.T) {
			replayer := worker.NewWorkflowReplayer()
			replayer.RegisterWorkflowWithOptions(workflows.QESOnboarding, workflow.RegisterOptions{Name: workflows.WorkflowName})
			require.NoError(t, replayer.ReplayWorkflowHistoryFromJSONFile(logger, file))
		})
	}
}

// TestRecordHistories re-records testdata/*.json: every scenario runs on an in-process
// Temporal server with the real activities against an httptest Treezor.
func TestRecordHistories(t *testing.T) {
	if !*record {
		t.Skip("recording is off: run `go test ./workflows -run TestRecordHistories -record` to re-record testdata/*.json")
	}
	h := newHarness(t)
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			user := "rec-" + sc.name
			runID, _ := play(t, h, sc, user)
			runs := h.histories(t, user, runID)
			if sc.name == "continue-as-new" {
				require.GreaterOrEqual(t, len(runs), 2, "the scenario must continue as new")
				runs = runs[:2]
			} else {
				require.Len(t, runs, 1)
			}
			for i, hist := range runs {
				name := sc.name
				if len(runs) > 1 {
					name += "-run" + string(rune('1'+i))
				}
				b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join("testdata", name+".json"), append(b, '\n'), 0o644))
			}
		})
	}
}
