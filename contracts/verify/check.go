package verify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/minbil/minbil-bff/contracts"
)

// The checks below add what a JSON schema cannot say. They read answers
// tolerantly: a body of the wrong shape is already reported by the
// contract's validation, so a check skips what it cannot read.

// allChecks runs every non-nil check.
func allChecks(checks ...func(Answer) []Finding) func(Answer) []Finding {
	return func(a Answer) []Finding {
		var out []Finding
		for _, c := range checks {
			if c != nil {
				out = append(out, c(a)...)
			}
		}
		return out
	}
}

// wantCodeOn requires error.code to be code when the answer's status is
// status.
func wantCodeOn(status int, code string) func(Answer) []Finding {
	return func(a Answer) []Finding {
		if a.Status != status {
			return nil
		}
		got, ok := errorCode(a.Body)
		if !ok || got == code {
			return nil
		}
		return []Finding{decided(CheckSemantics, DecisionErrorCodes, "error.code", fmt.Sprintf("expected %q, got %q", code, got))}
	}
}

// usernameCheck: a 2xx answer echoes the username as given, always has a
// message (both decided), and is available:false when the name breaks a
// rule: documented for the page's rules, decided where only our reading of
// "letters" as ASCII rejects it.
func usernameCheck(rules contracts.UsernameRules, sent string) func(Answer) []Finding {
	return func(a Answer) []Finding {
		if !is2xx(a.Status) {
			return nil
		}
		obj, ok := decodeObject(a.Body)
		if !ok {
			return nil
		}
		var out []Finding
		if got, ok := obj["username"].(string); ok && got != sent {
			out = append(out, decided(CheckSemantics, DecisionUsernameAnswer, "username", fmt.Sprintf("expected the username as given %q, got %q", sent, got)))
		}
		if got, ok := obj["message"].(string); ok && got == "" {
			out = append(out, decided(CheckSemantics, DecisionUsernameAnswer, "message", "expected a non-empty message, got an empty string"))
		}
		if valid, rule := rules.Check(sent); !valid {
			if got, ok := obj["available"].(bool); ok && got {
				d := DecisionID("")
				if documentedValid(rules, sent) {
					d = DecisionUsernameASCII
				}
				out = append(out, decided(CheckSemantics, d, "available", fmt.Sprintf("expected false (the name breaks the rule %q), got true", rule)))
			}
		}
		return out
	}
}

// listCheck: in a 2xx list, total is the number of items, no booking is
// listed twice and the items are ordered newest first by rated_at (all
// decided: list_invariants).
func listCheck(a Answer) []Finding {
	if !is2xx(a.Status) {
		return nil
	}
	list, ok := parseList(a.Body)
	if !ok {
		return nil
	}
	var out []Finding
	if list.totalOK && list.total != int64(len(list.items)) {
		out = append(out, decided(CheckSemantics, DecisionListInvariants, "total", fmt.Sprintf("expected %d (the number of items), got %d", len(list.items), list.total)))
	}
	count := map[int64]int{}
	for _, it := range list.items {
		if it.idOK {
			count[it.bookingID]++
		}
	}
	// Reported once per booking, at its second item.
	seen := map[int64]int{}
	for _, it := range list.items {
		if !it.idOK {
			continue
		}
		seen[it.bookingID]++
		if seen[it.bookingID] == 2 {
			out = append(out, decided(CheckSemantics, DecisionListInvariants, fmt.Sprintf("items[%d].booking_id", it.index),
				fmt.Sprintf("booking %d is listed %d times, expected once", it.bookingID, count[it.bookingID])))
		}
	}
	for i := 1; i < len(list.items); i++ {
		prev, cur := list.items[i-1], list.items[i]
		if prev.ratedOK && cur.ratedOK && cur.ratedAt.After(prev.ratedAt) {
			out = append(out, decided(CheckSemantics, DecisionListInvariants, fmt.Sprintf("items[%d].rated_at", i),
				fmt.Sprintf("expected items newest first, got one rated after items[%d]", i-1)))
		}
	}
	return out
}

