package temporalclient

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/qesflow/qesflow/codec"
	"github.com/qesflow/qesflow/internal/testenv"
)

func TestClientOptionsPairFailureConverterWithDataConverter(t *testing.T) {
	co, err := ClientOptions(Options{})
	require.NoError(t, err)
	require.Nil(t, co.FailureConverter, "no data converter: the SDK defaults")

	dc := converter.GetDefaultDataConverter()
	co, err = ClientOptions(Options{DataConverter: dc})
	require.NoError(t, err)
	require.Same(t, dc, co.DataConverter)
	require.NotNil(t, co.FailureConverter)
	f := co.FailureConverter.ErrorToFailure(temporal.NewApplicationError("secret text", "T"))
	require.Equal(t, "Encoded failure", f.GetMessage())
	require.NotNil(t, f.GetEncodedAttributes())

	own := temporal.GetDefaultFailureConverter()
	co, err = ClientOptions(Options{DataConverter: dc, FailureConverter: own})
	require.NoError(t, err)
	require.Same(t, own, co.FailureConverter)
}

// A workflow started, run and failed through clients dialled with the codec leaves no
// plaintext input, result or error message in the server's history.
func TestDialWithCodecEncryptsHistory(t *testing.T) {
	ts := testenv.NewTemporal(t)
	key, err := codec.GenerateKey("k1")
	require.NoError(t, err)
	keys, err := codec.NewKeyring(key)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Dial(ctx, Options{Address: ts.GetFrontendHostPort(), Namespace: ts.GetDefaultNamespace(), DataConverter: codec.DataConverter(keys)})
	require.NoError(t, err)
	defer c.Close()

	const secret = "alice.secret@example.com"
	w := sdkworker.New(c, "codec-test", sdkworker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, in string) (string, error) {
		if strings.HasPrefix(in, "fail:") {
			return "", temporal.NewApplicationError("cannot onboard "+in, "Rejected", in)
		}
		return "hello " + in, nil
	}, workflow.RegisterOptions{Name: "Echo"})
	require.NoError(t, w.Start())
	defer w.Stop()

	run := func(id, in string) (client.WorkflowRun, error) {
		r, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "codec-test"}, "Echo", in)
		require.NoError(t, err)
		var out string
		err = r.Get(ctx, &out)
		if err == nil {
			require.Equal(t, "hello "+in, out)
		}
		return r, err
	}
	ok, err := run("ok", secret)
	require.NoError(t, err)
	failed, err := run("failed", "fail:"+secret)
	require.ErrorContains(t, err, "cannot onboard fail:"+secret, "the codec-aware client reads the message")
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	var detail string
	require.NoError(t, appErr.Details(&detail))
	require.Equal(t, "fail:"+secret, detail)

	// The server's history, read without the codec.
	raw := ts.GetDefaultClient()
	for _, r := range []client.WorkflowRun{ok, failed} {
		require.False(t, historyContains(ctx, t, raw, r, "alice"), "plaintext in the history of %s", r.GetID())
	}

	// Control: the same workflow through a client without the codec leaves plaintext, so the
	// check above can fail.
	plain, err := Dial(ctx, Options{Address: ts.GetFrontendHostPort(), Namespace: ts.GetDefaultNamespace()})
	require.NoError(t, err)
	defer plain.Close()
	r, err := plain.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "plain", TaskQueue: "none"}, "Echo", secret)
	require.NoError(t, err)
	require.True(t, historyContains(ctx, t, raw, r, "alice"))
}

// historyContains reports whether s appears in the raw history of r: in the binary proto of an
// event (payload data is stored as raw bytes) or in its JSON form (string fields).
func historyContains(ctx context.Context, t *testing.T, c client.Client, r client.WorkflowRun, s string) bool {
	t.Helper()
	it := c.GetWorkflowHistory(ctx, r.GetID(), r.GetRunID(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	found := false
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		bin, err := proto.Marshal(e)
		require.NoError(t, err)
		js, err := protojson.Marshal(e)
		require.NoError(t, err)
		found = found || bytes.Contains(bin, []byte(s)) || bytes.Contains(js, []byte(s))
	}
	return found
}
