package redistest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy stands between clients and a Server on its own 127.0.0.1 port and
// counts the commands clients send. Paused, it reads and counts commands
// but passes none on, so nothing is answered: to a client it is a Redis
// that stalls, and Commands says how many commands (each one a wait of the
// client's timeout) a stall cost.
type Proxy struct {
	// Addr is host:port on 127.0.0.1; clients connect here.
	Addr string

	target   string
	ln       net.Listener
	commands atomic.Int64
	paused   atomic.Bool

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// Proxy starts a proxy in front of s, closed with its connections when the
// test ends.
func (s *Server) Proxy(t testing.TB) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redis proxy: %v", err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: s.Addr, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Commands is how many commands clients have sent so far, answered or not.
func (p *Proxy) Commands() int64 { return p.commands.Load() }

// Pause swallows every later command unanswered.
func (p *Proxy) Pause() { p.paused.Store(true) }

// Resume passes commands on again. A connection whose commands were
// swallowed stays without answers; clients drop such connections when they
// time out, as they do after a real stall.
func (p *Proxy) Resume() { p.paused.Store(false) }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		if !p.track(client, server) {
			return
		}
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			_, _ = io.Copy(client, server)
			_ = client.Close()
		}()
		go func() {
			defer p.wg.Done()
			p.relay(client, server)
			_ = server.Close()
		}()
	}
}

// track records a connection pair so close can end it; false once closed.
func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

// relay reads client commands one by one (RESP arrays of bulk strings, all
// a client sends), counts them, and writes them to server unless paused.
func (p *Proxy) relay(client, server net.Conn) {
	r := bufio.NewReader(client)
	for {
		cmd, err := readCommand(r)
		if err != nil {
			return
		}
		p.commands.Add(1)
		if p.paused.Load() {
			continue
		}
		if _, err := server.Write(cmd); err != nil {
			return
		}
	}
}

// readCommand reads one RESP command, "*<n>\r\n" then n bulk strings
// "$<len>\r\n<bytes>\r\n", and returns its bytes.
func readCommand(r *bufio.Reader) ([]byte, error) {
	head, n, err := readHeader(r, '*')
	if err != nil {
		return nil, err
	}
	cmd := head
	for range n {
		head, size, err := readHeader(r, '$')
		if err != nil {
			return nil, err
		}
		body := make([]byte, size+2)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, fmt.Errorf("redis proxy: bulk string: %w", err)
		}
		cmd = append(append(cmd, head...), body...)
	}
	return cmd, nil
}

// readHeader reads one "<kind><number>\r\n" line.
func readHeader(r *bufio.Reader, kind byte) ([]byte, int, error) {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return nil, 0, fmt.Errorf("redis proxy: %w", err)
	}
	text := strings.TrimSuffix(string(line), "\r\n")
	if len(text) < 2 || text[0] != kind {
		return nil, 0, fmt.Errorf("redis proxy: want %q, got %q", kind, text)
	}
	n, err := strconv.Atoi(text[1:])
	if err != nil || n < 0 {
		return nil, 0, fmt.Errorf("redis proxy: bad length %q", text)
	}
	return line, n, nil
}

func (p *Proxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}
