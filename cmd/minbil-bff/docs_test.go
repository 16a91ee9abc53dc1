package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// TestDocsLinks holds the README and the pages under docs/ together: every
// relative link names a file or directory of the repository, every #anchor
// a heading of the page it points to, and every page under docs/ is linked
// from the README, so moving a section cannot leave a dead link behind.
func TestDocsLinks(t *testing.T) {
	root := filepath.Join("..", "..")
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := filepath.Join(root, "README.md")
	anchors := map[string][]string{}
	for _, page := range append([]string{readme}, pages...) {
		for _, l := range links(t, page) {
			file, anchor, _ := strings.Cut(l, "#")
			target := page
			if file != "" {
				target = filepath.Join(filepath.Dir(page), file)
				if _, err := os.Stat(target); err != nil {
					t.Errorf("%s links to %s, which does not exist", rel(root, page), l)
					continue
				}
			}
			if anchor == "" || !strings.HasSuffix(target, ".md") {
				continue
			}
			if _, ok := anchors[target]; !ok {
				anchors[target] = headingAnchors(t, target)
			}
			if !slices.Contains(anchors[target], anchor) {
				t.Errorf("%s links to %s: %s has no heading #%s", rel(root, page), l, rel(root, target), anchor)
			}
		}
	}
	fromReadme := links(t, readme)
	for _, page := range pages {
		if !slices.Contains(fromReadme, "docs/"+filepath.Base(page)) {
			t.Errorf("README.md does not link to docs/%s", filepath.Base(page))
		}
	}
}

// markdownLink matches [text](target) and ![alt](target); the target stops
// at a space (an optional title) or the closing parenthesis.
var markdownLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s[^)]*)?\)`)

// links returns the relative link targets of a Markdown file, outside code
// blocks and inline code.
func links(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	for _, line := range prose(t, path) {
		for _, m := range markdownLink.FindAllStringSubmatch(stripCode(line), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			out = append(out, target)
		}
	}
	return out
}

// headingAnchors returns the anchors GitHub gives the headings of a
// Markdown file: lower case, spaces to hyphens, punctuation dropped, a
// repeated one suffixed -1, -2, ….
func headingAnchors(t *testing.T, path string) []string {
	t.Helper()
	seen := map[string]int{}
	var out []string
	for _, line := range prose(t, path) {
		text, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " ")
		if !ok || !strings.HasPrefix(line, "#") {
			continue
		}
		slug := slugify(text)
		if n := seen[slug]; n > 0 {
			out = append(out, slug+"-"+strconv.Itoa(n))
		} else {
			out = append(out, slug)
		}
		seen[slug]++
	}
	return out
}

func slugify(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// prose returns the lines of a Markdown file that are not inside a fenced
// code block.
func prose(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	fenced := false
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			out = append(out, line)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// stripCode removes inline code spans, whose brackets are not links; a
// link whose text is code ([`file`](target)) keeps its target.
func stripCode(line string) string {
	var b strings.Builder
	inCode := false
	for _, r := range line {
		switch {
		case r == '`':
			inCode = !inCode
		case !inCode:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func rel(root, path string) string {
	r, err := filepath.Rel(root, path)
	if err != nil {
		return path
	}
	return r
}
