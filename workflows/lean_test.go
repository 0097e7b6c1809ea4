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
// its recordings by the earlier versions (olderHistories: before changeLeanTask, and its
// version 1): it ends with the same search attributes, upserts the product's attributes at
// most once per workflow task, and has no more upserts (the version marker's own included)
// and no more timers than any earlier version. Each version must write less than the one
// before in at least one scenario. The two runs of the continue-as-new scenario count as
// one story: a lean first run reaches its event limit later in the story.
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
	dirs := append(append([]string{}, olderHistories...), "testdata")
	for i := 1; i < len(dirs); i++ {
		newer := dirs[i]
		fewer := 0
		for _, story := range names {
			t.Run(filepath.Base(newer)+"/"+story, func(t *testing.T) {
				now := storyCosts(t, newer, stories[story])
				require.LessOrEqual(t, now.maxUpsertsPerTask, 1, "at most one upsert of the product's attributes per workflow task")
				for _, older := range dirs[:i] {
					before := storyCosts(t, older, stories[story])
					require.Equal(t, before.final, now.final, "the story must end with the same search attributes as in %s", older)
					require.LessOrEqual(t, now.upserts, before.upserts, "upserts against %s", older)
					require.LessOrEqual(t, now.timers, before.timers, "timers against %s", older)
				}
				prev := storyCosts(t, dirs[i-1], stories[story])
				if now.upserts+now.timers < prev.upserts+prev.timers {
					fewer++
				}
				t.Logf("against %s: upserts %d → %d, timers %d → %d", dirs[i-1], prev.upserts, now.upserts, prev.timers, now.timers)
			})
		}
		require.Positive(t, fewer, "no scenario recorded in %s writes less than in %s", newer, dirs[i-1])
	}
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
