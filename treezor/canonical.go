package treezor

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxCanonicalDepth is PHP json_encode's default depth limit: Treezor cannot sign
// anything nested deeper.
const maxCanonicalDepth = 512

// Canonicalize rewrites a JSON document the way PHP's json_encode writes it, which is
// what Treezor signs: no insignificant whitespace, object keys in the order received,
// numbers as received, strings escaped PHP's way (`"`, `\`, `/` and \b \f \n \r \t
// escaped, other control characters and every non-ASCII character as lower-case \uXXXX,
// characters above U+FFFF as UTF-16 surrogate pairs). Invalid JSON, invalid UTF-8 and
// unpaired surrogates are errors wrapping ErrMalformed.
func Canonicalize(payload []byte) ([]byte, error) {
	c := canonicalizer{in: payload, out: bytes.NewBuffer(make([]byte, 0, len(payload)+len(payload)/4))}
	c.skipSpace()
	if err := c.value(0); err != nil {
		return nil, fmt.Errorf("canonicalize payload: %w", err)
	}
	c.skipSpace()
	if c.pos != len(c.in) {
		return nil, fmt.Errorf("canonicalize payload: %w: unexpected data at offset %d", ErrMalformed, c.pos)
	}
	return c.out.Bytes(), nil
}

// canonicalizer is a single-pass JSON reader that writes the canonical form as it goes.
type canonicalizer struct {
	in  []byte
	pos int
	out *bytes.Buffer
}

func (c *canonicalizer) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format+" at offset %d", append(append([]any{ErrMalformed}, args...), c.pos)...)
}

func (c *canonicalizer) skipSpace() {
	for c.pos < len(c.in) {
		switch c.in[c.pos] {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return
		}
	}
}

func (c *canonicalizer) value(depth int) error {
	if c.pos >= len(c.in) {
		return c.errorf("unexpected end of JSON")
	}
	switch ch := c.in[c.pos]; {
	case ch == '{':
		return c.object(depth + 1)
	case ch == '[':
		return c.array(depth + 1)
	case ch == '"':
		return c.str()
	case ch == '-' || (ch >= '0' && ch <= '9'):
		return c.number()
	case ch == 't':
		return c.literal("true")
	case ch == 'f':
		return c.literal("false")
	case ch == 'n':
		return c.literal("null")
	default:
		return c.errorf("unexpected character %q", ch)
	}
}

func (c *canonicalizer) object(depth int) error {
	if depth > maxCanonicalDepth {
		return c.errorf("nesting deeper than %d", maxCanonicalDepth)
	}
	c.pos++ // '{'
	c.out.WriteByte('{')
	c.skipSpace()
	if c.pos < len(c.in) && c.in[c.pos] == '}' {
		c.pos++
		c.out.WriteByte('}')
		return nil
	}
	for {
		c.skipSpace()
		if c.pos >= len(c.in) || c.in[c.pos] != '"' {
			return c.errorf("object key expected")
		}
		if err := c.str(); err != nil {
			return err
		}
		c.skipSpace()
		if c.pos >= len(c.in) || c.in[c.pos] != ':' {
			return c.errorf("':' expected")
		}
		c.pos++
		c.out.WriteByte(':')
		c.skipSpace()
		if err := c.value(depth); err != nil {
			return err
		}
		c.skipSpace()
		if c.pos >= len(c.in) {
			return c.errorf("unexpected end of object")
		}
		switch c.in[c.pos] {
		case ',':
			c.pos++
			c.out.WriteByte(',')
		case '}':
			c.pos++
			c.out.WriteByte('}')
			return nil
		default:
			return c.errorf("',' or '}' expected")
		}
	}
}

func (c *canonicalizer) array(depth int) error {
	if depth > maxCanonicalDepth {
		return c.errorf("nesting deeper than %d", maxCanonicalDepth)
	}
	c.pos++ // '['
	c.out.WriteByte('[')
	c.skipSpace()
	if c.pos < len(c.in) && c.in[c.pos] == ']' {
		c.pos++
		c.out.WriteByte(']')
		return nil
	}
	for {
		c.skipSpace()
		if err := c.value(depth); err != nil {
			return err
		}
		c.skipSpace()
		if c.pos >= len(c.in) {
			return c.errorf("unexpected end of array")
		}
		switch c.in[c.pos] {
		case ',':
			c.pos++
			c.out.WriteByte(',')
		case ']':
			c.pos++
			c.out.WriteByte(']')
			return nil
		default:
			return c.errorf("',' or ']' expected")
		}
	}
}

func (c *canonicalizer) literal(word string) error {
	if !bytes.HasPrefix(c.in[c.pos:], []byte(word)) {
		return c.errorf("invalid literal")
	}
	c.pos += len(word)
	c.out.WriteString(word)
	return nil
}

