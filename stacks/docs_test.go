package stacks

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// The documents a reader follows: the README, the contributors' guide and
// every page under docs/.
func documents(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"README.md", "CONTRIBUTING.md"}, pages...)
}

var (
	fence      = regexp.MustCompile("(?ms)^\\s*```.*?^\\s*```[^\\n]*$")
	codeSpan   = regexp.MustCompile("`[^`\\n]+`")
	mdLink     = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	heading    = regexp.MustCompile(`(?m)^#{1,6}\s+(.+?)\s*#*\s*$`)
	makeCall   = regexp.MustCompile(`\bmake\s+([^;&|#(),\n` + "`" + `]+)`)
	comment    = regexp.MustCompile(`(?m)(^|\s)#.*$`)
	makeTarget = regexp.MustCompile(`(?m)^([A-Za-z0-9][A-Za-z0-9_.%-]*(?:\s+[A-Za-z0-9][A-Za-z0-9_.%-]*)*)\s*:([^=]|$)`)
)

// prose is a document without its code: links in code are not links.
func prose(doc string) string {
	return codeSpan.ReplaceAllString(fence.ReplaceAllString(doc, ""), "")
}

// anchors are the ids GitHub gives a Markdown file's headings: the text as
// rendered, lower-cased, without punctuation, spaces as hyphens, and -1,
// -2... after a repeated one.
func anchors(doc string) map[string]bool {
	seen := map[string]int{}
	ids := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(fence.ReplaceAllString(doc, ""), -1) {
		text := mdLink.ReplaceAllStringFunc(m[1], func(l string) string {
			return l[strings.Index(l, "[")+1 : strings.Index(l, "]")]
		})
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		id := b.String()
		if n := seen[id]; n > 0 {
			ids[id+"-"+itoa(n)] = true
		} else {
			ids[id] = true
		}
		seen[id]++
	}
	return ids
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// Every relative link of the documents names a file or folder that exists
// and, for an anchor in a Markdown file, a heading of it.
func TestDocsLinksResolve(t *testing.T) {
	docs := documents(t)
	for _, name := range docs {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllStringSubmatch(prose(string(b)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			file := name
			if path != "" {
				file = filepath.Join(filepath.Dir(name), path)
				if _, err := os.Stat(file); err != nil {
					t.Errorf("%s links to %s, which does not exist", name, target)
					continue
				}
			}
			if anchor == "" || !strings.HasSuffix(file, ".md") {
				continue
			}
			linked, err := os.ReadFile(file)
			if err != nil {
				t.Errorf("%s links to %s: %v", name, target, err)
				continue
			}
			if !anchors(string(linked))[anchor] {
				t.Errorf("%s links to %s: %s has no heading with the anchor #%s", name, target, file, anchor)
			}
		}
	}
}

// Every `make <target>` the documents name, in code or in a code span, is a
// target of the Makefile.
func TestDocsMakeTargetsExist(t *testing.T) {
	mk, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, m := range makeTarget.FindAllStringSubmatch(string(mk), -1) {
		for _, name := range strings.Fields(m[1]) {
			targets[name] = true
		}
	}
	for _, name := range documents(t) {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		doc := string(b)
		code := strings.Join(append(commands(fence.FindAllString(doc, -1)), codeSpan.FindAllString(doc, -1)...), "\n")
		for _, m := range makeCall.FindAllStringSubmatch(code, -1) {
			for _, word := range shellWords(m[1]) {
				if strings.Contains(word, "=") || strings.HasPrefix(word, "-") || strings.ContainsAny(word, "$<\\") {
					continue
				}
				if !targets[word] {
					t.Errorf("%s runs `make %s`: the Makefile has no target %s", name, strings.TrimSpace(m[1]), word)
				}
			}
		}
	}
}

// commands are the code blocks' lines without their shell comments, whose
// prose may say "make" in passing.
func commands(blocks []string) []string {
	out := make([]string, len(blocks))
	for i, b := range blocks {
		out[i] = comment.ReplaceAllString(b, "")
	}
	return out
}

// shellWords splits a command line as a shell does, quotes kept together:
// make's variables (LAB_FLAGS="-latency 25ms") are one word.
func shellWords(line string) []string {
	var words []string
	var w strings.Builder
	var quote rune
	for _, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				w.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote = r
		case unicode.IsSpace(r):
			if w.Len() > 0 {
				words = append(words, w.String())
				w.Reset()
			}
		default:
			w.WriteRune(r)
		}
	}
	if w.Len() > 0 {
		words = append(words, w.String())
	}
	return words
}

// The checks above must see what they check: anchors as GitHub makes them,
// and the make targets in the Makefile.
func TestDocsCheckerSeesHeadingsAndTargets(t *testing.T) {
	ids := anchors("# Try it: the lab\n## `make lab` and LAB_SET\n## Try it: the lab\n```sh\n# not a heading\n```\n")
	for _, want := range []string{"try-it-the-lab", "make-lab-and-lab_set", "try-it-the-lab-1"} {
		if !ids[want] {
			t.Errorf("anchors %v lack %s", ids, want)
		}
	}
	if ids["not-a-heading"] {
		t.Errorf("a comment in a code block was taken for a heading")
	}
	if got := makeCall.FindStringSubmatch("make lab STACK=azure # the other"); got == nil || strings.TrimSpace(got[1]) != "lab STACK=azure" {
		t.Errorf("make call parsed as %q", got)
	}
	if got := shellWords(`lab LAB_FLAGS="-latency 25ms -node-startup 90s" STACK=aws`); len(got) != 3 || got[1] != "LAB_FLAGS=-latency 25ms -node-startup 90s" {
		t.Errorf("shell words %q", got)
	}
}
