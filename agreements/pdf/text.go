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
	b := &lineBreaker{max: first, rest: rest}
	for _, t := range toks {
		b.add(t)
	}
	if len(b.cur) > 0 {
		b.flush()
	}
	return b.lines
}

// lineBreaker holds the lines made so far and the line being filled.
type lineBreaker struct {
	lines     []string
	max, rest int // the current line's width; every later line's
	cur       []token
	curW      int
}

// add puts t on the current line, or breaks the line before it.
func (b *lineBreaker) add(t token) {
	switch {
	case len(b.cur) == 0 && t.space:
		return // no space at the start of a line
	case b.curW+t.w <= b.max || len(b.cur) == 0:
		b.push(t)
		return
	case t.space:
		b.flush()
		return
	}
	carry, ok := b.carryNoStart(t)
	if !ok {
		// Nothing can move: let the punctuation hang.
		b.push(t)
		return
	}
	carry = b.carryNoEnd(carry)
	b.curW = 0
	for _, c := range b.cur {
		b.curW += c.w
	}
	b.flush()
	for _, c := range carry {
		if len(b.cur) == 0 && c.space {
			continue
		}
		b.push(c)
	}
	b.push(t)
}

func (b *lineBreaker) push(t token) {
	b.cur = append(b.cur, t)
	b.curW += t.w
}

// carryNoStart: when t is closing punctuation, which must not start the
// next line, it takes off the end of the current line the last characters
// that are not themselves closing punctuation, to move down with it,
// keeping at least one token. ok is false when nothing can move.
func (b *lineBreaker) carryNoStart(t token) (carry []token, ok bool) {
	first, _ := utf8.DecodeRuneInString(t.s)
	if !isNoStart(first) {
		return nil, true
	}
	k := len(b.cur) - 1
	for k > 0 {
		r, _ := utf8.DecodeRuneInString(b.cur[k].s)
		if !isNoStart(r) && !b.cur[k].space {
			break
		}
		k--
	}
	if k == 0 {
		return nil, false
	}
	carry = append(carry, b.cur[k:]...)
	b.cur = b.cur[:k]
	return carry, true
}

// carryNoEnd drops the spaces ending the current line and moves opening
// punctuation, which must not end a line, to the front of carry.
func (b *lineBreaker) carryNoEnd(carry []token) []token {
	for len(b.cur) > 1 && b.cur[len(b.cur)-1].space {
		b.cur = b.cur[:len(b.cur)-1]
	}
	for len(b.cur) > 1 {
		last := b.cur[len(b.cur)-1]
		r, _ := utf8.DecodeLastRuneInString(last.s)
		if last.space || !isNoEnd(r) {
			break
		}
		carry = append([]token{last}, carry...)
		b.cur = b.cur[:len(b.cur)-1]
	}
	return carry
}

// flush ends the current line, without the spaces at either end.
func (b *lineBreaker) flush() {
	for len(b.cur) > 0 && b.cur[len(b.cur)-1].space {
		b.curW -= b.cur[len(b.cur)-1].w
		b.cur = b.cur[:len(b.cur)-1]
	}
	i := 0
	for i < len(b.cur) && b.cur[i].space {
		i++
	}
	var sb strings.Builder
	for _, t := range b.cur[i:] {
		sb.WriteString(t.s)
	}
	b.lines = append(b.lines, sb.String())
	b.cur, b.curW = nil, 0
	b.max = b.rest
}
