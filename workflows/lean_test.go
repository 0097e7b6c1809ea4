package workflows_test

import (
	"os"
	"path/filepath"
	"strings"
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
// its recording from before changeLeanTask: it ends with the same search attributes,
// upserts the product's attributes at most once per workflow task, and has no more upserts
// (the version marker's own included) and no more timers. The two runs of the
// continue-as-new scenario count as one story: a lean first run reaches its event limit
// later in the story.
func TestLeanTaskWritesLess(t *testing.T) {
	stories := map[string][]string{}
	var names []string
	for _, name := range recordedHistories {
		story, _, _ := strings.Cut(name, "-run")
		if _, ok := stories[story]; !ok {
			names = append(names, story)
		}
		stories[story] = append(stories[story], name)
	}
	fewer := 0
	for _, story := range names {
		t.Run(story, func(t *testing.T) {
			lean, before := storyCosts(t, "testdata", stories[story]), storyCosts(t, filepath.Join("testdata", "v0"), stories[story])
			require.Equal(t, before.final, lean.final, "the story must end with the same search attributes")
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

// storyCosts adds up the costs of the runs of one story; its search attributes are those
// its last run ends with.
func storyCosts(t *testing.T, dir string, runs []string) historyCosts {
	var sum historyCosts
	for _, name := range runs {
		c := readCosts(t, filepath.Join(dir, name+".json"))
		sum.upserts += c.upserts
		sum.timers += c.timers
		sum.maxUpsertsPerTask = max(sum.maxUpsertsPerTask, c.maxUpsertsPerTask)
		sum.final = c.final
	}
	return sum
}
