package main

import (
	"fmt"

	"go.uber.org/zap"
)

// newLogger builds the process logger: format console (readable) or json;
// "" picks console in development (dev true) and json otherwise.
func newLogger(format, level string, dev bool) (*zap.Logger, error) {
	if format == "" {
		format = "json"
		if dev {
			format = "console"
		}
	}
	var zc zap.Config
	switch format {
	case "console":
		zc = zap.NewDevelopmentConfig()
		zc.DisableStacktrace = true
	case "json":
		zc = zap.NewProductionConfig()
	default:
		return nil, fmt.Errorf("log format %q: want console or json: %w", format, errUsage)
	}
	if level == "" {
		level = "info"
	}
	lvl, err := zap.ParseAtomicLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	zc.Level = lvl
	log, err := zc.Build()
	if err != nil {
		return nil, fmt.Errorf("build logger: %w", err)
	}
	return log, nil
}
