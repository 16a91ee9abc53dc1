package main

import (
	"strings"
	"testing"
)

func TestParsePerfStat(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    int64
		wantErr bool
	}{
		{name: "counted", out: "# started on Sun Dec  6 14:28:07 2026\n\n8452113,,raw_syscalls:sys_enter,3001234567,100.00,,\n", want: 8452113},
		{name: "without the start line", out: "144,,raw_syscalls:sys_enter,1254158,100.00,,\n", want: 144},
		{name: "not counted", out: "<not counted>,,raw_syscalls:sys_enter,0,0.00,,\n", wantErr: true},
		{name: "not supported", out: "<not supported>,,raw_syscalls:sys_enter,0,100.00,,\n", wantErr: true},
		{name: "another event only", out: "12,,cycles,1000,100.00,,\n", wantErr: true},
		{name: "empty", out: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePerfStat(tt.out)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parsePerfStat() = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseStraceSummary(t *testing.T) {
	const head = "% time     seconds  usecs/call     calls    errors syscall\n------ ----------- ----------- --------- --------- ----------------\n"
	tests := []struct {
		name    string
		out     string
		want    int64
		wantErr bool
	}{
		{name: "with errors", out: head + " 40.12    0.213046           2    106523     53001 read\n 30.00    0.100000           1    100000           write\n------ ----------- ----------- --------- --------- ----------------\n100.00    0.531046           2    212345     53001 total\n", want: 212345},
		{name: "without errors", out: head + "100.00    0.000000           0       144           total\n", want: 144},
		{name: "no total line", out: head + " 40.12    0.213046           2    106523     53001 read\n", wantErr: true},
		{name: "empty", out: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStraceSummary(tt.out)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseStraceSummary() = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestPerRequest(t *testing.T) {
	if got, err := perRequest(845, 100); err != nil || got != 8.45 {
		t.Errorf("perRequest(845, 100) = %v, %v; want 8.45, nil", got, err)
	}
	if _, err := perRequest(845, 0); err == nil {
		t.Errorf("perRequest(845, 0) error = nil, want one: no requests, no ratio")
	}
}

func TestSyscallGoal(t *testing.T) {
	measured := func(gw, nginx float64) *syscallReport {
		return &syscallReport{Tool: toolPerf, Method: toolPerf.describe(), Run: "one 3s wrk run per target after the rounds", Rows: []syscallRow{
			{ID: "nginx", PerRequest: nginx}, {ID: "fiber-proxy", PerRequest: 4}, {ID: "gw-hs256", PerRequest: gw},
		}}
	}
	tests := []struct {
		name            string
		rep             *syscallReport
		wantOK          bool
		wantMet         bool
		wantNotMeasured bool
		wantMeasured    string
	}{
		{name: "no proxy ran", rep: nil},
		{name: "gateway above NGINX", rep: measured(8.45, 5.57), wantOK: true, wantMeasured: "8.45 (NGINX 5.57)"},
		{name: "gateway at NGINX", rep: measured(5.57, 5.57), wantOK: true, wantMet: true, wantMeasured: "5.57 (NGINX 5.57)"},
		{name: "gateway below NGINX", rep: measured(4.2, 5.57), wantOK: true, wantMet: true, wantMeasured: "4.20 (NGINX 5.57)"},
		{name: "no tool", rep: &syscallReport{NotMeasured: "perf: exit status 1; strace: not found"}, wantOK: true,
			wantNotMeasured: true, wantMeasured: "not measured: perf: exit status 1; strace: not found"},
		{name: "NGINX's run failed", rep: &syscallReport{Method: toolPerf.describe(), Rows: []syscallRow{
			{ID: "nginx", Error: "perf exited before the load: exit status 255\nmore"}, {ID: "gw-hs256", PerRequest: 8}}},
			wantOK: true, wantNotMeasured: true, wantMeasured: "not measured: nginx: perf exited before the load: exit status 255"},
		{name: "NGINX did not run", rep: &syscallReport{Method: toolPerf.describe(), Rows: []syscallRow{{ID: "gw-hs256", PerRequest: 8}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, ok := syscallGoal(tt.rep)
			if ok != tt.wantOK {
				t.Fatalf("syscallGoal() ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if g.Met != tt.wantMet || g.NotMeasured != tt.wantNotMeasured || g.Measured != tt.wantMeasured {
				t.Errorf("syscallGoal() = met %v, not measured %v, %q; want %v, %v, %q",
					g.Met, g.NotMeasured, g.Measured, tt.wantMet, tt.wantNotMeasured, tt.wantMeasured)
			}
		})
	}
}

// TestSyscallMarkdown checks that the report names the method that
// counted, and that a goal that could not be measured reads neither met
// nor missed.
func TestSyscallMarkdown(t *testing.T) {
	tests := []struct {
		name string
		rep  *syscallReport
		want []string
	}{
		{name: "perf", rep: &syscallReport{Tool: toolPerf, Method: toolPerf.describe(), Run: "one 3s wrk run per target after the rounds",
			Rows: []syscallRow{{ID: "nginx", Label: "NGINX reverse proxy", Syscalls: 557, Requests: 100, PerRequest: 5.57},
				{ID: "gw-hs256", Label: "gateway, JWT HS256, validate=log", Syscalls: 845, Requests: 100, PerRequest: 8.45}}},
			want: []string{"`perf stat -e raw_syscalls:sys_enter -p <pids>`", "| NGINX reverse proxy | 5.57 | 557 | 100 |",
				"| syscalls per proxied GET under load: gateway ≤ NGINX | 8.45 (NGINX 5.57) | ≤ NGINX's | **missed** | one 3s wrk run per target after the rounds, perf |"}},
		{name: "strace", rep: &syscallReport{Tool: toolStrace, Method: toolStrace.describe(), Run: "one 3s wrk run per target after the rounds",
			Rows: []syscallRow{{ID: "nginx", Label: "NGINX reverse proxy", Syscalls: 600, Requests: 100, PerRequest: 6},
				{ID: "gw-hs256", Label: "gateway, JWT HS256, validate=log", Syscalls: 500, Requests: 100, PerRequest: 5}}},
			want: []string{"counted with `strace -c -f -p <pids>`", "its counts compare with each other, not with perf's", "| 5.00 (NGINX 6.00) | ≤ NGINX's | met | one 3s wrk run per target after the rounds, strace |"}},
		{name: "not measured", rep: &syscallReport{NotMeasured: "strace: exec: not found"},
			want: []string{"Syscalls per proxied GET: not measured: strace: exec: not found.", "| not measured: strace: exec: not found | ≤ NGINX's | – | – |"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := report{Syscalls: tt.rep, Goals: goals(nil, 1, nil, tt.rep)}
			md := rep.markdown()
			for _, w := range tt.want {
				if !strings.Contains(md, w) {
					t.Errorf("markdown() lacks %q:\n%s", w, md)
				}
			}
		})
	}
}
