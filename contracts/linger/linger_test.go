package linger

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// pair returns a connection accepted by l (configured by the test) and
// the client's end of it, on 127.0.0.1.
func pair(t *testing.T, l *Listener) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Listener = ln
	t.Cleanup(func() { _ = l.Close() })
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	server, err = l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return server, client
}

// A marked connection reads what the client still sends after the answer,
// so the client writes its whole body and then reads the whole answer.
func TestMarkedConnectionDrainsThenCloses(t *testing.T) {
	server, client := pair(t, &Listener{})
	const answer = "HTTP/1.1 413 Request Entity Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
	if _, err := io.WriteString(server, answer); err != nil {
		t.Fatal(err)
	}
	if !Mark(server) {
		t.Fatal("Mark() = false on an accepted connection, want true")
	}
	closed := make(chan error, 1)
	go func() { closed <- server.Close() }()
	chunk := bytes.Repeat([]byte("a"), 16<<10)
	for sent := 0; sent < 2<<20; sent += len(chunk) {
		if _, err := client.Write(chunk); err != nil {
			t.Fatalf("client write at byte %d: %v", sent, err)
		}
	}
	got, err := io.ReadAll(client)
	if err != nil || string(got) != answer {
		t.Fatalf("client read %q, %v; want the answer and the end", got, err)
	}
	_ = client.Close()
	if err := <-closed; err != nil {
		t.Errorf("Close() = %v", err)
	}
}

// A client that never stops sending holds a lingering close only for
// MaxBytes: Close returns although the client neither stops nor closes
// (the Timeout here is far beyond any test).
func TestLingerStopsAtMaxBytes(t *testing.T) {
	server, client := pair(t, &Listener{MaxBytes: 64 << 10, Timeout: time.Hour})
	Mark(server)
	stop := make(chan struct{})
	writing := make(chan struct{})
	go func() {
		defer close(writing)
		chunk := bytes.Repeat([]byte("a"), 16<<10)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := client.Write(chunk); err != nil {
				return // the server closed: reset
			}
		}
	}()
	if err := server.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	close(stop)
	_ = client.Close()
	<-writing
}

// A client that neither sends nor closes holds a lingering close only for
// Timeout.
func TestLingerStopsAtTimeout(t *testing.T) {
	server, _ := pair(t, &Listener{Timeout: 10 * time.Millisecond})
	Mark(server)
	if err := server.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
}

// An unmarked connection closes at once: the client sees the end without
// having closed its side.
func TestUnmarkedConnectionClosesAtOnce(t *testing.T) {
	server, client := pair(t, &Listener{Timeout: time.Hour})
	if err := server.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if n, err := client.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("client Read() = %d, %v; want io.EOF", n, err)
	}
}

func TestMarkIgnoresOtherConnections(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if Mark(a) {
		t.Error("Mark() = true on a connection no Listener accepted, want false")
	}
}
