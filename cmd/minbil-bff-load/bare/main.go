// Command bare is the load harness's set of baseline servers, one per
// mode, each as small as it can be so that it measures the floor a real
// server stands on:
//
//   - upstream: a plain fasthttp server answering GET /api/co/rating with a
//     fixed, contract-valid 1.5 KB rating list, GET
//     /api/co/profile/check-username with a username answer, and
//     GET /jwks.json with the key set named by -jwks. It is the upstream of
//     every proxy the harness measures and the "called directly" baseline.
//     With -vary, the rating list is one of its own for each caller (each
//     Authorization header): same size, same shape, other booking ids and
//     ratings, so a gateway's answer memo is not hit on every request.
//   - fiber: a Fiber app whose handlers write the same bytes (the rating
//     list and the check-username answer) with no middleware.
//   - proxy: a Fiber app forwarding every request with proxy.Do to -upstream.
//
// The harness builds it from the working tree and starts it as its own
// process; by hand, `go run ./cmd/minbil-bff-load/bare -mode upstream -addr 127.0.0.1:18080`.
// It binds only loopback addresses and stops on SIGINT or SIGTERM.
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
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/proxy"
	"github.com/valyala/fasthttp"

	"github.com/minbil/minbil-bff/contracts/contractstest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}

func run() error {
	mode := flag.String("mode", "upstream", "upstream, fiber or proxy")
	addr := flag.String("addr", "127.0.0.1:18080", "listen address (loopback only)")
	upstreamAddr := flag.String("upstream", "127.0.0.1:18080", "proxy mode: the upstream host:port")
	jwks := flag.String("jwks", "", "upstream mode: a JWKS file served at /jwks.json")
	vary := flag.Bool("vary", false, "upstream mode: answer each Authorization header a rating list of its own")
	flag.Parse()

	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", *addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %q: only loopback addresses", *addr)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	list, err := contractstest.RatingList()
	if err != nil {
		return err
	}
	var serve func(net.Listener) error
	var shutdown func(context.Context) error
	switch *mode {
	case "upstream":
		var keys []byte
		if *jwks != "" {
			if keys, err = os.ReadFile(*jwks); err != nil {
				return err
			}
		}
		var perCaller *perCallerList
		if *vary {
			if perCaller, err = newPerCallerList(); err != nil {
				return err
			}
		}
		srv := &fasthttp.Server{Handler: upstreamHandler(list, perCaller, keys), Name: "bare-upstream", NoDefaultDate: false}
		serve, shutdown = srv.Serve, srv.ShutdownWithContext
	case "fiber":
		app := fiber.New(fiber.Config{DisableStartupMessage: true})
		answer := contractstest.UsernameAnswer("nora.berg")
		app.Get("/api/co/rating", func(c *fiber.Ctx) error {
			c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
			return c.Send(list)
		})
		app.Get("/api/co/profile/check-username", func(c *fiber.Ctx) error {
			c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
			return c.Send(answer)
		})
		serve, shutdown = app.Listener, app.ShutdownWithContext
	case "proxy":
		app := fiber.New(fiber.Config{DisableStartupMessage: true})
		client := &fasthttp.Client{MaxConnsPerHost: 512, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
		base := "http://" + *upstreamAddr
		app.Use(func(c *fiber.Ctx) error {
			return proxy.Do(c, base+c.OriginalURL(), client)
		})
		serve, shutdown = app.Listener, app.ShutdownWithContext
	default:
		return fmt.Errorf("-mode %q: want upstream, fiber or proxy", *mode)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(shutdown(sctx), <-served)
}

// upstreamHandler answers the rating list (perCaller's when it is not
// nil), check-username and the key set.
func upstreamHandler(list []byte, perCaller *perCallerList, jwks []byte) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/api/co/rating":
			ctx.SetContentType("application/json")
			if perCaller == nil {
				ctx.Response.SetBodyRaw(list)
				return
			}
			// SetBody copies the template into the response's own buffer,
			// which fill then writes in place: no allocation per request.
			ctx.Response.SetBody(perCaller.template)
			perCaller.fill(ctx.Response.Body(), ctx.Request.Header.Peek(fasthttp.HeaderAuthorization))
		case "/api/co/profile/check-username":
			ctx.SetContentType("application/json")
			ctx.Response.SetBodyRaw(contractstest.UsernameAnswer(string(ctx.QueryArgs().Peek("username"))))
		case "/jwks.json":
			if jwks == nil {
				ctx.SetStatusCode(fasthttp.StatusNotFound)
				return
			}
			ctx.SetContentType("application/json")
			ctx.Response.SetBodyRaw(jwks)
		default:
			ctx.SetStatusCode(fasthttp.StatusNotFound)
		}
	}
}
