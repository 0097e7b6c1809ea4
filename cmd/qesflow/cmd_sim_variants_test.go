package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSimRefusesAnUnknownWebhookVariant: a misspelt variant is a usage error, not ignored.
func TestSimRefusesAnUnknownWebhookVariant(t *testing.T) {
	for _, cmd := range []string{"sim", "dev"} {
		var stdout, stderr bytes.Buffer
		code := runMain(context.Background(), []string{cmd, "--webhook-variants", "wrapped,sideways"}, &stdout, &stderr)
		require.NotZero(t, code, cmd)
		require.Contains(t, stderr.String(), `unknown webhook variant "sideways"`, cmd)
	}
}
