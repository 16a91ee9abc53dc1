package verify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/google/uuid"

	"github.com/minbil/minbil-bff/contracts"
)

// The stateful flow rates the configured booking and checks what the list
// says about it:
//
//  1. list the ratings;
//  2. rate the booking with the contract's valid request example and a
//     distinctive message: 200, or 409 already_rated for a booking rated
//     before (then the submitted values are not compared);
//  3. list again: the booking is listed exactly once, with the submitted
//     rating, message and privacy flag;
//  4. rate it again with other values: 409 already_rated;
//  5. list again: still exactly once, with the values of step 3.
//
// A step that cannot be judged because an earlier one failed is skipped.

func (r *runner) flow(ctx context.Context) ([]Result, error) {
	list, rate, err := r.flowOperations()
	if err != nil {
		return nil, &RunError{Kind: ErrConfig, Err: err}
	}
	id := r.cfg.BookingID
	g := &generator{contract: r.contract, cfg: r.cfg}
	listReq := Request{Method: list.op.Method, Path: list.op.Path}
	rateReq := Request{Method: rate.op.Method, Path: g.path(rate, id)}
	step := func(name string, op opInfo, req Request, want []int, check func(Answer) []contracts.Violation) Case {
		return Case{
			Name:       "flow: " + name,
			Operation:  op.op.Name(),
			Kind:       KindFlow,
			Request:    req,
			WantStatus: want,
			Mutates:    !safeMethod(req.Method),
			NeedsToken: op.needsToken,
			Check:      check,
		}
	}

	first, second, err := r.flowBodies(rate)
	if err != nil {
		return nil, &RunError{Kind: ErrConfig, Err: err}
	}
	firstReq, secondReq := rateReq, rateReq
	firstReq.Body, secondReq.Body = first, second
	steps := []Case{
		step("list before rating", list, listReq, list.success, listCheck),
		step(fmt.Sprintf("rate booking %d", id), rate, firstReq, append(slices.Clone(rate.success), http.StatusConflict),
			allChecks(wantCodeOn(http.StatusConflict, contracts.CodeAlreadyRated), rateEchoCheck(id, first))),
		step("list after rating", list, listReq, list.success, listCheck),
		step(fmt.Sprintf("rate booking %d again", id), rate, secondReq, []int{http.StatusConflict},
			wantCodeOn(http.StatusConflict, contracts.CodeAlreadyRated)),
		step("list after rating again", list, listReq, list.success, listCheck),
	}
	if r.cfg.ReadOnly {
		out := make([]Result, len(steps))
		for i, c := range steps {
			out[i] = Result{Operation: c.Operation, Case: c.Name, Kind: c.Kind, Request: requestLine(c.Request),
				WantStatus: c.WantStatus, Outcome: Skip, SkipReason: "read-only run"}
		}
		return out, nil
	}

	f := flowState{id: id, first: first}
	var out []Result
	for i, c := range steps {
		if f.stop != "" {
			out = append(out, Result{Operation: c.Operation, Case: c.Name, Kind: c.Kind, Request: requestLine(c.Request),
				WantStatus: c.WantStatus, Outcome: Skip, SkipReason: f.stop})
			continue
		}
		res, ans, err := r.run(ctx, c)
		if err != nil {
			return out, err
		}
		if ans != nil {
			res.add(f.judge(i, *ans)...)
			res = res.judged()
		} else if res.Outcome != Skip {
			f.stop = "an earlier step got no answer"
		}
		out = append(out, res)
	}
	return out, nil
}

// flowState carries what the steps learn about the booking.
type flowState struct {
	id           int64
	first        []byte         // the first submission
	before       *ratingList    // step 1
	alreadyRated bool           // step 2 answered 409 already_rated
	listed       map[string]any // the booking's item in step 3
	stop         string         // why the remaining steps are skipped
}

// judge adds the flow's own checks to step i's answer.
func (f *flowState) judge(i int, a Answer) []contracts.Violation {
	switch i {
	case 0:
		if a.Status != http.StatusOK {
			f.stop = "listing the ratings failed"
			return nil
		}
		if l, ok := parseList(a.Body); ok {
			f.before = &l
		}
	case 1:
		return f.judgeFirstRating(a)
	case 2:
		if a.Status != http.StatusOK {
			f.stop = "listing the ratings failed"
			return nil
		}
		item, vs := f.listedOnce(a, "after rating it")
		if item == nil {
			return vs
		}
		f.listed = item.fields
		if !f.alreadyRated {
			want, _ := decodeObject(f.first)
			if _, ok := want["service_rating_message"]; !ok {
				want["service_rating_message"] = ""
			}
			vs = append(vs, compareFields(*item, want, "as submitted")...)
		}
		return vs
	case 3:
		if a.Status == http.StatusOK {
			return []contracts.Violation{{Where: "status", Problem: fmt.Sprintf("booking %d was rated a second time, expected 409 %s", f.id, contracts.CodeAlreadyRated)}}
		}
	case 4:
		item, vs := f.listedOnce(a, "after rating it again")
		if item != nil && f.listed != nil {
			vs = append(vs, compareFields(*item, f.listed, "unchanged since the first rating")...)
		}
		return vs
	}
	return nil
}

