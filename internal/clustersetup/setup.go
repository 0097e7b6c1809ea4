// Package clustersetup prepares a Temporal namespace for qesflow (the namespace with its
// retention, and qesflow's custom search attributes) on any cluster, self-hosted or Temporal
// Cloud, and checks that it is prepared (the readiness of the worker and the API).
package clustersetup

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
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Services are the two Temporal APIs setup uses; an SDK client.Client provides both.
type Services interface {
	WorkflowService() workflowservice.WorkflowServiceClient
	OperatorService() operatorservice.OperatorServiceClient
}

// Config says what the namespace must look like.
type Config struct {
	Namespace string
	// Retention of closed workflows: a missing namespace is created with it, an existing one
	// updated to it (where the caller may update namespaces).
	Retention time.Duration
	// SearchAttributes are the custom search attributes to register (workflows.SearchAttributeTypes).
	SearchAttributes map[string]enumspb.IndexedValueType
	// PollInterval between the checks that wait for a change to be visible (default 500ms).
	PollInterval time.Duration
}

// Result tells what Ensure did.
type Result struct {
	CreatedNamespace bool
	// UpdatedRetention is set when an existing namespace had another retention.
	UpdatedRetention bool
	// RetentionNotUpdated explains why an existing namespace keeps another retention than
	// the configured one (no permission, e.g. on Temporal Cloud, where retention is set in
	// the namespace's settings); empty otherwise.
	RetentionNotUpdated string
	// AddedSearchAttributes are the attributes that were missing, sorted.
	AddedSearchAttributes []string
}

// Ensure creates the namespace if it is missing, registers the search attributes it lacks,
// and waits until both are usable. It is idempotent: on a prepared namespace it changes
// nothing. Errors name what failed and, for a permission error, what lacks permission.
func Ensure(ctx context.Context, svc Services, cfg Config) (Result, error) {
	var res Result
	if cfg.Namespace == "" {
		return res, errors.New("no namespace given")
	}
	if cfg.Retention <= 0 {
		return res, fmt.Errorf("retention %s: want a positive duration", cfg.Retention)
	}
	wf, op := svc.WorkflowService(), svc.OperatorService()

	desc, err := wf.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: cfg.Namespace})
	switch {
	case grpcCode(err) == codes.NotFound:
		_, err = wf.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
			Namespace:                        cfg.Namespace,
			Description:                      "qesflow onboardings (registered by qesflow setup)",
			WorkflowExecutionRetentionPeriod: durationpb.New(cfg.Retention),
		})
		if err != nil && grpcCode(err) != codes.AlreadyExists {
			return res, explain(err, "create namespace "+cfg.Namespace,
				"create it where namespaces are managed (Temporal Cloud: the Cloud UI or tcld namespace create), then run setup again")
		}
		res.CreatedNamespace = err == nil
	case err != nil:
		return res, explain(err, "describe namespace "+cfg.Namespace, "")
	case desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() != cfg.Retention:
		_, err = wf.UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
			Namespace: cfg.Namespace,
			Config:    &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(cfg.Retention)},
		})
		switch code := grpcCode(err); {
		case err == nil:
			res.UpdatedRetention = true
		case code == codes.PermissionDenied || code == codes.Unimplemented || code == codes.Unauthenticated:
			res.RetentionNotUpdated = fmt.Sprintf("namespace %s keeps retention %s, not %s: this identity may not update namespaces (%s); change it in the namespace's settings",
				cfg.Namespace, desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(), cfg.Retention, code)
		default:
			return res, explain(err, "update the retention of namespace "+cfg.Namespace, "")
		}
	}
	if err := waitFor(ctx, cfg, func(ctx context.Context) error {
		_, err := wf.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: cfg.Namespace})
		return err
	}); err != nil {
		return res, fmt.Errorf("namespace %s is not visible: %w", cfg.Namespace, err)
	}

	// The operator service reads the namespace from a cache that learns of a new namespace
	// a little later.
	var missing map[string]enumspb.IndexedValueType
	if err := waitFor(ctx, cfg, func(ctx context.Context) error {
		var err error
		missing, err = missingSearchAttributes(ctx, op, cfg.Namespace, cfg.SearchAttributes)
		if err != nil && grpcCode(err) != codes.NotFound {
			return permanent{err}
		}
		return err
	}); err != nil {
		return res, err
	}
	if len(missing) > 0 {
		_, err := op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
			Namespace:        cfg.Namespace,
			SearchAttributes: missing,
		})
		if err != nil && grpcCode(err) != codes.AlreadyExists {
			return res, explain(err, fmt.Sprintf("add search attributes %s to namespace %s", strings.Join(slices.Sorted(maps.Keys(missing)), ", "), cfg.Namespace),
				"register them where the namespace is managed (Temporal Cloud: the namespace's settings or tcld), then run setup again")
		}
		res.AddedSearchAttributes = slices.Sorted(maps.Keys(missing))
	}
	if err := waitFor(ctx, cfg, func(ctx context.Context) error {
		return Check(ctx, svc, cfg.Namespace, cfg.SearchAttributes)
	}); err != nil {
		return res, fmt.Errorf("verify namespace %s: %w", cfg.Namespace, err)
	}
	return res, nil
}

