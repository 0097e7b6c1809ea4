package starter

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// openAPIDoc is the part of the OpenAPI document the tests compare with the route table.
type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
	} `json:"components"`
}

type openAPIOperation struct {
	OperationID string                     `json:"operationId"`
	Security    *[]map[string][]string     `json:"security"`
	Responses   map[string]json.RawMessage `json:"responses"`
}

func loadOpenAPI(doc []byte) (openAPIDoc, map[string]openAPIOperation, error) {
	var d openAPIDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return d, nil, err
	}
	ops := map[string]openAPIOperation{}
	for path, item := range d.Paths {
		for method, raw := range item {
			if method == "parameters" || method == "summary" || method == "description" {
				continue
			}
			var op openAPIOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				return d, nil, fmt.Errorf("%s %s: %w", method, path, err)
			}
			ops[strings.ToUpper(method)+" "+path] = op
		}
	}
	return d, ops, nil
}

// openAPIDifferences lists every disagreement between an OpenAPI document and the routes:
// paths and methods both ways, operation ids, security scopes and response status codes.
func openAPIDifferences(doc []byte, table []route) []string {
	d, ops, err := loadOpenAPI(doc)
	if err != nil {
		return []string{err.Error()}
	}
	var diffs []string
	add := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	if !strings.HasPrefix(d.OpenAPI, "3.") {
		add("not an OpenAPI 3 document: %q", d.OpenAPI)
	}
	if _, ok := d.Components.SecuritySchemes["apiKey"]; !ok {
		add("no apiKey security scheme")
	}
	routes := map[string]route{}
	for _, rt := range table {
		if _, dup := routes[rt.pattern()]; dup {
			add("route %s listed twice", rt.pattern())
		}
		routes[rt.pattern()] = rt
	}
	for key := range ops {
		if _, ok := routes[key]; !ok {
			add("the document has %s, the router does not", key)
		}
	}
	for key, rt := range routes {
		op, ok := ops[key]
		if !ok {
			add("the router has %s, the document does not", key)
			continue
		}
		if rt.operationID != op.OperationID {
			add("%s: operationId %q, route %q", key, op.OperationID, rt.operationID)
		}
		want := []map[string][]string{}
		switch {
		case rt.anyScope:
			for _, name := range rt.scope.Names() { // alternatives: any one scope
				want = append(want, map[string][]string{"apiKey": {name}})
			}
		case rt.scope != 0:
			want = []map[string][]string{{"apiKey": rt.scope.Names()}}
		}
		switch {
		case op.Security == nil:
			add("%s: no security declared ([] for public)", key)
		case fmt.Sprint(*op.Security) != fmt.Sprint(want):
			add("%s: security %v, route needs %v", key, *op.Security, want)
		}
		var documented []int
		for code := range op.Responses {
			n, err := strconv.Atoi(code)
			if err != nil {
				add("%s: response %q is not a status code", key, code)
			}
			documented = append(documented, n)
		}
		sort.Ints(documented)
		handled := rt.answers()
		sort.Ints(handled)
		if fmt.Sprint(documented) != fmt.Sprint(handled) {
			add("%s: documented responses %v, the handler answers %v", key, documented, handled)
		}
	}
	sort.Strings(diffs)
	return diffs
}

// TestOpenAPIMatchesRoutes fails when a route and the checked-in document disagree.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	require.Empty(t, openAPIDifferences(openAPIJSON, routeTable()))
}

// TestOpenAPIDifferencesCatchesDrift proves the comparison fails on each kind of drift.
func TestOpenAPIDifferencesCatchesDrift(t *testing.T) {
	mutate := func(f func(doc map[string]any)) []byte {
		var doc map[string]any
		require.NoError(t, json.Unmarshal(openAPIJSON, &doc))
		f(doc)
		out, err := json.Marshal(doc)
		require.NoError(t, err)
		return out
	}
	paths := func(doc map[string]any) map[string]any { return doc["paths"].(map[string]any) }
	op := func(doc map[string]any, path, method string) map[string]any {
		return paths(doc)[path].(map[string]any)[method].(map[string]any)
	}
	tests := map[string]struct {
		doc   []byte
		table []route
		want  string
	}{
		"route missing from the document": {
			doc:  mutate(func(d map[string]any) { delete(paths(d), "/v1/onboardings/{userId}/cancel") }),
			want: "the router has POST /v1/onboardings/{userId}/cancel, the document does not",
		},
		"route missing from the router": {
			doc:   openAPIJSON,
			table: routeTable()[1:],
			want:  "the document has POST /v1/onboardings, the router does not",
		},
		"extra method in the document": {
			doc: mutate(func(d map[string]any) {
				paths(d)["/v1/onboardings/{userId}"].(map[string]any)["delete"] = map[string]any{"operationId": "x"}
			}),
			want: "the document has DELETE /v1/onboardings/{userId}",
		},
		"wrong scope": {
			doc: mutate(func(d map[string]any) {
				op(d, "/v1/onboardings/{userId}/details", "get")["security"] = []any{map[string]any{"apiKey": []any{"onboarding"}}}
			}),
			want: "GET /v1/onboardings/{userId}/details: security",
		},
		"public by mistake": {
			doc:  mutate(func(d map[string]any) { op(d, "/v1/onboardings", "post")["security"] = []any{} }),
			want: "POST /v1/onboardings: security",
		},
		"undocumented status": {
			doc: mutate(func(d map[string]any) {
				delete(op(d, "/v1/onboardings", "post")["responses"].(map[string]any), "422")
			}),
			want: "POST /v1/onboardings: documented responses",
		},
		"renamed operation": {
			doc:  mutate(func(d map[string]any) { op(d, "/openapi.json", "get")["operationId"] = "spec" }),
			want: `GET /openapi.json: operationId "spec"`,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			table := tt.table
			if table == nil {
				table = routeTable()
			}
			diffs := openAPIDifferences(tt.doc, table)
			require.NotEmpty(t, diffs)
			require.Contains(t, strings.Join(diffs, "\n"), tt.want)
		})
	}
}

// TestOpenAPIRefsResolve checks every $ref points at a component that exists.
func TestOpenAPIRefsResolve(t *testing.T) {
	var doc map[string]any
	require.NoError(t, json.Unmarshal(openAPIJSON, &doc))
	refs := 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				refs++
				require.True(t, strings.HasPrefix(ref, "#/"), ref)
				var node any = doc
				for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
					m, ok := node.(map[string]any)
					require.True(t, ok, "unresolvable $ref %s", ref)
					node, ok = m[part]
					require.True(t, ok, "unresolvable $ref %s", ref)
				}
			}
			for _, child := range v {
				walk(child)
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	walk(doc)
	require.Greater(t, refs, 20)
}

// TestRouteTableAuthStatuses: every authenticated route declares 400, 401, 403 and the server
// error statuses, since every one of them can answer so.
func TestRouteTableAuthStatuses(t *testing.T) {
	for _, rt := range routeTable() {
		if rt.scope == 0 {
			continue
		}
		for _, code := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
			http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusGatewayTimeout} {
			require.Contains(t, rt.statuses, code, rt.pattern())
		}
	}
}
