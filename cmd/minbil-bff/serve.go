package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/gateway"
	"github.com/minbil/minbil-bff/gateway/auth"
	"github.com/minbil/minbil-bff/gateway/config"
)

// runServe runs the gateway until SIGINT or SIGTERM, then drains in-flight
// requests within server.shutdown_timeout.
func runServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	path := fs.String("config", "", "YAML config file (default: built-in defaults, see configs/gateway.yaml)")
	var flags config.Flags
	fs.StringVar(&flags.Addr, "addr", "", "listen address (overrides server.addr, default :5000)")
	fs.StringVar(&flags.Upstream, "upstream", "", `"mock" or the upstream base URL (overrides upstream.url)`)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("serve: %w", errUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q: %w", fs.Arg(0), errUsage)
	}
	cfg, err := config.Load(*path, os.LookupEnv)
	if err != nil {
		return err
	}
	cfg = cfg.ApplyFlags(flags)
	if err := cfg.Validate(); err != nil {
		return err
	}
	log, stopLog, err := newLogger(os.Stderr, cfg.Log.Format, cfg.Log.Level, cfg.IsMock())
	if err != nil {
		return err
	}
	defer stopLog()
	return serve(cfg, log)
}

func serve(cfg config.Config, log *zap.Logger) error {
	c, err := contracts.Load()
	if err != nil {
		return err
	}
	authn, err := auth.New(cfg.Auth, log)
	if err != nil {
		return err
	}
	defer authn.Close()
	deps := gateway.Deps{Contract: c, Log: log, Auth: authn}
	if cfg.IsMock() {
		m, err := gateway.StartMock(cfg.Mock, c, log)
		if err != nil {
			return err
		}
		defer shutdownMock(m, cfg, log)
		deps.UpstreamURL, deps.Dial = gateway.MockURL, m.Dial
	}
	g, err := gateway.New(cfg, deps)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- g.Serve(ln) }()
	log.Info("gateway listening", zap.String("addr", ln.Addr().String()), zap.String("upstream", cfg.Upstream.URL),
		zap.String("auth", cfg.Auth.Mode), zap.Stringer("config", cfg))

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("gateway shutting down", zap.Duration("deadline", cfg.Server.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	if err := g.Shutdown(sctx); err != nil {
		return err
	}
	return <-served
}

func shutdownMock(m *gateway.InProcessMock, cfg config.Config, log *zap.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	if err := m.Shutdown(ctx); err != nil {
		log.Error("stop in-process mock", zap.Error(err))
	}
}
