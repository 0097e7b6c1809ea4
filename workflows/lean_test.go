package workflows_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// changeVersionAttribute is the search attribute workflow.GetVersion upserts.
const changeVersionAttribute = "TemporalChangeVersion"

// historyCosts are the writes of one recorded run that changeLeanTask reduces, and the
// search attributes the run ends with.
type historyCosts struct {
	upserts, timers int
	// maxUpsertsPerTask counts the upserts of the product's attributes in one workflow task.
	maxUpsertsPerTask int
	final             map[string]string
}

func readCosts(t *testing.T, file string) historyCosts {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	require.NoError(t, err)
	c := historyCosts{final: map[string]string{}}
	inTask := 0
	apply := func(fields map[string][]byte) {
		for k, v := range fields {
			if k != changeVersionAttribute {
				c.final[k] = string(v)
			}
		}
	}
	for _, ev := range hist.GetEvents() {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			apply(payloadData(ev.GetWorkflowExecutionStartedEventAttributes().GetSearchAttributes().GetIndexedFields()))
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			inTask = 0
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			c.timers++
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			c.upserts++
			fields := payloadData(ev.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields())
			if _, version := fields[changeVersionAttribute]; !version {
				inTask++
				c.maxUpsertsPerTask = max(c.maxUpsertsPerTask, inTask)
			}
			apply(fields)
		}
	}
	return c
}

func payloadData[P interface{ GetData() []byte }](fields map[string]P) map[string][]byte {
	out := make(map[string][]byte, len(fields))
	for k, p := range fields {
		out[k] = p.GetData()
	}
	return out
}

// TestLeanTaskWritesLess compares every scenario recorded with the current code against
// its recording from before changeLeanTask: the run ends with the same search attributes,
// upserts the product's attributes at most once per workflow task, and has no more upserts
// (the version marker's own included) and no more timers.
func TestLeanTaskWritesLess(t *testing.T) {
	fewer := 0
	for _, name := range recordedHistories {
		t.Run(name, func(t *testing.T) {
			lean := readCosts(t, filepath.Join("testdata", name+".json"))
			before := readCosts(t, filepath.Join("testdata", "v0", name+".json"))
			require.Equal(t, before.final, lean.final, "the run must end with the same search attributes")
			require.LessOrEqual(t, lean.maxUpsertsPerTask, 1, "at most one upsert of the product's attributes per workflow task")
			require.LessOrEqual(t, lean.upserts, before.upserts, "upserts")
			require.LessOrEqual(t, lean.timers, before.timers, "timers")
			if lean.upserts+lean.timers < before.upserts+before.timers {
				fewer++
			}
			t.Logf("upserts %d → %d, timers %d → %d", before.upserts, lean.upserts, before.timers, lean.timers)
		})
	}
	require.Positive(t, fewer, "no recorded scenario writes less than before changeLeanTask")
}
