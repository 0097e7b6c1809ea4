package temporalclient

import (
	"fmt"

	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
)

// zapLogger adapts zap to the SDK's log.Logger: key/value pairs become zap fields.
type zapLogger struct{ z *zap.Logger }

var (
	_ log.Logger          = zapLogger{}
	_ log.WithLogger      = zapLogger{}
	_ log.WithSkipCallers = zapLogger{}
)

// NewLogger returns an SDK logger that writes through z.
func NewLogger(z *zap.Logger) log.Logger {
	if z == nil {
		z = zap.NewNop()
	}
	return zapLogger{z: z.WithOptions(zap.AddCallerSkip(1))}
}

func (l zapLogger) Debug(msg string, keyvals ...any) { l.z.Debug(msg, fields(keyvals)...) }
func (l zapLogger) Info(msg string, keyvals ...any)  { l.z.Info(msg, fields(keyvals)...) }
func (l zapLogger) Warn(msg string, keyvals ...any)  { l.z.Warn(msg, fields(keyvals)...) }
func (l zapLogger) Error(msg string, keyvals ...any) { l.z.Error(msg, fields(keyvals)...) }

// With returns a logger that adds keyvals to every entry.
func (l zapLogger) With(keyvals ...any) log.Logger {
	return zapLogger{z: l.z.With(fields(keyvals)...)}
}

// WithCallerSkip returns a logger that reports callers skip frames further up.
func (l zapLogger) WithCallerSkip(skip int) log.Logger {
	return zapLogger{z: l.z.WithOptions(zap.AddCallerSkip(skip))}
}

// fields turns alternating keys and values into zap fields. A key that is not a string is
// formatted; a trailing key without value is kept under "_extra".
func fields(keyvals []any) []zap.Field {
	fs := make([]zap.Field, 0, (len(keyvals)+1)/2)
	for i := 0; i < len(keyvals); i += 2 {
		if i+1 == len(keyvals) {
			fs = append(fs, zap.Any("_extra", keyvals[i]))
			break
		}
		key, ok := keyvals[i].(string)
		if !ok {
			key = fmt.Sprint(keyvals[i])
		}
		if err, isErr := keyvals[i+1].(error); isErr {
			fs = append(fs, zap.NamedError(key, err))
			continue
		}
		fs = append(fs, zap.Any(key, keyvals[i+1]))
	}
	return fs
}
