package gateway

import (
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// proxies are the trusted front proxies (server.trusted_proxies): their
// X-Forwarded-For entries are believed.
type proxies []netip.Prefix

// parseProxies reads IPs and CIDRs; config validation has refused anything
// else, so an entry that does not parse is skipped.
func parseProxies(entries []string) proxies {
	var out proxies
	for _, e := range entries {
		if p, err := netip.ParsePrefix(e); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(e); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out
}

func (p proxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, prefix := range p {
		if prefix.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP is the address rate limits and anonymous idempotency scopes
// key by. Behind trusted proxies it walks X-Forwarded-For from the right
// (the end the nearest proxy wrote), skipping trusted proxies, and takes
// the first address that is not one of them; the left end is written by
// the client and proves nothing. An entry that is not an IP ends the walk
// at the peer's address (OA-02).
func (g *Gateway) clientIP(c *fiber.Ctx) string {
	peer, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok {
		return c.Context().RemoteIP().String()
	}
	peer = peer.Unmap()
	if len(g.proxies) == 0 || !g.proxies.trusts(peer) {
		return peer.String()
	}
	values := c.Request().Header.PeekAll(fiber.HeaderXForwardedFor)
	for i := len(values) - 1; i >= 0; i-- {
		entries := strings.Split(string(values[i]), ",")
		for j := len(entries) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(entries[j]))
			if err != nil {
				return peer.String()
			}
			if a = a.Unmap(); !g.proxies.trusts(a) {
				return a.String()
			}
		}
	}
	return peer.String()
}
