package temporalclient

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestLoggerWritesKeyvalsAsFields(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	l := NewLogger(zap.New(core))

	l.Debug("polling", "TaskQueue", "q", "Attempt", 3)
	l.Info("started")
	l.Warn("slow", "Error", errors.New("deadline"))
	l.Error("odd", "key-only")
	l.(log.WithLogger).With("Namespace", "default").Info("with")
	l.(log.WithSkipCallers).WithCallerSkip(1).Info("skipped")

	all := logs.All()
	require.Len(t, all, 6)
	require.Equal(t, zapcore.DebugLevel, all[0].Level)
	require.Equal(t, map[string]any{"TaskQueue": "q", "Attempt": int64(3)}, all[0].ContextMap())
	require.Empty(t, all[1].ContextMap())
	require.Equal(t, zapcore.WarnLevel, all[2].Level)
	require.Equal(t, "deadline", all[2].ContextMap()["Error"])
	require.Equal(t, zapcore.ErrorLevel, all[3].Level)
	require.Equal(t, "key-only", all[3].ContextMap()["_extra"])
	require.Equal(t, "default", all[4].ContextMap()["Namespace"])
	require.Equal(t, "skipped", all[5].Message)
}
