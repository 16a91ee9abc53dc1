// Package linger closes a server's connection the way NGINX's lingering
// close does. A server that answers a request it did not read whole (a
// body over its limit, headers too large, a framing error) and then closes
// at once makes the kernel reset the connection, because unread bytes are
// still arriving: a client still writing its body sees the reset, and
// often never reads the answer. A connection marked with Mark instead stops
// writing (the answer is complete), then reads and discards what the
// client still sends, up to a bound in bytes and time, and closes.
//
// Both the gateway and the mock serve through it; it lives under contracts,
// the one layer both may import, because the layout keeps every package
// inside the top-level folders.
package linger

import (
	"io"
	"net"
	"sync/atomic"
	"time"
)

// The bounds of one lingering close: enough for a client to finish a
// body of a few megabytes on a fast link (a 2 MiB rating is the case
// outside clients hit), short enough that a client that never stops
// sending holds a connection only briefly. A client beyond either bound
// gets the reset it would have got without lingering.
const (
	DefaultMaxBytes = 4 << 20
	DefaultTimeout  = 2 * time.Second
)

// Listener accepts connections that linger on Close once marked. The
// zero bounds mean the defaults.
type Listener struct {
	net.Listener
	// MaxBytes is the most a connection reads while lingering; 0 means
	// DefaultMaxBytes.
	MaxBytes int64
	// Timeout is the longest a connection lingers; 0 means
	// DefaultTimeout.
	Timeout time.Duration
}

// Accept returns the next connection, which lingers on Close once marked.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, l: l}, nil
}

// Mark makes c linger when it is closed, if a Listener accepted it; it
// reports whether it did. A server marks a connection when it answers a
// request it did not read whole and is about to close the connection.
func Mark(c net.Conn) bool {
	lc, ok := c.(*conn)
	if ok {
		lc.linger.Store(true)
	}
	return ok
}

// conn is an accepted connection.
type conn struct {
	net.Conn
	l      *Listener
	linger atomic.Bool
}

// Close closes the connection; a marked one lingers first.
func (c *conn) Close() error {
	if c.linger.Swap(false) {
		c.drain()
	}
	return c.Conn.Close()
}

// drain half-closes the connection (the client reads the end of the
// answer) and discards what the client sends until it closes its side or
// a bound is reached.
func (c *conn) drain() {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() != nil {
			return // the peer is gone: nothing to wait for
		}
	}
	timeout, maxBytes := c.l.Timeout, c.l.MaxBytes
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if c.Conn.SetReadDeadline(time.Now().Add(timeout)) != nil {
		return
	}
	// The end of the client's data, a read error, the deadline and the
	// byte bound all end it alike: the connection is closed next.
	_, _ = io.CopyN(io.Discard, c.Conn, maxBytes)
}
