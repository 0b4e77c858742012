package workerapp_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/strictcycle/strictcycle/worker/workerapp"
)

func TestSDKLoggerFields(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	var l log.Logger = workerapp.NewSDKLogger(zap.New(core))
	boom := errors.New("boom")

	l.Debug("debug msg", "a", 1)
	l.Info("info msg", "task_queue", "tq", "attempt", 2)
	l.Warn("warn msg", "Error", boom)
	l.Error("error msg", 42, "non-string key", "dangling")
	l.(log.WithLogger).With("WorkflowID", "wf-1").Info("with msg", "b", true)
	l.(log.WithSkipCallers).WithCallerSkip(1).Info("skip msg")

	entries := logs.AllUntimed()
	require.Len(t, entries, 6)
	tests := []struct {
		level  zapcore.Level
		msg    string
		fields map[string]any
	}{
		{zapcore.DebugLevel, "debug msg", map[string]any{"a": int64(1)}},
		{zapcore.InfoLevel, "info msg", map[string]any{"task_queue": "tq", "attempt": int64(2)}},
		{zapcore.WarnLevel, "warn msg", map[string]any{"Error": "boom"}},
		{zapcore.ErrorLevel, "error msg", map[string]any{"42": "non-string key", "!BADKEY": "dangling"}},
		{zapcore.InfoLevel, "with msg", map[string]any{"WorkflowID": "wf-1", "b": true}},
		{zapcore.InfoLevel, "skip msg", map[string]any{}},
	}
	for i, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			e := entries[i]
			require.Equal(t, tt.level, e.Level)
			require.Equal(t, tt.msg, e.Message)
			require.Equal(t, tt.fields, e.ContextMap())
		})
	}
}

func TestNewLogger(t *testing.T) {
	l, err := workerapp.NewLogger("warn")
	require.NoError(t, err)
	require.False(t, l.Core().Enabled(zapcore.InfoLevel))
	require.True(t, l.Core().Enabled(zapcore.WarnLevel))

	_, err = workerapp.NewLogger("loud")
	require.ErrorContains(t, err, `parse log level "loud"`)
}
