package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/valyala/fasthttp/fasthttputil"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/gateway/config"
	"github.com/minbil/minbil-bff/mock"
)

// MockURL is the upstream URL of the in-process mock; the host is never
// resolved, connections go over the in-memory listener.
const MockURL = "http://minbil-mock.internal"

// InProcessMock is the built-in mock served on a fasthttp in-memory
// listener, so the gateway reaches it through the same client code path as
// a real upstream.
type InProcessMock struct {
	srv    *mock.Server
	ln     *fasthttputil.InmemoryListener
	served chan error
}

// StartMock starts the built-in mock for `serve --upstream mock`. Fault
// headers are honoured: the gateway forwards them to the mock only.
func StartMock(cfg config.Mock, c *contracts.Contract, log *zap.Logger) (*InProcessMock, error) {
	srv, err := mock.New(mock.Config{Seed: cfg.Seed, StateFile: cfg.StateFile, AllowFaultHeaders: true}, c, log)
	if err != nil {
		return nil, fmt.Errorf("start in-process mock: %w", err)
	}
	m := &InProcessMock{srv: srv, ln: fasthttputil.NewInmemoryListener(), served: make(chan error, 1)}
	go func() { m.served <- srv.Serve(m.ln) }()
	return m, nil
}

// Dial connects to the mock over the in-memory listener.
func (m *InProcessMock) Dial(string) (net.Conn, error) { return m.ln.Dial() }

// Shutdown stops the mock and flushes its state.
func (m *InProcessMock) Shutdown(ctx context.Context) error {
	err := m.srv.Shutdown(ctx)
	if serr := <-m.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) && !errors.Is(serr, net.ErrClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("stop in-process mock: %w", err)
	}
	return nil
}
