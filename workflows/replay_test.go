package workflows_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/qesflow/qesflow/outbound"
	"github.com/qesflow/qesflow/outbound/outboundtest"
	"github.com/qesflow/qesflow/workflows"
)

var record = flag.Bool("record", false, "record the histories of scenarios that testdata/MANIFEST does not list yet")

// The history corpus: every recorded history under testdata/, listed with its SHA-256 in
// testdata/MANIFEST. The corpus is append-only: TestHistoryCorpusIsAppendOnly fails when a
// listed history is edited or deleted, or a history is not listed; TestReplay replays every
// history with today's code, so a workflow change that alters the commands of any recorded
// run fails unless it is gated with workflow.GetVersion (and its new histories are added
// with -record).
const manifestPath = "testdata/MANIFEST"

// manifestEntry is one line of the manifest: "<sha256>  <file>".
type manifestEntry struct{ sum, file string }

func readManifest(t *testing.T) []manifestEntry {
	t.Helper()
	f, err := os.Open(manifestPath)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	var out []manifestEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sum, file, ok := strings.Cut(line, "  ")
		require.True(t, ok, "malformed manifest line %q", line)
		out = append(out, manifestEntry{sum: sum, file: file})
	}
	require.NoError(t, sc.Err())
	return out
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestHistoryCorpusIsAppendOnly checks the corpus against the manifest: every listed
// history is present and unchanged, every history is listed.
func TestHistoryCorpusIsAppendOnly(t *testing.T) {
	entries := readManifest(t)
	require.NotEmpty(t, entries, "%s lists no history", manifestPath)
	listed := map[string]bool{}
	for _, e := range entries {
		require.False(t, listed[e.file], "%s is listed twice", e.file)
		listed[e.file] = true
		path := filepath.Join("testdata", e.file)
		_, err := os.Stat(path)
		require.NoError(t, err, "%s was deleted: recorded histories are never removed", path)
		require.Equal(t, e.sum, fileSum(t, path), "%s was edited: recorded histories are never changed; record a new one instead", path)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	for _, f := range files {
		require.True(t, listed[filepath.Base(f)], "%s is not in %s (record with -record, which lists it)", f, manifestPath)
	}
}

// TestReplay replays every recorded history with the current workflow code.
func TestReplay(t *testing.T) {
	entries := readManifest(t)
	require.NotEmpty(t, entries)
	logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	for _, e := range entries {
		t.Run(e.file, func(t *testing.T) {
			replayer := worker.NewWorkflowReplayer()
			replayer.RegisterWorkflowWithOptions(workflows.QESOnboarding, workflow.RegisterOptions{Name: workflows.WorkflowName})
			replayer.RegisterWorkflowWithOptions(workflows.QESEventDelivery, workflow.RegisterOptions{Name: workflows.EventDeliveryWorkflowName})
			require.NoError(t, replayer.ReplayWorkflowHistoryFromJSONFile(logger, filepath.Join("testdata", e.file)))
		})
	}
}

// TestEveryScenarioIsRecorded: the scenario table and the corpus agree.
func TestEveryScenarioIsRecorded(t *testing.T) {
	entries := readManifest(t)
	for _, sc := range scenarios() {
		found := slices.ContainsFunc(entries, func(e manifestEntry) bool {
			return e.file == sc.name+".json" || strings.HasPrefix(e.file, sc.name+"-run")
		})
		require.True(t, found, "scenario %s has no recorded history (go test ./workflows -run TestRecordHistories -record)", sc.name)
		if sc.refuseFinal > 0 {
			require.True(t, slices.ContainsFunc(entries, func(e manifestEntry) bool { return e.file == sc.name+"-delivery.json" }),
				"scenario %s has no recorded QESEventDelivery history", sc.name)
		}
	}
}

// TestReplayCoversEventDelivery: the corpus holds QESEventDelivery histories (recorded as
// <scenario>-delivery.json), which TestReplay replays with the onboarding's.
func TestReplayCoversEventDelivery(t *testing.T) {
	var delivery int
	for _, e := range readManifest(t) {
		b, err := os.ReadFile(filepath.Join("testdata", e.file))
		require.NoError(t, err)
		var hist historypb.History
		require.NoError(t, temporalproto.CustomJSONUnmarshalOptions{}.Unmarshal(b, &hist))
		started := hist.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
		if started.GetWorkflowType().GetName() == workflows.EventDeliveryWorkflowName {
			require.True(t, strings.HasSuffix(e.file, "-delivery.json"), e.file)
			delivery++
		}
	}
	require.Positive(t, delivery, "no QESEventDelivery history recorded")
}

// TestRecordHistories records the scenarios the manifest does not list yet: each runs on
// an in-process Temporal server with the real activities against an httptest Treezor.
// It never overwrites a recorded history; it appends to the manifest.
func TestRecordHistories(t *testing.T) {
	if !*record {
		t.Skip("recording is off: run `go test ./workflows -run TestRecordHistories -record` to record new scenarios")
	}
	entries := readManifest(t)
	recorded := map[string]bool{}
	for _, e := range entries {
		recorded[e.file] = true
	}
	// The recorder's worker delivers events to a loopback receiver that accepts them, so the
	// scenarios of the outbound-events change record their deliveries.
	secret := outboundtest.Secret("record")
	rcv := outboundtest.NewReceiver(t, secret)
	secrets, err := outbound.ParseSecrets(secret)
	require.NoError(t, err)
	// A compliance endpoint too, so the followUp scenarios record its events.
	complianceSecret := outboundtest.Secret("record-compliance")
	audit := outboundtest.NewReceiver(t, complianceSecret)
	own, err := outbound.ParseSecrets(complianceSecret)
	require.NoError(t, err)
	sender, err := outbound.NewSender(outbound.Config{Secrets: secrets, Endpoints: []outbound.Endpoint{
		{Name: "backend", URL: rcv.URL}, {Name: "audit", URL: audit.URL, Secrets: own, Compliance: true}}})
	require.NoError(t, err)
	h := newHarnessWith(t, sender)
	for _, sc := range scenarios() {
		if recorded[sc.name+".json"] || recorded[sc.name+"-run1.json"] {
			continue
		}
		t.Run(sc.name, func(t *testing.T) {
			user := "rec-" + sc.name
			if sc.refuseFinal > 0 {
				var mu sync.Mutex
				refused := 0
				rcv.SetAnswer(func(d outboundtest.Delivery) int {
					mu.Lock()
					defer mu.Unlock()
					if d.Event.Data.Final && refused < sc.refuseFinal {
						refused++
						return http.StatusServiceUnavailable
					}
					return http.StatusNoContent
				})
				defer rcv.SetAnswer(nil)
			}
			runID, _ := play(t, h, sc, user)
			runs := h.histories(t, user, runID)
			if strings.HasPrefix(sc.name, "continue-as-new") {
				require.GreaterOrEqual(t, len(runs), 2, "the scenario must continue as new")
			} else {
				require.Len(t, runs, 1)
			}
			var lines []string
			for i, hist := range runs {
				name := sc.name + ".json"
				if len(runs) > 1 {
					name = fmt.Sprintf("%s-run%d.json", sc.name, i+1)
				}
				path := filepath.Join("testdata", name)
				_, err := os.Stat(path)
				require.True(t, os.IsNotExist(err), "%s exists but is not in the manifest", path)
				b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
				lines = append(lines, fileSum(t, path)+"  "+name+"\n")
			}
			if sc.refuseFinal > 0 {
				// The ended run handed its last event over: record the delivery workflow too.
				last := h.latestRunID(t, user)
				id := workflows.EventDeliveryID(user, last)
				var res workflows.EventDeliveryResult
				require.NoError(t, h.client.GetWorkflow(ctxFor(t), id, "").Get(ctxFor(t), &res))
				require.Equal(t, 1, res.Delivered, "the delivery workflow delivered the final event")
				hist := h.history(t, id, "")
				name := sc.name + "-delivery.json"
				path := filepath.Join("testdata", name)
				_, err := os.Stat(path)
				require.True(t, os.IsNotExist(err), "%s exists but is not in the manifest", path)
				b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
				lines = append(lines, fileSum(t, path)+"  "+name+"\n")
			}
			f, err := os.OpenFile(manifestPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			require.NoError(t, err)
			_, err = f.WriteString(strings.Join(lines, ""))
			require.NoError(t, err)
			require.NoError(t, f.Close())
		})
	}
}
