package temporalclient

import (
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"

	"github.com/qesflow/qesflow/codec"
)

// encryptedOnly refuses signals whose payloads are not encrypted: it fails the workflow task
// that would apply one, so a forged or misconfigured signal never reaches the workflow's
// state. (The SDK drops a signal it cannot decode without failing the task, which would
// leave a workflow blocked in the receive of a signal that never arrives.) Workflow inputs,
// updates and queries are refused by the strict codec itself (codec.DataConverter).
type encryptedOnly struct {
	interceptor.ClientInterceptorBase
	interceptor.WorkerInterceptorBase
}

// encryptedOnly is a client interceptor that the SDK also applies to every worker created
// from the client.
var (
	_ interceptor.ClientInterceptor = &encryptedOnly{}
	_ interceptor.WorkerInterceptor = &encryptedOnly{}
)

func (*encryptedOnly) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &encryptedSignals{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}}
}

type encryptedSignals struct {
	interceptor.WorkflowInboundInterceptorBase
}

// HandleSignal fails the workflow task on an unencrypted signal payload. The task is retried
// by Temporal and fails the same way each time, visibly in the Web UI ("workflow task
// failed"), until the signal is removed by a reset to the event before it.
func (e *encryptedSignals) HandleSignal(ctx workflow.Context, in *interceptor.HandleSignalInput) error {
	if err := requireEncrypted(in.Arg); err != nil {
		workflow.GetLogger(ctx).Error("refused a signal with an unencrypted payload", "signal", in.SignalName, "error", err)
		return fmt.Errorf("signal %q refused: %w", in.SignalName, err)
	}
	return e.Next.HandleSignal(ctx, in)
}

// requireEncrypted reports the first payload that is not encrypted by the codec.
func requireEncrypted(payloads *commonpb.Payloads) error {
	for i, p := range payloads.GetPayloads() {
		if enc := string(p.GetMetadata()[codec.MetadataEncoding]); enc != codec.EncodingEncrypted {
			return fmt.Errorf("payload %d (encoding %q): %w; every process of the namespace must use the same QESFLOW_CODEC_KEYS",
				i+1, enc, codec.ErrPlaintextPayload)
		}
	}
	return nil
}
