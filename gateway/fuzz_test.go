package gateway

import (
	"encoding/json"
	"testing"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/gateway/upstream"
)

// FuzzUpstreamAnswer feeds arbitrary upstream bodies to the decoders of
// upstream answers: they never panic, an accepted rating list re-encodes
// with only the contract's fields, and an upstream 4xx body never puts a
// malformed code or a control character into the client's answer.
func FuzzUpstreamAnswer(f *testing.F) {
	for _, seed := range []string{
		listBody, usernameBody, rateBody, `{}`, `{"total":"1","items":null}`, `{"total":1,"items":[{"user_email":"x@y"}]}`,
		`{"error":{"code":"already_rated","message":"Already rated."}}`, `{"error":{"code":"Bad Code","message":"a\nb"}}`,
		`<html>oops</html>`, `{"total":1,"items":[]}{"x":1}`,
	} {
		f.Add([]byte(seed), 409)
	}
	f.Fuzz(func(t *testing.T, body []byte, status int) {
		resp := &upstream.Response{Status: 200, Body: body, ContentType: "application/json"}
		var list contracts.RatingList
		if decodeUpstream(resp, &list) == nil {
			if _, err := json.Marshal(list); err != nil {
				t.Fatalf("accepted list does not re-encode: %v", err)
			}
		}
		if b, err := testContract.Prune(contracts.OpRateBooking, body); err == nil {
			_, _ = rateAnswer(b, "rid") // never panics, whatever the upstream sent
		}
		if status < 400 || status > 499 {
			return
		}
		ae := upstreamClientError(&upstream.Response{Status: status, Body: body})
		if !errorCodePattern.MatchString(ae.code) || ae.message == "" || !printable(ae.message) {
			t.Fatalf("upstream %d body %q gave code %q message %q", status, body, ae.code, ae.message)
		}
	})
}
