package header

// MockSessionName is the development header that gives a request its own
// world of the mock (X-Mock-Session). It is not part of the contract: the
// mock reads it, and a gateway in front of the mock checks and forwards it.
// Both parse it here, so that a value the mock refuses is refused by the
// gateway in the same words, and never silently read as the default world.
const MockSessionName = "X-Mock-Session"

// MaxMockSessionLen bounds a session id, so that the mock's map of worlds
// has bounded keys.
const MaxMockSessionLen = 128

// Refusal is a header value the rules refuse. Its Error text is for logs
// and errors.Is; Message is the sentence a client gets in the contract's
// error body (code bad_request), the same from the mock and the gateway.
type Refusal struct {
	reason  string
	Message string
}

func (r *Refusal) Error() string { return r.reason }

// Refusals of an X-Mock-Session header.
var (
	ErrMockSessionRepeated = &Refusal{
		reason:  "more than one X-Mock-Session header",
		Message: "Give the X-Mock-Session header once.",
	}
	ErrMockSessionInvalid = &Refusal{
		reason:  "X-Mock-Session is not 1–128 visible ASCII characters",
		Message: "X-Mock-Session must be 1–128 visible ASCII characters.",
	}
)

// MockSession validates the X-Mock-Session header values: at most one,
// 1–128 visible ASCII characters. It returns "" when there is none (the
// default world). An empty value is refused: it is not the default world
// asked for by name, and reading it so would hide a client's bug.
func MockSession(values []string) (string, error) {
	switch len(values) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", ErrMockSessionRepeated
	}
	v := values[0]
	if v == "" || len(v) > MaxMockSessionLen || !isVisibleASCII(v) {
		return "", ErrMockSessionInvalid
	}
	return v, nil
}
