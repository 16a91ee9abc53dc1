package wire_test

import (
	"context"
	"strings"
	"testing"

	"github.com/minbil/minbil-bff/cmd/internal/wire"
)

func TestTracerFromEnvironment(t *testing.T) {
	tests := []struct {
		name         string
		env          map[string]string
		wantProvider bool
		wantErr      string
	}{
		{name: "nothing set", env: nil},
		{name: "none", env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}},
		{name: "otlp", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, wantProvider: true},
		{name: "endpoint alone", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, wantProvider: true},
		{name: "traces endpoint alone", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, wantProvider: true},
		{name: "http/protobuf", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, wantProvider: true},
		{name: "sdk disabled", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}},
		{name: "never sampled", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "always_off"}},
		{name: "grpc", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, wantErr: `"grpc"`},
		{name: "traces grpc", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}, wantErr: `"grpc"`},
		{name: "unreadable timeout", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TIMEOUT": "10s"}, wantErr: "OTEL_EXPORTER_OTLP_TIMEOUT"},
		{name: "unreadable headers", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_HEADERS": "api-key=%zz"}, wantErr: "OTEL_EXPORTER_OTLP_HEADERS"},
		{name: "endpoint not http", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "127.0.0.1:4317"}, wantErr: "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{name: "console", env: map[string]string{"OTEL_TRACES_EXPORTER": "console"}, wantErr: `"console"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, err := wire.Tracer(func(k string) string { return tt.env[k] })
			if tp != nil {
				defer func() { _ = tp.Shutdown(context.Background()) }()
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Tracer(%v) error = %v, want one naming %s", tt.env, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Tracer(%v): %v", tt.env, err)
			}
			if (tp != nil) != tt.wantProvider {
				t.Fatalf("Tracer(%v) = %v, want a provider: %v", tt.env, tp, tt.wantProvider)
			}
		})
	}
}
