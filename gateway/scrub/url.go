package scrub

import "strings"

// Hidden replaces the parts of a URL that may carry a credential. It is
// valid in a URL's user info, query and fragment, so a redacted URL still
// parses and names its scheme, host and path.
const Hidden = "***"

// URL returns raw with the parts of a URL that may carry a credential
// replaced by Hidden: the user info ("https://***@host/"), and everything
// after the first "?" or "#", query and fragment alike ("/jwks?***"); the
// scheme, host and path stay, so the URL still says where it points.
// raw need not parse: it is cut where net/url would cut it (the first "#"
// starts the fragment, the first "?" before it the query, and user info
// ends at the authority's last "@"), so a URL too broken to parse, the
// one an error message quotes, is redacted too. The authority starts
// after a leading "//", else after the first "://", else at the
// beginning ("user:pw@host" becomes "***@host").
func URL(raw string) string {
	cut := strings.IndexAny(raw, "?#")
	head, tail := raw, ""
	if cut >= 0 {
		head, tail = raw[:cut+1], raw[cut+1:]
		if tail != "" {
			tail = Hidden
		}
	}
	return hideUserinfo(head) + tail
}

// hideUserinfo replaces the user info of the URL head (a URL without query
// and fragment, or ending in the "?" or "#" that starts them) with Hidden.
func hideUserinfo(head string) string {
	start := 0
	if strings.HasPrefix(head, "//") {
		start = len("//") // a "://" after it is in the path
	} else if i := strings.Index(head, "://"); i >= 0 {
		start = i + len("://")
	}
	end := len(head)
	if i := strings.IndexAny(head[start:], "/?#"); i >= 0 {
		end = start + i
	}
	at := strings.LastIndexByte(head[start:end], '@')
	if at < 0 {
		return head
	}
	return head[:start] + Hidden + head[start+at:]
}

// URLs returns text with every URL in it ("scheme://…", up to white
// space, a quote or an angle bracket, as an error message quotes one)
// passed through URL. Text without "://" is returned as it is.
func URLs(text string) string {
	if !strings.Contains(text, "://") {
		return text
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], "://")
		if j < 0 {
			break
		}
		sep := i + j
		start := sep
		for start > last && isSchemeByte(text[start-1]) {
			start--
		}
		end := sep + len("://")
		for end < len(text) && !endsURL(text[end]) {
			end++
		}
		b.WriteString(text[last:start])
		b.WriteString(URL(text[start:end]))
		last, i = end, end
	}
	b.WriteString(text[last:])
	return b.String()
}

// isSchemeByte reports whether c may appear in a URL scheme (RFC 3986
// §3.1: letters, digits, "+", "-", ".").
func isSchemeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
}

// endsURL reports whether c ends a URL quoted in text: white space or a
// control character, a quote, or an angle bracket.
func endsURL(c byte) bool {
	return c <= ' ' || c == 0x7f || c == '"' || c == '\'' || c == '`' || c == '<' || c == '>'
}
