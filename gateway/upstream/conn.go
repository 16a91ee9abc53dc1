package upstream

import (
	"errors"
	"net"
	"sync/atomic"
)

// errStaleConn is returned, before a single byte is written, for a pooled
// connection the upstream has already closed (it restarted, or its
// keep-alive timeout ran out). Nothing reached the upstream, so the request
// may be sent again on a fresh connection whatever its method.
var errStaleConn = errors.New("pooled upstream connection already closed")

// watchedConn is an upstream connection that checks, before the first write
// of each request, whether the upstream has closed it. fasthttp has no
// reader on idle pooled connections (net/http's Transport has one), so
// without this check a restarted upstream looks like a broken request.
type watchedConn struct {
	net.Conn
	// busy is set by the first write of a request and cleared by the
	// first read of its answer: a write while not busy starts a request.
	busy atomic.Bool
}

func (c *watchedConn) Write(p []byte) (int, error) {
	if !c.busy.Swap(true) && peerClosed(c.Conn) {
		return 0, errStaleConn
	}
	return c.Conn.Write(p)
}

func (c *watchedConn) Read(p []byte) (int, error) {
	c.busy.Store(false)
	return c.Conn.Read(p)
}
