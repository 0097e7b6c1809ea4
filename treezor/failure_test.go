package treezor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClassify(t *testing.T) {
	treezorBody := func(status int, op string) *APIError {
		return &APIError{StatusCode: status, Op: op, Code: "x", FromTreezor: true}
	}
	bare := func(status int, op string) *APIError { return &APIError{StatusCode: status, Op: op} }
	tests := []struct {
		name         string
		err          error
		kind, reason string
	}{
		{"nil", nil, FailureNone, ReasonOK},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), FailureCanceled, ReasonCanceled},
		{"503", treezorBody(503, "initiate QES"), FailureInfra, ReasonUnavailable},
		{"429 bare", bare(429, "get user"), FailureInfra, ReasonUnavailable},
		{"token refused", treezorBody(401, tokenOp), FailureInfra, ReasonTokenRefused},
		{"token endpoint HTML 404", bare(404, tokenOp), FailureInfra, ReasonNotTreezor},
		{"401 after refresh", treezorBody(401, "initiate QES"), FailureInfra, ReasonAuth},
		{"401 bare", bare(401, "initiate QES"), FailureInfra, ReasonAuth},
		{"403", treezorBody(403, "document download URL"), FailureInfra, ReasonForbidden},
		{"HTML 404", bare(404, "get user"), FailureInfra, ReasonNotTreezor},
		{"HTML 400", bare(400, "initiate QES"), FailureInfra, ReasonNotTreezor},
		{"428 bare", bare(428, "initiate QES"), FailureUser, ReasonUserDataIncomplete},
		{"428", treezorBody(428, "initiate QES"), FailureUser, ReasonUserDataIncomplete},
		{"404 user", treezorBody(404, "get user"), FailureUser, ReasonUserUnknown},
		{"404 user on QES", treezorBody(404, "initiate QES"), FailureUser, ReasonUserUnknown},
		{"404 document", treezorBody(404, "document download URL"), FailureUser, ReasonRejected},
		{"400", treezorBody(400, "initiate QES"), FailureUser, ReasonRejected},
		{"storage 404", bare(404, downloadOp), FailureUser, ReasonRejected},
		{"network", &NetworkError{Op: "get user", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, FailureInfra, ReasonNetwork},
		{"timeout", &NetworkError{Op: "get user", Err: context.DeadlineExceeded}, FailureInfra, ReasonTimeout},
		{"tls", &NetworkError{Op: "get user", Err: errors.New("remote error: tls: certificate required")}, FailureInfra, ReasonTLS},
		{"malformed answer", fmt.Errorf("%w: decode answer", ErrMalformed), FailureInfra, ReasonMalformed},
		{"invalid argument", fmt.Errorf("%w: user id is empty", ErrInvalidArgument), FailureUser, ReasonInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, reason := Classify(tt.err)
			require.Equal(t, tt.kind, kind)
			require.Equal(t, tt.reason, reason)
		})
	}
}