func (f *flowState) judgeFirstRating(a Answer) []contracts.Violation {
	switch {
	case a.Status >= 200 && a.Status < 300:
		// Stored, even if with the wrong status (reported by the status
		// check): the rest of the flow still tells what the list says.
		if f.before != nil && len(f.before.find(f.id)) > 0 {
			return []contracts.Violation{{Where: "status", Problem: fmt.Sprintf("booking %d was listed before it was rated, expected 409 %s, got %d", f.id, contracts.CodeAlreadyRated, a.Status)}}
		}
		return nil
	case a.Status == http.StatusConflict:
		code, _ := errorCode(a.Body)
		switch code {
		case contracts.CodeAlreadyRated:
			f.alreadyRated = true
			return nil
		case contracts.CodeNotCompleted:
			f.stop = fmt.Sprintf("booking %d is not completed", f.id)
			return []contracts.Violation{{Where: "error.code", Problem: fmt.Sprintf("booking %d is not completed (%s): the flow needs a completed booking of the token's owner, pass one with --booking-id", f.id, code)}}
		}
	case a.Status == http.StatusNotFound:
		f.stop = fmt.Sprintf("booking %d was not found", f.id)
		return []contracts.Violation{{Where: "status", Problem: fmt.Sprintf("booking %d is not a booking of the token's owner (404): pass one with --booking-id", f.id)}}
	}
	f.stop = fmt.Sprintf("rating booking %d failed", f.id)
	return nil
}

// listedOnce finds the booking in a list answer. Listing it more than once
// is reported by listCheck; here only a missing booking is.
func (f *flowState) listedOnce(a Answer, when string) (*listedItem, []contracts.Violation) {
	l, ok := parseList(a.Body)
	if !ok {
		return nil, nil
	}
	items := l.find(f.id)
	if len(items) == 0 {
		return nil, []contracts.Violation{{Where: "items", Problem: fmt.Sprintf("expected booking %d listed once %s, it is missing", f.id, when)}}
	}
	return &items[0], nil
}

// compareFields compares the item's submitted fields with want.
func compareFields(item listedItem, want map[string]any, how string) []contracts.Violation {
	var out []contracts.Violation
	for _, field := range []string{"service_rating", "service_rating_message", "private_service_rating"} {
		got, present := item.fields[field]
		if !present {
			continue // the schema reports a missing field
		}
		if !sameJSON(got, want[field]) {
			out = append(out, contracts.Violation{
				Where:   fmt.Sprintf("items[%d].%s", item.index, field),
				Problem: fmt.Sprintf("expected %s (%s), got %s", short(want[field]), how, short(got)),
			})
		}
	}
	return out
}

// flowOperations finds the list operation (a GET without parameters) and
// the rate operation (a body and an integer path parameter).
func (r *runner) flowOperations() (list, rate opInfo, err error) {
	g := &generator{contract: r.contract, cfg: r.cfg}
	var haveList, haveRate bool
	for _, op := range r.contract.Operations() {
		info, err := g.inspect(op)
		if err != nil {
			return list, rate, fmt.Errorf("flow: %s: %w", op.Name(), err)
		}
		switch {
		case op.Method == http.MethodGet && info.pathParam == nil && len(info.queryParams) == 0:
			list, haveList = info, true
		case info.bodySchema != nil && info.pathParam != nil:
			rate, haveRate = info, true
		}
	}
	if !haveList || !haveRate {
		return list, rate, errors.New("flow: the contract has no list or no rate operation")
	}
	return list, rate, nil
}

// flowBodies returns the first submission (the valid request example with a
// distinctive message) and the second (other values everywhere).
func (r *runner) flowBodies(rate opInfo) (first, second []byte, err error) {
	rules := r.contract.RatingRules()
	message := fmt.Sprintf("minbil-bff verify %s", uuid.NewString())
	first, err = withField(rate.validBody, "service_rating_message", message)
	if err != nil {
		return nil, nil, err
	}
	obj, ok := decodeObject(first)
	if !ok {
		return nil, nil, errors.New("flow: the valid request example is not an object")
	}
	otherRating := rules.MaxRating
	if n, ok := obj["service_rating"].(interface{ Float64() (float64, error) }); ok {
		if v, err := n.Float64(); err == nil && v == rules.MaxRating {
			otherRating = rules.MinRating
		}
	}
	private, _ := obj["private_service_rating"].(bool)
	second = first
	for field, value := range map[string]any{
		"service_rating":         otherRating,
		"service_rating_message": message + " again",
		"private_service_rating": !private,
	} {
		if second, err = withField(second, field, value); err != nil {
			return nil, nil, err
		}
	}
	return first, second, nil
}
