package starter

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/outbound"
	"github.com/qesflow/qesflow/workflows"
)

// TestOpenAPIWebhooksMatchEvents: the document's webhooks are the outbound event types, and
// the event schemas name exactly the fields outbound.Event and outbound.Data send; the
// README's events table lists every type too.
func TestOpenAPIWebhooksMatchEvents(t *testing.T) {
	var doc map[string]any
	require.NoError(t, json.Unmarshal(openAPIJSON, &doc))
	require.ElementsMatch(t, outbound.Types, keys(at(t, doc, "webhooks")))
	var enum []string
	for _, v := range at(t, doc, "components", "schemas", "OnboardingEvent", "properties", "type")["enum"].([]any) {
		enum = append(enum, v.(string))
	}
	require.Equal(t, outbound.Types, enum)
	require.ElementsMatch(t, jsonFields(reflect.TypeFor[outbound.Event]()),
		keys(at(t, doc, "components", "schemas", "OnboardingEvent", "properties")))
	require.ElementsMatch(t, jsonFields(reflect.TypeFor[outbound.Data]()),
		keys(at(t, doc, "components", "schemas", "EventData", "properties")))
	require.ElementsMatch(t, jsonFields(reflect.TypeFor[workflows.EventDelivery]()),
		keys(at(t, doc, "components", "schemas", "Status", "properties", "events", "properties")))

	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	for _, typ := range outbound.Types {
		require.Contains(t, string(readme), "| `"+typ+"` |", "the README's events table lists %s", typ)
	}
}

// at is the object at path in doc.
func at(t *testing.T, doc map[string]any, path ...string) map[string]any {
	t.Helper()
	node := doc
	for _, p := range path {
		next, ok := node[p].(map[string]any)
		require.True(t, ok, "no object at %v", path)
		node = next
	}
	return node
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// jsonFields are the JSON names of a struct's fields.
func jsonFields(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		out = append(out, name)
	}
	return out
}
