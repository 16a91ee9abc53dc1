package mock

import (
	"context"
	"errors"
	"fmt"
	"github.com/minbil/minbil-bff/contracts/portal"
	"net"
	"net/http"

	"github.com/valyala/fasthttp/fasthttputil"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/mock/idp"
)

// InProcessURL is the base URL of an in-process mock; its host is never
// resolved, connections go over the in-memory listener (InProcess.Dial).
// It is a name under .localhost (RFC 6761 §6.3), a loopback name, so a
// URL of it never names a host on a network: auth's JWKS URL check accepts
// it for the built-in identity provider.
const InProcessURL = "http://minbil-mock.localhost"

// InProcess is a mock served on an in-memory listener, so that a client in
// the same process reaches it through its ordinary HTTP code path, without
// a port. `serve --upstream mock` uses it as the gateway's upstream.
type InProcess struct {
	srv    *Server
	ln     *fasthttputil.InmemoryListener
	served chan error
}

// StartInProcess builds the mock and serves it until Shutdown.
func StartInProcess(cfg Config, c *contracts.Contract, log *zap.Logger) (*InProcess, error) {
	srv, err := New(cfg, c, log)
	if err != nil {
		return nil, fmt.Errorf("start in-process mock: %w", err)
	}
	m := &InProcess{srv: srv, ln: fasthttputil.NewInmemoryListener(), served: make(chan error, 1)}
	go func() { m.served <- srv.Serve(m.ln) }()
	return m, nil
}

// Dial connects to the mock over the in-memory listener; addr is ignored.
func (m *InProcess) Dial(string) (net.Conn, error) { return m.ln.Dial() }

// Shutdown stops the mock and flushes its state.
func (m *InProcess) Shutdown(ctx context.Context) error {
	err := m.srv.Shutdown(ctx)
	if serr := <-m.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) && !errors.Is(serr, net.ErrClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("stop in-process mock: %w", err)
	}
	return nil
}

// Issuer returns the iss of the mock's identity provider.
func (m *InProcess) Issuer() string { return m.srv.Issuer() }

// Audience returns the aud of its access tokens.
func (m *InProcess) Audience() string { return m.srv.Audience() }

// PassThroughRoutes are the mock's own routes that are not part of the
// MinBil API — its control routes and its identity provider's — with their
// methods, for a gateway in front of it to pass through.
func PassThroughRoutes() []portal.Route {
	out := ControlRoutes()
	for _, r := range idp.Routes() {
		out = append(out, portal.Route{Method: r.Method, Path: r.Path})
	}
	return out
}
