// Package secret answers one question the gateway and the mock both ask:
// does this text quote a secret? The gateway asks it of an upstream's
// message before a client sees it (S-03) and its log scrubber removes
// what it finds; the mock's recorder asks it of every value a fixture
// would keep (R3-F4). The mock may not import the gateway, so the one
// answer lives here, below both.
package secret

import "strings"

// Redacted replaces a text, or the part of one, that quoted a secret.
const Redacted = "[redacted]"

// Window is the shortest part of a secret that counts as the secret: a
// secret of Window bytes or more is quoted wherever any Window-long part
// of it appears. Eight bytes hold no word of a log line's own text by
// chance (a one-letter key in "api_key" does), yet a quoted part that
// long of a random key is not guessable from the rest.
const Window = 8

// Quotes reports whether text quotes any of secrets: a Window-long part of
// one of Window bytes or more, or a shorter one anywhere in text. Empty
// secrets are ignored. It is the check for text that leaves the process
// (an upstream's message passed to a client, a value written to a
// fixture), where a false alarm costs a generic message and a miss leaks
// the secret; the gateway's log scrubber, whose false alarms would wreck
// every line, matches short secrets whole only.
func Quotes(text string, secrets ...string) bool {
	for _, secret := range secrets {
		switch {
		case secret == "":
		case len(secret) < Window:
			if strings.Contains(text, secret) {
				return true
			}
		default:
			for i := 0; i+Window <= len(secret); i++ {
				if strings.Contains(text, secret[i:i+Window]) {
					return true
				}
			}
		}
	}
	return false
}
