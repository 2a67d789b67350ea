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
	var e lineEncoder
	return e.append(b, l)
}

// lineEncoder encodes the lines of an object's letters. Consecutive letters mostly share their
// partition, their reason and detail (the same decode error) and often their time, so it
// keeps the last encoding of each and copies it instead of encoding it again.
type lineEncoder struct {
	part  pipeline.Partition
	head  []byte // {"stream":…,"partition":…,"position":
	t     time.Time
	tm    []byte // ,"time":"…"
	rsn   string
	dtl   string
	cause []byte // ,"reason":…,"detail":…
}

func (e *lineEncoder) append(b []byte, l *pipeline.DeadLetter) ([]byte, error) {
	if y := l.Time.Year(); y < 0 || y > 9999 {
		_, err := json.Marshal(l.Time)
		return b, err
	}
	if e.head == nil || l.Partition != e.part {
		e.part = l.Partition
		e.head = append(e.head[:0], `{"stream":`...)
		e.head = appendJSONString(e.head, l.Partition.Stream)
		e.head = append(e.head, `,"partition":`...)
		e.head = appendJSONString(e.head, l.Partition.ID)
		e.head = append(e.head, `,"position":`...)
	}
	b = append(b, e.head...)
	if l.Position.Seq == "" {
		b = append(b, '"')
		b = strconv.AppendInt(b, l.Position.Offset, 10)
		b = append(b, '"')
	} else {
		b = appendJSONString(b, l.Position.String())
	}
	// == rather than Equal: the same instant in another location is written differently.
	if e.tm == nil || l.Time != e.t {
		e.t = l.Time
		e.tm = append(e.tm[:0], `,"time":"`...)
		e.tm = l.Time.AppendFormat(e.tm, time.RFC3339Nano)
		e.tm = append(e.tm, '"')
	}
	b = append(b, e.tm...)
	if e.cause == nil || l.Reason != e.rsn || l.Detail != e.dtl {
		e.rsn, e.dtl = l.Reason, l.Detail
		e.cause = append(e.cause[:0], `,"reason":`...)
		e.cause = appendJSONString(e.cause, l.Reason)
		e.cause = append(e.cause, `,"detail":`...)
		e.cause = appendJSONString(e.cause, l.Detail)
	}
	b = append(b, e.cause...)
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
