package treezorsim

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// webhookFixture is one documented webhook shape (treezor/testdata/contract/webhooks).
type webhookFixture struct {
	name     string
	outer    map[string]json.RawMessage // the body's top level
	envelope map[string]json.RawMessage // the flat envelope (inside "webhook" when wrapped)
	rootKey  string
	item     map[string]json.RawMessage
}

func loadWebhookFixtures(t *testing.T) map[string][]webhookFixture {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "treezor", "testdata", "contract", "webhooks", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	byType := map[string][]webhookFixture{}
	for _, path := range files {
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		f := parseWebhookShape(t, filepath.Base(path), raw)
		var typ string
		require.NoError(t, json.Unmarshal(f.envelope["webhook"], &typ), f.name)
		byType[typ] = append(byType[typ], f)
	}
	return byType
}

// parseWebhookShape splits a webhook body into its envelope, payload root key and first item.
func parseWebhookShape(t *testing.T, name string, body []byte) webhookFixture {
	t.Helper()
	f := webhookFixture{name: name}
	require.NoError(t, json.Unmarshal(body, &f.outer), name)
	f.envelope = f.outer
	if inner := f.outer["webhook"]; len(inner) > 0 && inner[0] == '{' {
		f.envelope = nil // a map of its own, not merged into outer
		require.NoError(t, json.Unmarshal(inner, &f.envelope), name)
	}
	var payload map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(f.envelope["object_payload"], &payload), name)
	require.Len(t, payload, 1, "%s: one root key", name)
	for k, list := range payload {
		f.rootKey = k
		var items []map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(list, &items), name)
		require.NotEmpty(t, items, name)
		f.item = items[0]
	}
	return f
}

// kind is the JSON kind of a value as PHP varies it: strings, numbers and booleans are one
// kind (PHP writes ids either way), null goes with anything, an empty array with an object.
func kind(v json.RawMessage) string {
	if len(v) == 0 || string(v) == "null" {
		return "null"
	}
	switch v[0] {
	case '{', '[':
		return "container"
	default:
		return "scalar"
	}
}

// TestSimulatorWebhooksMatchContractFixtures: every webhook the simulator sends, in every
// variant, has the shape of a documented fixture of its type: the same envelope fields (no
// field Treezor does not send), the same payload root key, item fields that the documented
// items have, each of a compatible kind. The client's decoder is tested against the same
// fixtures (treezor/contract_webhooks_test.go), so the simulator and the client cannot drift
// apart.
func TestSimulatorWebhooksMatchContractFixtures(t *testing.T) {
	fixtures := loadWebhookFixtures(t)
	all := AllWebhookVariants()
	all.HoldMax = 20 * time.Millisecond
	for name, variants := range map[string]WebhookVariants{"plain": {}, "all variants": all} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Webhooks = variants })
			h.rec.acceptVariants()
			got := runFullFlow(t, h, "contract-1")
			ident := h.initiate("contract-2", "FR")
			require.NoError(t, h.sim.Act(ident.IdentificationID, Abort(3011)))
			h.waitIdle()
			got = h.rec.all()
			seen := map[string]bool{}
			for _, r := range got {
				seen[r.event.Type] = true
				shape := parseWebhookShape(t, r.event.Type, r.body)
				docs := fixtures[r.event.Type]
				require.NotEmpty(t, docs, "no documented shape of %s", r.event.Type)
				requireDocumentedShape(t, shape, docs, sameRootKey(fixtures, docs[0].rootKey))
			}
			for _, typ := range []string{"qes.created", "qes.processing", "qes.finalized", "qes.aborted", "document.create",
				"user.kycreview", "payin.create", "payin.update"} {
				require.True(t, seen[typ], "the flow sent no %s", typ)
			}
			if variants.KYCRequest {
				require.True(t, seen["user.kycrequest"])
			}
		})
	}
}

// sameRootKey returns every fixture whose payload has the root key (the same Treezor object,
// e.g. the users of user.kycreview and user.kycrequest).
func sameRootKey(fixtures map[string][]webhookFixture, rootKey string) []webhookFixture {
	var out []webhookFixture
	for _, fs := range fixtures {
		for _, f := range fs {
			if f.rootKey == rootKey {
				out = append(out, f)
			}
		}
	}
	return out
}

// requireDocumentedShape checks got against the documented shapes of its type (envelope and
// root key) and of its object (item fields).
func requireDocumentedShape(t *testing.T, got webhookFixture, docs, objects []webhookFixture) {
	t.Helper()
	envelopeKeys, outerKeys, itemKinds := map[string]bool{}, map[string]bool{}, map[string]map[string]bool{}
	for _, d := range docs {
		require.Equal(t, d.rootKey, got.rootKey, "%s: payload root key", got.name)
		for k := range d.envelope {
			envelopeKeys[k] = true
		}
		for k := range d.outer {
			outerKeys[k] = true
		}
	}
	for _, d := range objects {
		for k, v := range d.item {
			if itemKinds[k] == nil {
				itemKinds[k] = map[string]bool{}
			}
			itemKinds[k][kind(v)] = true
		}
	}
	for k := range got.envelope {
		require.True(t, envelopeKeys[k], "%s: envelope field %q is not in the documented shapes %v", got.name, k, slices.Sorted(maps.Keys(envelopeKeys)))
	}
	if _, wrapped := got.outer["messageId"]; wrapped {
		for k := range got.outer {
			require.True(t, outerKeys[k] || k == "messageId" || k == "webhookId" || k == "webhook",
				"%s: wrapped field %q is not documented", got.name, k)
		}
	}
	for k, v := range got.item {
		kinds := itemKinds[k]
		require.NotNil(t, kinds, "%s: item field %q is not in the documented %s items", got.name, k, got.rootKey)
		if kind(v) != "null" && !kinds["null"] {
			require.True(t, kinds[kind(v)], "%s: item field %q is a %s, documented as %v", got.name, k, kind(v), kinds)
		}
	}
}
