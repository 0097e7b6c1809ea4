package starter

import (
	"sync"
	"testing"

	"github.com/qesflow/qesflow/internal/schemacheck"
)

var (
	apiCheckerOnce sync.Once
	apiChecker     *schemacheck.Checker
	apiCheckerErr  error
)

// apiSchema is the checker for starter/openapi.json, built once per test binary.
func apiSchema(t testing.TB) *schemacheck.Checker {
	t.Helper()
	apiCheckerOnce.Do(func() { apiChecker, apiCheckerErr = schemacheck.New(openAPIJSON) })
	if apiCheckerErr != nil {
		t.Fatal(apiCheckerErr)
	}
	return apiChecker
}
