package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/contractstest"
	"github.com/minbil/minbil-bff/gateway/auth"
	"github.com/minbil/minbil-bff/gateway/config"
)

// benchGateway is a gateway as production runs it (jwt auth, breaker,
// request ids, JSON access log, metrics) in front of a fasthttp upstream
// on an in-memory listener that answers the 1.5 KB fixture list. Requests
// go straight to the Fiber handler, so a benchmark measures the gateway's
// own work and allocations, not a client's.
type benchGateway struct {
	g       *Gateway
	handler fasthttp.RequestHandler
	token   string
}

func newBenchGateway(b testing.TB, upstreamDown bool, opts ...option) *benchGateway {
	b.Helper()
	return newBenchGatewayDeps(b, upstreamDown, nil, opts...)
}

// newBenchGatewayDeps is newBenchGateway with deps (if not nil) changing
// what the gateway is built from (a tracer).
func newBenchGatewayDeps(b testing.TB, upstreamDown bool, deps func(*Deps), opts ...option) *benchGateway {
	b.Helper()
	list, err := contractstest.RatingList()
	if err != nil {
		b.Fatal(err)
	}
	ln := fasthttputil.NewInmemoryListener()
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		if string(ctx.Path()) == contracts.PathCheckUsername {
			ctx.Response.SetBodyRaw(contractstest.UsernameAnswer(string(ctx.QueryArgs().Peek("username"))))
			return
		}
		ctx.Response.SetBodyRaw(list)
	}}
	served := make(chan error, 1)
	go func() { served <- up.Serve(ln) }()
	b.Cleanup(func() {
		_ = up.Shutdown()
		<-served
	})
	dial := func(string) (net.Conn, error) {
		if upstreamDown {
			return nil, errors.New("connection refused")
		}
		return ln.Dial()
	}

	cfg := baseConfig()
	cfg.Upstream.URL = "http://upstream.bench"
	cfg.Breaker.OpenTimeout = time.Hour
	withJWT(&cfg)
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		b.Fatalf("config: %v", err)
	}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	// As cmd's production logger: JSON, info, with callers.
	log := zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zapcore.InfoLevel), zap.AddCaller())
	authn, err := auth.New(cfg.Auth, log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(authn.Close)
	d := Deps{Contract: testContract, Log: log, Auth: authn, Upstream: Upstream{Dial: dial}}
	if deps != nil {
		deps(&d)
	}
	g, err := New(cfg, d)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Shutdown(context.Background()) })
	now := time.Now()
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "bench-user", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}).SignedString([]byte(testSecret))
	if err != nil {
		b.Fatal(err)
	}
	return &benchGateway{g: g, handler: g.app.Handler(), token: token}
}

// do runs one GET through the app and returns the status.
func (bg *benchGateway) do(ctx *fasthttp.RequestCtx, uri string) int {
	ctx.Request.Reset()
	ctx.Response.Reset()
	ctx.Request.Header.SetMethod(fasthttp.MethodGet)
	ctx.Request.SetRequestURI(uri)
	ctx.Request.Header.Set(fasthttp.HeaderAuthorization, "Bearer "+bg.token)
	bg.handler(ctx)
	return ctx.Response.StatusCode()
}

// BenchmarkRequest measures whole requests through the gateway: the rating
// list forwarded with contract validation in log mode and off, a cached
// check-username, and an open breaker.
func BenchmarkRequest(b *testing.B) {
	validateOff := func(cfg *config.Config) { cfg.Upstream.ValidateResponses = "off" }
	tests := []struct {
		name       string
		down       bool
		opts       []option
		uri        string
		wantStatus int
	}{
		{name: "list", uri: contracts.PathRatings, wantStatus: fasthttp.StatusOK},
		{name: "list-validate-off", opts: []option{validateOff}, uri: contracts.PathRatings, wantStatus: fasthttp.StatusOK},
		{name: "username-cache-hit", uri: contracts.PathCheckUsername + "?username=nora.berg", wantStatus: fasthttp.StatusOK},
		{name: "breaker-open", down: true, uri: contracts.PathRatings, wantStatus: fasthttp.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			bg := newBenchGateway(b, tt.down, tt.opts...)
			var ctx fasthttp.RequestCtx
			// Warm up: fill the cache, trip the breaker.
			for range 10 {
				bg.do(&ctx, tt.uri)
			}
			if got := bg.do(&ctx, tt.uri); got != tt.wantStatus {
				b.Fatalf("GET %s = %d, want %d: %s", tt.uri, got, tt.wantStatus, ctx.Response.Body())
			}
			b.ReportAllocs()
			for b.Loop() {
				if got := bg.do(&ctx, tt.uri); got != tt.wantStatus {
					b.Fatalf("GET %s = %d, want %d", tt.uri, got, tt.wantStatus)
				}
			}
		})
	}
}

