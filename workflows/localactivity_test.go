package workflows_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"

	"github.com/qesflow/qesflow/activities"
)

// treezorCalls reads how a recorded history ran InitiateQES and RequestKYCReview: the
// activity types of its local activity markers and of its scheduled activities, and whether
// a local activity's retry waited on a workflow timer (a marker with a backoff followed by a
// timer).
func treezorCalls(t *testing.T, file string) (local, scheduled map[string]int, timerBackoff bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	require.NoError(t, err)
	var hist historypb.History
	require.NoError(t, temporalproto.CustomJSONUnmarshalOptions{DiscardUnknown: true}.Unmarshal(b, &hist))
	local, scheduled = map[string]int{}, map[string]int{}
	events := hist.GetEvents()
	for i, ev := range events {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			scheduled[ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()]++
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			attrs := ev.GetMarkerRecordedEventAttributes()
			if attrs.GetMarkerName() != "LocalActivity" {
				continue
			}
			var data struct {
				ActivityType string
				Backoff      int64
			}
			payloads := attrs.GetDetails()["data"].GetPayloads()
			require.NotEmpty(t, payloads, "%s: event %d", file, ev.GetEventId())
			require.NoError(t, json.Unmarshal(payloads[0].GetData(), &data))
			local[data.ActivityType]++
			if data.Backoff > 0 && i+1 < len(events) && events[i+1].GetEventType() == enumspb.EVENT_TYPE_TIMER_STARTED {
				timerBackoff = true
			}
		}
	}
	return local, scheduled, timerBackoff
}

// TestTreezorCallsAreLocalFromFollowUp: from releaseFollowUp on (local-treezor-calls),
// InitiateQES and RequestKYCReview are local activities, retried as local activities (a
// long backoff on a workflow timer); the runs recorded before it scheduled them as activity
// tasks, and replay so.
func TestTreezorCallsAreLocalFromFollowUp(t *testing.T) {
	for _, tc := range []struct {
		file         string
		wantLocal    bool
		timerBackoff bool
	}{
		{file: "success.json"},
		{file: "events-success.json"},
		{file: "local-treezor-calls.json", wantLocal: true},
		{file: "local-treezor-calls-retry.json", wantLocal: true},
		{file: "local-treezor-calls-long-retry.json", wantLocal: true, timerBackoff: true},
		{file: "local-treezor-calls-outage.json", wantLocal: true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			local, scheduled, timerBackoff := treezorCalls(t, tc.file)
			for _, name := range []string{activities.InitiateQESName, activities.RequestKYCReviewName} {
				if tc.wantLocal {
					require.Positive(t, local[name], "%s runs as a local activity", name)
					require.Zero(t, scheduled[name], "%s is not an activity task", name)
				} else {
					require.Positive(t, scheduled[name], "%s is an activity task", name)
					require.Zero(t, local[name], "%s is not a local activity", name)
				}
			}
			require.Equal(t, tc.timerBackoff, timerBackoff, "a retry waited on a workflow timer")
		})
	}
}
