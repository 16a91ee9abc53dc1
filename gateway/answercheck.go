package gateway

import (
	"errors"

	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
)

// answerCheck validates answers against the contract for the drift watch
// (upstream answers) and X-Contract-Check (the gateway's own): an answer
// byte-identical to one that passed is not validated again, and each kind
// of violation is logged once, so a recurring problem does not flood the
// log. A violating answer is validated every time.
type answerCheck struct {
	passed  *verdicts
	seen    *seenKinds
	log     *zap.Logger
	message string
}

func newAnswerCheck(log *zap.Logger, message string) *answerCheck {
	return &answerCheck{passed: newVerdicts(), seen: newSeenKinds(1000), log: log, message: message}
}

// known reports whether the answer with key (answerCheck.passed.key)
// passed before: it need not be validated again.
func (a *answerCheck) known(key uint64) bool { return a.passed.passed(key) }

// record takes the result of validating the answer with key: it remembers a
// pass, logs each new kind of violation, and returns the violations, or nil
// when the answer passed or addressed no operation of the contract.
func (a *answerCheck) record(key uint64, status int, err error) *contracts.ValidationError {
	if err == nil {
		a.passed.pass(key)
		return nil
	}
	var ve *contracts.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	for _, v := range ve.Violations {
		if a.seen.first(ve.Operation + " " + v.Where + " " + v.Problem) {
			a.log.Warn(a.message, zap.String("operation", ve.Operation), zap.Int("status", status),
				zap.String("where", v.Where), zap.String("problem", v.Problem))
		}
	}
	return ve
}
