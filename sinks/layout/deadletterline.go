package layout

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/weirstream/weir/pipeline"
)

// appendDeadLetterLine appends l as one JSON line, byte for byte what encoding/json writes for
// its DeadLetterLine (HTML escaping off), without reflection: when every record of a stream
// is bad, encoding the letters was a third of the dead-letter writer's time. A time outside
// the years 0–9999 (which encoding/json refuses) goes through encoding/json for its error.
func appendDeadLetterLine(b []byte, l *pipeline.DeadLetter) ([]byte, error) {
	if y := l.Time.Year(); y < 0 || y > 9999 {
		_, err := json.Marshal(l.Time)
		return b, err
	}
	b = append(b, `{"stream":`...)
	b = appendJSONString(b, l.Partition.Stream)
	b = append(b, `,"partition":`...)
	b = appendJSONString(b, l.Partition.ID)
	b = append(b, `,"position":`...)
	if l.Position.Seq == "" {
		b = append(b, '"')
		b = strconv.AppendInt(b, l.Position.Offset, 10)
		b = append(b, '"')
	} else {
		b = appendJSONString(b, l.Position.String())
	}
	b = append(b, `,"time":"`...)
	b = l.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","reason":`...)
	b = appendJSONString(b, l.Reason)
	b = append(b, `,"detail":`...)
	b = appendJSONString(b, l.Detail)
	if len(l.Key) > 0 {
		b = append(b, `,"key":"`...)
		b = base64.StdEncoding.AppendEncode(b, l.Key)
		b = append(b, '"')
	}
	b = append(b, `,"value":`...)
	if l.Value == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, l.Value)
		b = append(b, '"')
	}
	return append(b, "}\n"...), nil
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does with HTML escaping off: \" \\ \b \f \n \r
// \t, other control characters as \u00XX, invalid UTF-8 as \ufffd, and U+2028 and U+2029
// escaped (JavaScript line terminators).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
