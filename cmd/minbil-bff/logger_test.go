package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a WriteSyncer over a buffer, safe for the flusher goroutine.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes++
	return b.buf.Write(p)
}

func (b *syncBuffer) Sync() error { return nil }

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Every request keeps its access-log line: zap's production sampling
// (100 a second, then 1 in 100) is off, and the buffer is flushed on stop.
// Lines are written in batches in either format, so a busy gateway (make
// run logs console) makes no write system call per request.
func TestLoggerKeepsEveryLine(t *testing.T) {
	tests := []struct {
		format  string
		wantIn  string
		wantErr bool
	}{
		{"json", `"msg":"request"`, false},
		{"console", "request", false},
		{"xml", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			out := &syncBuffer{}
			log, stop, err := newLogger(out, tt.format, "info", false)
			if (err != nil) != tt.wantErr {
				t.Fatalf("newLogger(%q) error = %v, wantErr %v", tt.format, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			for i := 0; i < 1000; i++ {
				log.Info("request")
			}
			stop()
			if n := strings.Count(out.String(), tt.wantIn); n != 1000 {
				t.Fatalf("%d of 1000 lines written, want all", n)
			}
			out.mu.Lock()
			defer out.mu.Unlock()
			if out.writes > 10 {
				t.Errorf("1000 %s lines took %d writes, want them batched (at most 10)", tt.format, out.writes)
			}
		})
	}
}
