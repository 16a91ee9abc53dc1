package gateway

import (
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

func (g *Gateway) metricsHandler() fiber.Handler {
	h := fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(g.metrics.registry, promhttp.HandlerOpts{}))
	return func(c *fiber.Ctx) error {
		stateOf(c).operation = "metrics"
		c.Set(fiber.HeaderCacheControl, "no-store")
		h(c.Context())
		return nil
	}
}
