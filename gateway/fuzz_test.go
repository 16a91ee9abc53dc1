package gateway

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/gateway/upstream"
)

// FuzzUpstreamAnswer feeds arbitrary upstream bodies through the answer
// pipeline (judge: one decoding, the drift check, the pruning) for every
// operation and through the renderers of its results: nothing panics, an
// accepted rating list is JSON that pruning leaves as it is (only the
// contract's fields), a remembered answer is judged the same again, and an
// upstream 4xx body never puts a malformed code or a control character
// into the client's answer.
func FuzzUpstreamAnswer(f *testing.F) {
	for _, seed := range []string{
		listBody, usernameBody, rateBody, `{}`, `{"total":"1","items":null}`, `{"total":1,"items":[{"user_email":"x@y"}]}`,
		`{"error":{"code":"already_rated","message":"Already rated."}}`, `{"error":{"code":"Bad Code","message":"a\nb"}}`,
		`<html>oops</html>`, `{"total":1,"items":[]}{"x":1}`,
	} {
		f.Add([]byte(seed), 409)
		f.Add([]byte(seed), 200)
	}
	g := &Gateway{contract: testContract, answers: newMemo(), drift: newWatch(zap.NewNop(), "broken")}
	f.Fuzz(func(t *testing.T, body []byte, status int) {
		now := time.Now()
		for _, op := range contracts.OperationIDs() {
			resp := &upstream.Response{Status: 200, Body: body, ContentType: "application/json"}
			j := g.judge(context.Background(), op, resp, now)
			switch {
			case j.err != nil:
			case op == contracts.OpListRatings:
				again := g.judge(context.Background(), op, &upstream.Response{Status: 200, Body: append([]byte(nil), j.clean...), ContentType: "application/json"}, now)
				if again.err != nil || string(again.clean) != string(j.clean) {
					t.Fatalf("accepted list %s prunes to %s, %v", j.clean, again.clean, again.err)
				}
				if again := g.judge(context.Background(), op, &upstream.Response{Status: 200, Body: append([]byte(nil), body...), ContentType: "application/json"}, now); again.violations != j.violations || string(again.clean) != string(j.clean) {
					t.Fatalf("the same answer judged twice: %d violations and %s, then %d and %s", j.violations, j.clean, again.violations, again.clean)
				}
			case op == contracts.OpRateBooking:
				if b, err := rateAnswer(j.value, "rid", now); err == nil && !json.Valid(b) {
					t.Fatalf("rate answer %s is not JSON", b)
				}
			case op == contracts.OpCheckUsername:
				_, _ = usernameAnswer(j.value) // never panics, whatever the upstream sent
			}
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