// Check reports whether namespace exists and every attribute in want can be queried, which
// is what starting an onboarding needs. It uses calls any worker or API identity may make:
// DescribeNamespace and a count query naming every attribute. Its errors say what is missing.
func Check(ctx context.Context, svc Services, namespace string, want map[string]enumspb.IndexedValueType) error {
	wf := svc.WorkflowService()
	_, err := wf.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	if grpcCode(err) == codes.NotFound {
		return fmt.Errorf("namespace %s does not exist (run qesflow setup)", namespace)
	}
	if err != nil {
		return fmt.Errorf("describe namespace %s: %w", namespace, err)
	}
	if len(want) == 0 {
		return nil
	}
	_, err = wf.CountWorkflowExecutions(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Namespace: namespace,
		Query:     matchNothingQuery(want),
	})
	if err == nil {
		return nil
	}
	if grpcCode(err) != codes.InvalidArgument {
		return fmt.Errorf("query namespace %s: %w", namespace, err)
	}
	// Name the missing ones when this identity may list them; otherwise the server's reason.
	if missing, lerr := missingSearchAttributes(ctx, svc.OperatorService(), namespace, want); lerr == nil && len(missing) > 0 {
		return fmt.Errorf("namespace %s lacks search attributes %s (run qesflow setup)",
			namespace, strings.Join(slices.Sorted(maps.Keys(missing)), ", "))
	}
	return fmt.Errorf("namespace %s cannot query qesflow's search attributes (run qesflow setup): %s",
		namespace, serviceerror.ToStatus(err).Message())
}

// missingSearchAttributes lists the wanted attributes the namespace lacks; one registered
// with another type is an error no setup can fix.
func missingSearchAttributes(ctx context.Context, op operatorservice.OperatorServiceClient, namespace string, want map[string]enumspb.IndexedValueType) (map[string]enumspb.IndexedValueType, error) {
	resp, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, explain(err, "list the search attributes of namespace "+namespace, "")
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
			conflicts = append(conflicts, fmt.Errorf("search attribute %s of namespace %s is registered as %s, want %s (remove it or use another namespace)", name, namespace, got, want[name]))
		}
	}
	if err := errors.Join(conflicts...); err != nil {
		return nil, err
	}
	return missing, nil
}

// matchNothingQuery is a visibility query that names every attribute in want; the server
// rejects it with InvalidArgument while one of them is not registered.
func matchNothingQuery(want map[string]enumspb.IndexedValueType) string {
	var terms []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		var literal string
		switch want[name] {
		case enumspb.INDEXED_VALUE_TYPE_INT, enumspb.INDEXED_VALUE_TYPE_DOUBLE:
			literal = "-1"
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

// explain wraps a failed call with what was attempted, and for a permission error with the
// identity's missing right and what to do.
func explain(err error, what, remedy string) error {
	switch grpcCode(err) {
	case codes.PermissionDenied, codes.Unauthenticated:
		msg := what + ": permission denied to this identity (its API key or client certificate)"
		if remedy != "" {
			msg += "; " + remedy
		}
		return fmt.Errorf("%s: %w", msg, err)
	case codes.Unimplemented:
		msg := what + ": this cluster does not offer it through its API"
		if remedy != "" {
			msg += "; " + remedy
		}
		return fmt.Errorf("%s: %w", msg, err)
	default:
		return fmt.Errorf("%s: %w", what, err)
	}
}

// waitFor polls check until it succeeds or ctx ends, returning its last error.
func waitFor(ctx context.Context, cfg Config, check func(context.Context) error) error {
	interval := cfg.PollInterval
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			return p.err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-time.After(interval):
		}
	}
}

// grpcCode is the gRPC code of err, whether it is a gRPC status or a Temporal service error
// (what the SDK's clients return).
func grpcCode(err error) codes.Code { return serviceerror.ToStatus(err).Code() }

// permanent marks an error waiting cannot cure.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
