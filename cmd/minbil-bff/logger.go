package main

import (
	"fmt"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newLogger builds the process logger writing to out (os.Stderr): format console (readable, written
// at once) or json (buffered: at most 256 KiB or one second behind, so the
// access log costs no write per request); "" picks console in development
// (dev true) and json otherwise. Nothing is sampled: every request keeps its
// access-log line. The returned stop flushes the buffer; call it before
// exiting.
func newLogger(out zapcore.WriteSyncer, format, level string, dev bool) (*zap.Logger, func(), error) {
	if format == "" {
		format = "json"
		if dev {
			format = "console"
		}
	}
	if level == "" {
		level = "info"
	}
	lvl, err := zap.ParseAtomicLevel(level)
	if err != nil {
		return nil, nil, fmt.Errorf("log level %q: %w", level, err)
	}
	stderr := zapcore.Lock(out)
	switch format {
	case "console":
		enc := zap.NewDevelopmentEncoderConfig()
		return zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(enc), stderr, lvl), zap.ErrorOutput(stderr)), func() {}, nil
	case "json":
		ws := &zapcore.BufferedWriteSyncer{WS: stderr, Size: 256 << 10, FlushInterval: time.Second}
		enc := zap.NewProductionEncoderConfig()
		enc.EncodeTime = zapcore.ISO8601TimeEncoder
		log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), ws, lvl), zap.ErrorOutput(stderr))
		return log, func() { _ = ws.Stop() }, nil
	}
	return nil, nil, fmt.Errorf("log format %q: want console or json: %w", format, errUsage)
}
