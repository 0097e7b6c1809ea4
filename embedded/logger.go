package embedded

import (
	"fmt"

	"github.com/qesflow/qesflow/internal/logging"
	"go.temporal.io/server/common/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// serverLogger is the zap logger the server logs through, named "temporal", at level or above.
// The returned gate can raise the level later: while stopping, the services that are still up
// warn about every call to one already stopped, which is noise.
func serverLogger(base *zap.Logger, level string) (*zap.Logger, zap.AtomicLevel, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, zap.AtomicLevel{}, fmt.Errorf("log level %q: %w", level, err)
	}
	if base == nil {
		base, err = logging.New(level, "json")
		if err != nil {
			return nil, zap.AtomicLevel{}, err
		}
	}
	gate := zap.NewAtomicLevelAt(lvl)
	gated := base.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return gatedCore{Core: c, gate: gate}
	}))
	return gated.Named("temporal"), gate, nil
}

// gatedCore drops entries below gate's level, then defers to Core.
type gatedCore struct {
	zapcore.Core
	gate zap.AtomicLevel
}

func (g gatedCore) Enabled(l zapcore.Level) bool {
	return g.gate.Enabled(l) && g.Core.Enabled(l)
}

func (g gatedCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if !g.gate.Enabled(e.Level) {
		return ce
	}
	return g.Core.Check(e, ce)
}

func (g gatedCore) With(fields []zapcore.Field) zapcore.Core {
	return gatedCore{Core: g.Core.With(fields), gate: g.gate}
}

// temporalLogger adapts zap to the server's logger interface.
func temporalLogger(z *zap.Logger) log.Logger {
	return log.NewZapLogger(z)
}
