package upstream

import (
	"bytes"
	"errors"
	"net"
	"sync/atomic"
	"time"
)

// errStaleConn is returned, before a single byte is written, for a pooled
// connection the upstream has already closed (it restarted, or its
// keep-alive timeout ran out). Nothing reached the upstream, so the request
// may be sent again on a fresh connection whatever its method.
var errStaleConn = errors.New("pooled upstream connection already closed")

// peekAfter is how long a connection must have been idle before a GET on
// it looks for a closed peer first. Within it, a GET on a connection the
// upstream closed costs one retry on a fresh connection (retryable), which
// is cheaper than a system call on every request of a busy connection: an
// upstream's keep-alive timeout is seconds, not milliseconds, so a
// connection that answered a moment ago is closed only by a restart.
const peekAfter = time.Second

// watchedConn is an upstream connection that checks, before the first write
// of a request that could not be sent again, whether the upstream has
// closed it. fasthttp has no reader on idle pooled connections (net/http's
// Transport has one), so without this check a restarted upstream looks like
// a broken request.
type watchedConn struct {
	net.Conn
	// busy is set by the first write of a request and cleared by the
	// first read of its answer: a write while not busy starts a request.
	busy atomic.Bool
	// born is when the connection was opened; idleSince is the time since
	// born of its last read (monotonic).
	born      time.Time
	idleSince atomic.Int64
	// peek reports whether the peer has closed the connection (peerClosed).
	peek func(net.Conn) bool
}

func newWatchedConn(conn net.Conn) *watchedConn {
	return &watchedConn{Conn: conn, born: time.Now(), peek: peerClosed}
}

func (c *watchedConn) Write(p []byte) (int, error) {
	if !c.busy.Swap(true) && c.mayBeStale(p) && c.peek(c.Conn) {
		return 0, errStaleConn
	}
	return c.Conn.Write(p)
}

func (c *watchedConn) Read(p []byte) (int, error) {
	c.busy.Store(false)
	n, err := c.Conn.Read(p)
	c.idleSince.Store(int64(time.Since(c.born)))
	return n, err
}

// mayBeStale reports whether the request that starts with p must look for
// a closed peer first: any request but a GET or HEAD (it may not be sent
// twice), and any request on a connection idle for peekAfter or longer.
func (c *watchedConn) mayBeStale(p []byte) bool {
	if !bytes.HasPrefix(p, []byte("GET ")) && !bytes.HasPrefix(p, []byte("HEAD ")) {
		return true
	}
	return time.Since(c.born)-time.Duration(c.idleSince.Load()) >= peekAfter
}
