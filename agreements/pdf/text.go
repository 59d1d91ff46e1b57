package pdf

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Characters that must not start a line (closing punctuation) and must not
// end one (opening punctuation), after GB/T 15834 and common CJK practice.
const (
	noLineStart = "，。、；：？！）」』》〉】〕〗］｝’”…—·%‰℃,.;:?!)]}>'\"％・～"
	noLineEnd   = "（「『《〈【〔〖［｛‘“([{<"
)

func isNoStart(r rune) bool { return strings.ContainsRune(noLineStart, r) }
func isNoEnd(r rune) bool   { return strings.ContainsRune(noLineEnd, r) }

// isWordRune reports runes that join into an unbreakable word: Latin
// letters, digits and the punctuation that holds codes, URLs and numbers
// together.
func isWordRune(r rune) bool {
	if r < 0x80 {
		return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_./@:#%+&=?~*", r)
	}
	return unicode.IsLetter(r) && !unicode.Is(unicode.Han, r) && !unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// token is an unbreakable piece of text.
type token struct {
	s     string
	w     int // 1/1000 em
	space bool
}

// measure returns the width of s in 1/1000 em, or an error naming the first
// character no font prints.
func (f *Fonts) measure(s string) (int, error) {
	w := 0
	for _, r := range s {
		if r == '\n' || r == '\r' {
			continue
		}
		if r == '\t' {
			r = ' '
		}
		g, ok := f.lookup(r)
		if !ok {
			return 0, fmt.Errorf("no font covers %q (U+%04X)", r, r)
		}
		w += int(g.w)
	}
	return w, nil
}

// tokenize splits one paragraph (no newlines) into tokens: each CJK
// character or punctuation mark alone, Latin words and numbers whole, runs
// of spaces as one space token. Paired dashes and ellipses stay together.
func (f *Fonts) tokenize(s string) ([]token, error) {
	var toks []token
	rs := []rune(s)
	for i := 0; i < len(rs); {
		r := rs[i]
		j := i + 1
		switch {
		case r == ' ' || r == '\t' || r == '\u3000' || unicode.IsSpace(r):
			for j < len(rs) && (rs[j] == ' ' || rs[j] == '\t' || unicode.IsSpace(rs[j])) && rs[j] != '\u3000' {
				j++
			}
			if r == '\u3000' {
				j = i + 1
			}
		case isWordRune(r):
			for j < len(rs) && isWordRune(rs[j]) {
				j++
			}
		case r == '—' || r == '…':
			for j < len(rs) && rs[j] == r {
				j++
			}
		}
		piece := string(rs[i:j])
		space := r != '\u3000' && (r == ' ' || r == '\t' || unicode.IsSpace(r))
		if space {
			piece = " "
		}
		w, err := f.measure(piece)
		if err != nil {
			return nil, err
		}
		toks = append(toks, token{s: piece, w: w, space: space})
		i = j
	}
	return toks, nil
}

// wrap breaks s into lines no wider than max (1/1000 em units of the font
// size in use). Newlines in s are hard breaks. No character is dropped
// except spaces at a break; closing punctuation never starts a line and
// opening punctuation never ends one (the neighbouring character moves with
// it; a line that cannot give one up lets its punctuation hang).
func (f *Fonts) wrap(s string, max int) ([]string, error) {
	return f.wrapFirst(s, max, max)
}

// wrapFirst is wrap with the first line of every paragraph first units
// wide (for a first-line indent) and the others max.
func (f *Fonts) wrapFirst(s string, first, max int) ([]string, error) {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		toks, err := f.tokenize(para)
		if err != nil {
			return nil, err
		}
		pl := breakLines(f.splitLong(toks, min(first, max)), first, max)
		if len(pl) == 0 {
			pl = []string{""}
		}
		lines = append(lines, pl...)
	}
	return lines, nil
}

// splitLong breaks words wider than a whole line into single characters,
// so that breakLines can always make progress.
func (f *Fonts) splitLong(toks []token, max int) []token {
	var out []token
	for _, t := range toks {
		if t.space || t.w <= max || utf8.RuneCountInString(t.s) < 2 {
			out = append(out, t)
			continue
		}
		for _, r := range t.s {
			w, _ := f.measure(string(r))
			out = append(out, token{s: string(r), w: w})
		}
	}
	return out
}

// breakLines is the greedy line breaker over measured tokens.
func breakLines(toks []token, first, rest int) []string {
	var lines []string
	max := first
	var cur []token
	curW := 0
	flush := func() {
		// Trim spaces at both ends.
		for len(cur) > 0 && cur[len(cur)-1].space {
			curW -= cur[len(cur)-1].w
			cur = cur[:len(cur)-1]
		}
		i := 0
		for i < len(cur) && cur[i].space {
			i++
		}
		var b strings.Builder
		for _, t := range cur[i:] {
			b.WriteString(t.s)
		}
		lines = append(lines, b.String())
		cur, curW = nil, 0
		max = rest
	}
	for k := 0; k < len(toks); k++ {
		t := toks[k]
		if len(cur) == 0 && t.space {
			continue // no space at the start of a line
		}
		if curW+t.w <= max || len(cur) == 0 {
			cur = append(cur, t)
			curW += t.w
			continue
		}
		if t.space {
			flush()
			continue
		}
		first, _ := utf8.DecodeRuneInString(t.s)
		var carry []token
		if isNoStart(first) {
			// Move the last characters that are not themselves closing
			// punctuation down with it, keeping at least one token.
			k2 := len(cur) - 1
			for k2 > 0 {
				r, _ := utf8.DecodeRuneInString(cur[k2].s)
				if !isNoStart(r) && !cur[k2].space {
					break
				}
				k2--
			}
			if k2 == 0 {
				// Nothing can move: let the punctuation hang.
				cur = append(cur, t)
				curW += t.w
				continue
			}
			carry = append(carry, cur[k2:]...)
			cur = cur[:k2]
		}
		// Opening punctuation must not end the line.
		for len(cur) > 1 && cur[len(cur)-1].space {
			cur = cur[:len(cur)-1]
		}
		for len(cur) > 1 {
			last := cur[len(cur)-1]
			r, _ := utf8.DecodeLastRuneInString(last.s)
			if last.space || !isNoEnd(r) {
				break
			}
			carry = append([]token{last}, carry...)
			cur = cur[:len(cur)-1]
		}
		curW = 0
		for _, c := range cur {
			curW += c.w
		}
		flush()
		for _, c := range carry {
			if len(cur) == 0 && c.space {
				continue
			}
			cur = append(cur, c)
			curW += c.w
		}
		cur = append(cur, t)
		curW += t.w
	}
	if len(cur) > 0 {
		flush()
	}
	return lines
}
