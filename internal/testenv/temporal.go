// Package testenv starts the real in-process Temporal server that tests run against.
package testenv

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/temporaltest"

	"github.com/qesflow/qesflow/workflows"
)

// NewTemporal starts an in-process Temporal server (go.temporal.io/server/temporaltest) for t,
// with qesflow's search attributes registered in its default namespace. It is stopped when t ends.
func NewTemporal(t testing.TB, opts ...temporaltest.TestServerOption) *temporaltest.TestServer {
	t.Helper()
	tt, ok := t.(*testing.T)
	if ok {
		opts = append([]temporaltest.TestServerOption{temporaltest.WithT(tt)}, opts...)
	}
	ts := temporaltest.NewServer(opts...)
	if !ok {
		t.Cleanup(ts.Stop)
	}
	RegisterSearchAttributes(t, ts.GetDefaultClient(), ts.GetDefaultNamespace())
	return ts
}

// RegisterSearchAttributes adds qesflow's search attributes to namespace.
func RegisterSearchAttributes(t testing.TB, c client.Client, namespace string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: workflows.SearchAttributeTypes(),
	})
	if err != nil {
		t.Fatalf("register search attributes in %s: %v", namespace, err)
	}
}
