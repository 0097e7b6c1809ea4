package treezorsim

import (
	_ "embed"
	"net/http"
)

// openAPIJSON describes the simulator's API calls and script endpoints, served at
// GET /openapi.json.
//
//go:embed openapi.json
var openAPIJSON []byte

func handleOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIJSON)
}
