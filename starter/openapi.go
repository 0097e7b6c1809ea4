package starter

import _ "embed"

// openAPIJSON is the API's OpenAPI 3.1 document, served at GET /openapi.json. The tests keep
// it in step with routeTable.
//
//go:embed openapi.json
var openAPIJSON []byte

// OpenAPIDocument returns a copy of the API's OpenAPI document.
func OpenAPIDocument() []byte { return append([]byte(nil), openAPIJSON...) }
