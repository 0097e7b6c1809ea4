package embedded

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// admin is a plain gRPC connection to the frontend, used to prepare the cluster.
type admin struct {
	conn      *grpc.ClientConn
	workflow  workflowservice.WorkflowServiceClient
	operator  operatorservice.OperatorServiceClient
	namespace string
}

func dialAdmin(address, namespace string, t *TLS) (*admin, error) {
	creds := insecure.NewCredentials()
	if t != nil {
		cfg, err := t.clientConfig()
		if err != nil {
			return nil, fmt.Errorf("frontend TLS: %w", err)
		}
		creds = credentials.NewTLS(cfg)
	}
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("connect to frontend %s: %w", address, err)
	}
	return &admin{
		conn:      conn,
		workflow:  workflowservice.NewWorkflowServiceClient(conn),
		operator:  operatorservice.NewOperatorServiceClient(conn),
		namespace: namespace,
	}, nil
}

func (a *admin) close() { _ = a.conn.Close() }

// frontendHealthService is the gRPC health service name the frontend reports as serving
// once it is ready. Asking it, unlike calling the API early, logs no errors.
const frontendHealthService = "temporal.api.workflowservice.v1.WorkflowService"

// waitServing polls until the frontend reports itself serving.
func (a *admin) waitServing(ctx context.Context) error {
	health := healthpb.NewHealthClient(a.conn)
	return poll(ctx, "wait for the frontend to serve", func(ctx context.Context) error {
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: frontendHealthService})
		if err != nil {
			return err
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("frontend is %s", resp.GetStatus())
		}
		return nil
	})
}

// historyShardCount is the shard count the cluster runs with (the stored one).
func (a *admin) historyShardCount(ctx context.Context) (int32, error) {
	var count int32
	err := poll(ctx, "read cluster info", func(ctx context.Context) error {
		info, err := a.workflow.GetClusterInfo(ctx, &workflowservice.GetClusterInfoRequest{})
		count = info.GetHistoryShardCount()
		return err
	})
	return count, err
}

// ensureNamespace registers the namespace if it is missing and sets its retention.
func (a *admin) ensureNamespace(ctx context.Context, retention time.Duration) error {
	what := fmt.Sprintf("register namespace %s", a.namespace)
	return poll(ctx, what, func(ctx context.Context) error {
		desc, err := a.workflow.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: a.namespace})
		switch {
		case status.Code(err) == codes.NotFound:
			_, err = a.workflow.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
				Namespace:                        a.namespace,
				Description:                      "registered by qesflow",
				WorkflowExecutionRetentionPeriod: durationpb.New(retention),
			})
			if err != nil && status.Code(err) != codes.AlreadyExists {
				return permanentIfInvalid(err)
			}
			return errors.New("namespace registered, waiting until it is visible")
		case err != nil:
			return err
		case desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() != retention:
			_, err = a.workflow.UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
				Namespace: a.namespace,
				Config: &namespacepb.NamespaceConfig{
					WorkflowExecutionRetentionTtl: durationpb.New(retention),
				},
			})
			if err != nil {
				return permanentIfInvalid(err)
			}
			return errors.New("namespace retention updated, waiting until it is visible")
		default:
			return nil
		}
	})
}

// ensureSearchAttributes adds the attributes the namespace lacks, refuses one registered with
// another type, and waits until visibility queries accept all of them.
func (a *admin) ensureSearchAttributes(ctx context.Context, want map[string]enumspb.IndexedValueType) error {
	var missing map[string]enumspb.IndexedValueType
	err := poll(ctx, "list search attributes", func(ctx context.Context) error {
		var err error
		missing, err = a.missingSearchAttributes(ctx, want)
		return err
	})
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		err = poll(ctx, "add search attributes", func(ctx context.Context) error {
			_, err := a.operator.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
				Namespace:        a.namespace,
				SearchAttributes: missing,
			})
			return permanentIfInvalid(err)
		})
		if err != nil {
			return err
		}
	}
	return poll(ctx, "wait until the search attributes are usable", func(ctx context.Context) error {
		left, err := a.missingSearchAttributes(ctx, want)
		if err != nil {
			return err
		}
		if len(left) > 0 {
			return fmt.Errorf("not yet listed: %s", strings.Join(slices.Sorted(maps.Keys(left)), ", "))
		}
		// The frontend validates queries against its namespace cache, which is what
		// workflow starts with these attributes need too.
		_, err = a.workflow.CountWorkflowExecutions(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: a.namespace,
			Query:     matchAllQuery(want),
		})
		return err
	})
}

// missingSearchAttributes lists the wanted attributes the namespace lacks. One registered
// with another type is a permanent error.
func (a *admin) missingSearchAttributes(ctx context.Context, want map[string]enumspb.IndexedValueType) (map[string]enumspb.IndexedValueType, error) {
	resp, err := a.operator.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: a.namespace})
	if err != nil {
		return nil, err
	}
	have := resp.GetCustomAttributes()
	missing := map[string]enumspb.IndexedValueType{}
	var conflicts []error
	for _, name := range slices.Sorted(maps.Keys(want)) {
		got, ok := have[name]
		switch {
		case !ok:
			missing[name] = want[name]
		case got != want[name]:
			conflicts = append(conflicts, fmt.Errorf("search attribute %s is registered as %s, want %s", name, got, want[name]))
		}
	}
	if len(conflicts) > 0 {
		return nil, permanent{errors.Join(conflicts...)}
	}
	return missing, nil
}

// matchAllQuery is a visibility query that names every attribute in want.
func matchAllQuery(want map[string]enumspb.IndexedValueType) string {
	var terms []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		var literal string
		switch want[name] {
		case enumspb.INDEXED_VALUE_TYPE_INT, enumspb.INDEXED_VALUE_TYPE_DOUBLE:
			literal = "0"
		case enumspb.INDEXED_VALUE_TYPE_BOOL:
			literal = "true"
		case enumspb.INDEXED_VALUE_TYPE_DATETIME:
			literal = "'2000-01-01T00:00:00Z'"
		default:
			literal = "'-'"
		}
		terms = append(terms, fmt.Sprintf("%s = %s", name, literal))
	}
	return strings.Join(terms, " AND ")
}
