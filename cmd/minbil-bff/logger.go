package main

import (
	"fmt"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newLogger builds the process logger writing to out (os.Stderr): format
// console (readable) or json; "" picks console in development (dev true)
// and json otherwise. Both are buffered, so the access log costs no write
// per request: json at most 256 KiB or one second behind, console (read by
// a person watching make run) a fifth of a second. Nothing is sampled:
// every request keeps its access-log line. The returned stop flushes the
// buffer; call it before exiting.
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
	var enc zapcore.Encoder
	ws := &zapcore.BufferedWriteSyncer{WS: stderr, Size: 256 << 10}
	switch format {
	case "console":
		enc = zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig())
		ws.FlushInterval = 200 * time.Millisecond
	case "json":
		cfg := zap.NewProductionEncoderConfig()
		cfg.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(cfg)
		ws.FlushInterval = time.Second
	default:
		return nil, nil, fmt.Errorf("log format %q: want console or json: %w", format, errUsage)
	}
	return zap.New(zapcore.NewCore(enc, ws, lvl), zap.ErrorOutput(stderr)), func() { _ = ws.Stop() }, nil
}
