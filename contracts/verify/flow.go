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
// A booking that is not the token's owner's, or not completed, is a
// precondition of the run, not a violation: the flow stops with
// ErrPrecondition, naming --booking-id.

func (r *runner) flow(ctx context.Context) ([]Result, error) {
	list, rate, err := r.flowOperations()
	if err != nil {
		return nil, &RunError{Kind: ErrConfig, Err: err}
	}
	id := r.cfg.BookingID
	g := &generator{contract: r.contract, cfg: r.cfg}
	listReq := Request{Method: list.op.Method, Path: list.op.Path}
	rateReq := Request{Method: rate.op.Method, Path: g.path(rate, id)}
	step := func(name string, op opInfo, req Request, want []int, check func(Answer) []Finding) Case {
		c := Case{
			Name:       "flow: " + name,
			Operation:  op.op.Name(),
			Kind:       KindFlow,
			Request:    req,
			WantStatus: want,
			DocStatus:  AnySuccess,
			Mutates:    !safeMethod(req.Method),
			NeedsToken: op.needsToken,
			Check:      check,
		}
		if c.Mutates {
			// Whether a rating is refused the second time is decided.
			c.DocStatus, c.Decision = AnyAnswer, DecisionRateOnce
		}
		return c
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
	f := flowState{id: id, first: first}
	switch {
	case r.cfg.ReadOnly:
		f.stop = "read-only run"
	case !r.cfg.enabled(CheckStateful):
		f.stop = fmt.Sprintf("check %s not selected", CheckStateful)
	}
	var out []Result
	for i, c := range steps {
		if f.stop != "" {
			out = append(out, skipped(c, f.stop))
			continue
		}
		res, ans, err := r.run(ctx, c)
		if err != nil {
			return out, err
		}
		if ans != nil {
			res.add(f.judge(i, *ans)...)
			res = r.judged(res)
		} else if res.Outcome != Skip {
			f.stop = "an earlier step got no answer"
		}
		if f.precondition != nil {
			out = append(out, skipped(c, f.precondition.Error()))
			f.stop = "the flow cannot run: " + f.precondition.Error()
			continue
		}
		out = append(out, res)
	}
	if f.precondition != nil {
		return out, &RunError{Kind: ErrPrecondition, Err: fmt.Errorf("%w: %w", ErrPrecondition, f.precondition)}
	}
	return out, nil
}

// skipped is the result of a case that did not run.
func skipped(c Case, reason string) Result {
	return Result{Operation: c.Operation, Case: c.Name, Kind: c.Kind, Request: requestLine(c.Request),
		WantStatus: c.WantStatus, Outcome: Skip, SkipReason: reason}
}

// flowState carries what the steps learn about the booking.
type flowState struct {
	id           int64
	first        []byte         // the first submission
	before       *ratingList    // step 1
	alreadyRated bool           // step 2 answered 409 already_rated
	ratedAgain   bool           // step 4 was accepted
	listed       map[string]any // the booking's item in step 3
	stop         string         // why the remaining steps are skipped
	precondition error          // why the flow cannot run at all
}

// judge adds the flow's own checks to step i's answer.
func (f *flowState) judge(i int, a Answer) []Finding {
	switch i {
	case 0:
		if !is2xx(a.Status) {
			f.stop = "listing the ratings failed"
			return nil
		}
		if l, ok := parseList(a.Body); ok {
			f.before = &l
		}
	case 1:
		return f.judgeFirstRating(a)
	case 2:
		if !is2xx(a.Status) {
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
			vs = append(vs, compareFields(*item, want, "as submitted", "")...)
		}
		return vs
	case 3:
		if is2xx(a.Status) {
			f.ratedAgain = true
			return []Finding{decided(CheckStateful, DecisionRateOnce, "status", fmt.Sprintf("booking %d was rated a second time, expected 409 %s", f.id, contracts.CodeAlreadyRated))}
		}
	case 4:
		item, vs := f.listedOnce(a, "after rating it again")
		if item != nil && f.listed != nil {
			// A target that accepted the second rating may show it.
			d := DecisionID("")
			if f.ratedAgain {
				d = DecisionRateOnce
			}
			vs = append(vs, compareFields(*item, f.listed, "unchanged since the first rating", d)...)
		}
		return vs
	}
	return nil
}

func (f *flowState) judgeFirstRating(a Answer) []Finding {
	listedBefore := f.before != nil && len(f.before.find(f.id)) > 0
	switch {
	case is2xx(a.Status):
		// Stored, even if with another status (reported by the status
		// check): the rest of the flow still tells what the list says.
		if listedBefore {
			f.alreadyRated = true
			return []Finding{decided(CheckStateful, DecisionRateOnce, "status", fmt.Sprintf("booking %d was listed before it was rated, expected 409 %s, got %d", f.id, contracts.CodeAlreadyRated, a.Status))}
		}
		return nil
	case a.Status == http.StatusConflict:
		if code, _ := errorCode(a.Body); code == contracts.CodeNotCompleted {
			f.precondition = fmt.Errorf("booking %d is not completed (409 %s): pass a completed, unrated booking of the token's owner with --booking-id", f.id, code)
			return nil
		}
		f.alreadyRated = true
		return nil
	case (a.Status == http.StatusNotFound || a.Status == http.StatusForbidden) && !listedBefore:
		f.precondition = fmt.Errorf("booking %d is not a booking of the token's owner (rating it answered %d, and the list does not show it): pass a completed, unrated booking of the token's owner with --booking-id", f.id, a.Status)
		return nil
	}
	f.stop = fmt.Sprintf("rating booking %d failed", f.id)
	return nil
}

// listedOnce finds the booking in a list answer. Listing it more than once
// is reported by listCheck; here only a missing booking is.
func (f *flowState) listedOnce(a Answer, when string) (*listedItem, []Finding) {
	l, ok := parseList(a.Body)
	if !ok {
		return nil, nil
	}
	items := l.find(f.id)
	if len(items) == 0 {
		return nil, []Finding{documented(CheckStateful, "items", fmt.Sprintf("expected booking %d listed once %s, it is missing", f.id, when))}
	}
	return &items[0], nil
}

// compareFields compares the item's submitted fields with want; a
// difference is a finding of decision d ("" when documented).
func compareFields(item listedItem, want map[string]any, how string, d DecisionID) []Finding {
	var out []Finding
	for _, field := range []string{"service_rating", "service_rating_message", "private_service_rating"} {
		got, present := item.fields[field]
		if !present {
			continue // the schema reports a missing field
		}
		if !sameJSON(got, want[field]) {
			out = append(out, decided(CheckStateful, d, fmt.Sprintf("items[%d].%s", item.index, field),
				fmt.Sprintf("expected %s (%s), got %s", short(want[field]), how, short(got))))
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