// number copies a JSON number literal unchanged after checking its grammar.
func (c *canonicalizer) number() error {
	start := c.pos
	if c.in[c.pos] == '-' {
		c.pos++
	}
	switch {
	case c.pos < len(c.in) && c.in[c.pos] == '0':
		c.pos++
	case c.pos < len(c.in) && c.in[c.pos] >= '1' && c.in[c.pos] <= '9':
		c.digits()
	default:
		return c.errorf("invalid number")
	}
	if c.pos < len(c.in) && c.in[c.pos] == '.' {
		c.pos++
		if c.digits() == 0 {
			return c.errorf("invalid number: digit expected after '.'")
		}
	}
	if c.pos < len(c.in) && (c.in[c.pos] == 'e' || c.in[c.pos] == 'E') {
		c.pos++
		if c.pos < len(c.in) && (c.in[c.pos] == '+' || c.in[c.pos] == '-') {
			c.pos++
		}
		if c.digits() == 0 {
			return c.errorf("invalid number: digit expected in exponent")
		}
	}
	c.out.Write(c.in[start:c.pos])
	return nil
}

func (c *canonicalizer) digits() int {
	n := 0
	for c.pos < len(c.in) && c.in[c.pos] >= '0' && c.in[c.pos] <= '9' {
		c.pos++
		n++
	}
	return n
}

// str reads a JSON string and writes it re-escaped the PHP way.
func (c *canonicalizer) str() error {
	c.pos++ // opening quote
	c.out.WriteByte('"')
	for {
		if c.pos >= len(c.in) {
			return c.errorf("unterminated string")
		}
		b := c.in[c.pos]
		switch {
		case b == '"':
			c.pos++
			c.out.WriteByte('"')
			return nil
		case b == '\\':
			r, err := c.escape()
			if err != nil {
				return err
			}
			writePHPRune(c.out, r)
		case b < 0x20:
			return c.errorf("control character in string")
		case b < utf8.RuneSelf:
			c.pos++
			writePHPRune(c.out, rune(b))
		default:
			r, size := utf8.DecodeRune(c.in[c.pos:])
			if r == utf8.RuneError && size <= 1 {
				return c.errorf("invalid UTF-8 in string")
			}
			c.pos += size
			writePHPRune(c.out, r)
		}
	}
}

// escape decodes one escape sequence (the backslash at c.pos), joining surrogate pairs.
func (c *canonicalizer) escape() (rune, error) {
	if c.pos+1 >= len(c.in) {
		return 0, c.errorf("unterminated escape")
	}
	e := c.in[c.pos+1]
	c.pos += 2
	switch e {
	case '"', '\\', '/':
		return rune(e), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, err := c.hex4()
		if err != nil {
			return 0, err
		}
		if !utf16.IsSurrogate(r) {
			return r, nil
		}
		if r >= 0xDC00 {
			return 0, c.errorf("unpaired UTF-16 surrogate")
		}
		if c.pos+1 >= len(c.in) || c.in[c.pos] != '\\' || c.in[c.pos+1] != 'u' {
			return 0, c.errorf("unpaired UTF-16 surrogate")
		}
		c.pos += 2
		low, err := c.hex4()
		if err != nil {
			return 0, err
		}
		joined := utf16.DecodeRune(r, low)
		if joined == utf8.RuneError {
			return 0, c.errorf("unpaired UTF-16 surrogate")
		}
		return joined, nil
	default:
		return 0, c.errorf("invalid escape \\%c", e)
	}
}

func (c *canonicalizer) hex4() (rune, error) {
	if c.pos+4 > len(c.in) {
		return 0, c.errorf("short \\u escape")
	}
	v, err := strconv.ParseUint(string(c.in[c.pos:c.pos+4]), 16, 32)
	if err != nil {
		return 0, c.errorf("invalid \\u escape")
	}
	c.pos += 4
	return rune(v), nil
}

const lowerHex = "0123456789abcdef"

// writePHPRune writes r inside a JSON string as PHP json_encode does by default.
func writePHPRune(out *bytes.Buffer, r rune) {
	switch r {
	case '"':
		out.WriteString(`\"`)
	case '\\':
		out.WriteString(`\\`)
	case '/':
		out.WriteString(`\/`)
	case '\b':
		out.WriteString(`\b`)
	case '\f':
		out.WriteString(`\f`)
	case '\n':
		out.WriteString(`\n`)
	case '\r':
		out.WriteString(`\r`)
	case '\t':
		out.WriteString(`\t`)
	default:
		switch {
		case r < 0x20:
			writeU(out, r)
		case r < utf8.RuneSelf:
			out.WriteByte(byte(r))
		case r > 0xFFFF:
			hi, lo := utf16.EncodeRune(r)
			writeU(out, hi)
			writeU(out, lo)
		default:
			writeU(out, r)
		}
	}
}

func writeU(out *bytes.Buffer, r rune) {
	out.WriteString(`\u`)
	out.WriteByte(lowerHex[(r>>12)&0xF])
	out.WriteByte(lowerHex[(r>>8)&0xF])
	out.WriteByte(lowerHex[(r>>4)&0xF])
	out.WriteByte(lowerHex[r&0xF])
}
