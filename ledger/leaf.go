package ledger

// LeafTag opens every leaf; a later, different encoding gets a new tag.
const LeafTag = "daiban.ledger/v1"

// The leaf of an entry — the record data whose RFC 6962 leaf hash
// (SHA-256 of 0x00 || leaf) goes into the tree — is this JSON array, with no
// whitespace:
//
//	["daiban.ledger/v1","<at>","<actor>",<case_id>,"<region>","<type>",<payload>]
//
//   - at: the entry's time in UTC with exactly six fractional digits
//     (PostgreSQL keeps microseconds), e.g. "2025-03-01T08:30:00.123456Z";
//   - case_id: the decimal case id, or null for an event without a case;
//   - actor, region, type: JSON strings. Only '"', '\\' and control
//     characters below 0x20 are escaped ('\b', '\f', '\n', '\r', '\t' in
//     short form, the rest as \u00XX, lower-case hex); every other byte,
//     including UTF-8 sequences, is copied unchanged;
//   - payload: the bytes stored in ledger_entries.payload, copied verbatim
//     (never re-encoded). Append stores canonical JSON there.
//
// The payload comes last, so the encoding stays injective whatever bytes
// the payload column holds: everything before it parses from the left and
// the leaf always ends with the payload followed by ']'.
//
// This is the only leaf encoding: the integrator, Verify, Entry.LeafHash and
// any outside auditor (from the CSV export) compute the same bytes.

const leafTimeLen = len("2006-01-02T15:04:05.000000Z")

// appendLeaf appends the leaf of one entry. T is string or []byte so that
// Verify can encode straight from the database's wire bytes.
func appendLeaf[T string | []byte](dst []byte, atMicros int64, actor T, caseID int64, hasCase bool, region, typ T, payload []byte) []byte {
	dst = append(dst, `["`+LeafTag+`","`...)
	dst = appendTime(dst, atMicros)
	dst = append(dst, `",`...)
	dst = appendJSONString(dst, actor)
	dst = append(dst, ',')
	if hasCase {
		dst = appendInt(dst, caseID)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, ',')
	dst = appendJSONString(dst, region)
	dst = append(dst, ',')
	dst = appendJSONString(dst, typ)
	dst = append(dst, ',')
	dst = append(dst, payload...)
	return append(dst, ']')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string with the minimal escaping the
// leaf encoding documents.
func appendJSONString[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func appendInt(dst []byte, v int64) []byte {
	if v < 0 {
		dst = append(dst, '-')
		// Case ids are positive (CHECK in the schema); this is for totality.
		return appendUint(dst, uint64(-v))
	}
	return appendUint(dst, uint64(v))
}

func appendUint(dst []byte, v uint64) []byte {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}

// appendTime appends the UTC time us microseconds after the Unix epoch as
// "YYYY-MM-DDThh:mm:ss.ffffffZ". It is a hand-written civil-calendar
// conversion (time.Format costs several times more per leaf); the tests
// check it against time.Format. Years outside 0..9999 cannot occur (the
// column is a finite timestamptz written by now()); they are clamped to
// four digits of the proleptic year modulo 10000 only to stay total.
func appendTime(dst []byte, us int64) []byte {
	secs := floorDiv(us, 1e6)
	frac := us - secs*1e6
	days := floorDiv(secs, 86400)
	sod := secs - days*86400
	y, m, d := civilFromDays(days)
	var b [leafTimeLen]byte
	put4(b[0:], y)
	b[4] = '-'
	put2(b[5:], m)
	b[7] = '-'
	put2(b[8:], d)
	b[10] = 'T'
	put2(b[11:], sod/3600)
	b[13] = ':'
	put2(b[14:], sod/60%60)
	b[16] = ':'
	put2(b[17:], sod%60)
	b[19] = '.'
	for i := 25; i >= 20; i-- {
		b[i] = byte('0' + frac%10)
		frac /= 10
	}
	b[26] = 'Z'
	return append(dst, b[:]...)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// civilFromDays converts days since 1970-01-01 to a proleptic Gregorian
// date (Howard Hinnant's days_from_civil inverse).
func civilFromDays(z int64) (y, m, d int64) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func put2(b []byte, v int64) {
	b[0] = byte('0' + v/10)
	b[1] = byte('0' + v%10)
}

func put4(b []byte, v int64) {
	v %= 10000
	if v < 0 {
		v += 10000
	}
	b[0] = byte('0' + v/1000)
	b[1] = byte('0' + v/100%10)
	b[2] = byte('0' + v/10%10)
	b[3] = byte('0' + v%10)
}