// rateEchoCheck: the fields of a 2xx answer's data that are present equal
// what was submitted (a missing message was submitted as "").
func rateEchoCheck(bookingID int64, sent []byte) func(Answer) []Finding {
	return func(a Answer) []Finding {
		if !is2xx(a.Status) {
			return nil
		}
		obj, ok := decodeObject(a.Body)
		if !ok {
			return nil
		}
		data, ok := obj["data"].(map[string]any)
		if !ok {
			return nil
		}
		want, ok := decodeObject(sent)
		if !ok {
			return nil
		}
		if _, ok := want["service_rating_message"]; !ok {
			want["service_rating_message"] = ""
		}
		want["booking_id"] = json.Number(fmt.Sprint(bookingID))
		var out []Finding
		for _, field := range []string{"booking_id", "service_rating", "service_rating_message", "private_service_rating"} {
			got, present := data[field]
			if !present {
				continue
			}
			if !sameJSON(got, want[field]) {
				out = append(out, decided(CheckSemantics, DecisionRateEcho, "data."+field, fmt.Sprintf("expected %s (as submitted), got %s", short(want[field]), short(got))))
			}
		}
		return out
	}
}

// requestIDCheck: the X-Request-ID header, when present, echoes the sane id
// that was sent, and equals meta.request_id where the body has one.
func requestIDCheck(sent string, a Answer) []Finding {
	got := a.Header.Get("X-Request-ID")
	if got == "" {
		return nil
	}
	var out []Finding
	if got != sent {
		out = append(out, decided(CheckSemantics, DecisionRequestIDEcho, "header X-Request-ID", fmt.Sprintf("expected the caller's id %q echoed, got %q", sent, got)))
	}
	if obj, ok := decodeObject(a.Body); ok {
		if meta, ok := obj["meta"].(map[string]any); ok {
			if id, ok := meta["request_id"].(string); ok && id != got {
				out = append(out, decided(CheckSemantics, DecisionRequestIDEcho, "meta.request_id", fmt.Sprintf("expected %q (the X-Request-ID header), got %q", got, id)))
			}
		}
	}
	return out
}

// documentedValid reports whether name keeps the rules as the page states
// them, reading "letters" as any Unicode letter.
func documentedValid(rules contracts.UsernameRules, name string) bool {
	n := utf8.RuneCountInString(name)
	if n < rules.MinLength || n > rules.MaxLength {
		return false
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("._-", r) {
			return false
		}
	}
	return true
}

// ratingList is a tolerant reading of a list answer.
type ratingList struct {
	total   int64
	totalOK bool
	items   []listedItem
}

type listedItem struct {
	index     int
	bookingID int64
	idOK      bool
	ratedAt   time.Time
	ratedOK   bool
	fields    map[string]any
}

func parseList(body []byte) (ratingList, bool) {
	var l ratingList
	obj, ok := decodeObject(body)
	if !ok {
		return l, false
	}
	if n, ok := obj["total"].(json.Number); ok {
		if v, err := n.Int64(); err == nil {
			l.total, l.totalOK = v, true
		}
	}
	raw, ok := obj["items"].([]any)
	if !ok {
		return l, false
	}
	for i, r := range raw {
		fields, _ := r.(map[string]any)
		it := listedItem{index: i, fields: fields}
		if n, ok := fields["booking_id"].(json.Number); ok {
			if v, err := n.Int64(); err == nil {
				it.bookingID, it.idOK = v, true
			}
		}
		if s, ok := fields["rated_at"].(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				it.ratedAt, it.ratedOK = t, true
			}
		}
		l.items = append(l.items, it)
	}
	return l, true
}

// find returns the items of booking id.
func (l ratingList) find(id int64) []listedItem {
	var out []listedItem
	for _, it := range l.items {
		if it.idOK && it.bookingID == id {
			out = append(out, it)
		}
	}
	return out
}

func decodeObject(body []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, false
	}
	return obj, true
}

func errorCode(body []byte) (string, bool) {
	obj, ok := decodeObject(body)
	if !ok {
		return "", false
	}
	e, ok := obj["error"].(map[string]any)
	if !ok {
		return "", false
	}
	code, ok := e["code"].(string)
	return code, ok
}

// sameJSON compares two decoded JSON values; numbers by value, so 4 and 4.0
// are the same rating.
func sameJSON(a, b any) bool {
	an, aNum := a.(json.Number)
	bn, bNum := b.(json.Number)
	if aNum && bNum {
		af, errA := an.Float64()
		bf, errB := bn.Float64()
		return errA == nil && errB == nil && af == bf
	}
	return a == b
}

// short renders a decoded JSON value for a report, cut to a readable size.
func short(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	const max = 60
	if s := string(b); len([]rune(s)) > max {
		return string([]rune(s)[:max]) + "…"
	}
	return string(b)
}