// BenchmarkStep measures each step of a request on its own, as the cost a
// chain with the step adds to the same chain without it (subtract the
// "bare" row): begin (request id, headers, trace, and after the handler
// the access line and metrics), the per-IP limiter, authentication (JWT
// HS256, the verified-token cache), the per-caller limiter, and the
// handlers (a cached check-username, the list forwarded to an in-memory
// upstream). finish, the access line and metrics alone, is called
// directly. Rate limits are on at a ceiling no benchmark reaches.
func BenchmarkStep(b *testing.B) {
	ceiling := func(cfg *config.Config) { cfg.RateLimit.PerIP, cfg.RateLimit.PerIdentity = 1<<30, 1<<30 }
	bg := newBenchGateway(b, false, ceiling)
	g := bg.g
	bare := func(c *fiber.Ctx) error { return g.write(c, fiber.StatusOK, []byte(`{"total":0,"items":[]}`)) }
	list := g.operation(contracts.OpListRatings)
	// released runs a handler as begin would end it: the room its upstream
	// answer took in the in-flight budget is given back.
	released := func(h fiber.Handler) fiber.Handler {
		return func(c *fiber.Ctx) error {
			defer stateOf(c).release()
			return h(c)
		}
	}
	chains := []struct {
		name     string
		uri      string
		handlers []fiber.Handler
	}{
		{"bare", contracts.PathRatings, []fiber.Handler{bare}},
		{"begin", contracts.PathRatings, []fiber.Handler{g.begin, bare}},
		{"ip-limiter", contracts.PathRatings, []fiber.Handler{g.ipLimiter(), bare}},
		{"auth", contracts.PathRatings, []fiber.Handler{list, bare}},
		{"auth+identity-limiter", contracts.PathRatings, []fiber.Handler{list, g.identityLimiter(), bare}},
		{"auth+handler-list", contracts.PathRatings, []fiber.Handler{list, released(g.listRatings)}},
		{"auth+handler-username-hit", contracts.PathCheckUsername + "?username=nora.berg", []fiber.Handler{g.operation(contracts.OpCheckUsername), g.checkUsername}},
	}
	for _, ch := range chains {
		b.Run(ch.name, func(b *testing.B) {
			app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: g.refused})
			app.Get(strings.SplitN(ch.uri, "?", 2)[0], ch.handlers...)
			step := &benchGateway{g: g, handler: app.Handler(), token: bg.token}
			var ctx fasthttp.RequestCtx
			for range 3 {
				step.do(&ctx, ch.uri)
			}
			if got := step.do(&ctx, ch.uri); got != fiber.StatusOK {
				b.Fatalf("%s: status %d: %s", ch.name, got, ctx.Response.Body())
			}
			b.ReportAllocs()
			for b.Loop() {
				step.do(&ctx, ch.uri)
			}
		})
	}
	b.Run("finish", func(b *testing.B) {
		var rctx fasthttp.RequestCtx
		rctx.Request.Header.SetMethod(fasthttp.MethodGet)
		rctx.Request.SetRequestURI(contracts.PathRatings)
		c := g.app.AcquireCtx(&rctx)
		defer g.app.ReleaseCtx(c)
		rs := stateOf(c)
		rs.operation, rs.identity.Subject, rs.upstreamStatus = contracts.OpListRatings, "bench-user", 200
		c.Status(fiber.StatusOK)
		b.ReportAllocs()
		for b.Loop() {
			g.finish(c, rs, time.Millisecond)
		}
	})
}
