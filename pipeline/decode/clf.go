package decode

import "bytes"

// The CLF tokeniser splits a Common Log Format (or Combined, or any space-delimited) line into
// fields numbered from 1, the way CloudWatch numbers them for Contributor Insights rules
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/ContributorInsights-RuleSyntax.html,
// "Additional field in rules for CLF logs"; the VPC Flow Logs examples on the rule-examples page
// count one field per space-separated word):
//
//	127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "-" "Mozilla/5.0"
//	1         2 3     4                            5                     6   7    8   9
//
// Fields are separated by runs of spaces or tabs. A field that starts with '[' runs to the next
// ']', one that starts with '"' runs to the next '"' not preceded by a backslash; the field's
// value is what lies between the delimiters, as it is (escapes are not undone). Every field is
// a String value (Value.Float parses numbers such as the status). An unterminated group is an
// error. A trailing newline (or CR LF) is ignored. Fields past the last planned position are
// not tokenised.

func (d *Decoder) decodeCLF(b []byte) error {
	if d.plan.n == 0 {
		return nil
	}
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	pos := 0
	last := len(d.plan.clf) - 1
	i := 0
	for pos < last {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		if i >= len(b) {
			return nil
		}
		pos++
		var start, end, next int
		switch b[i] {
		case '[':
			start = i + 1
			k := bytes.IndexByte(b[start:], ']')
			if k < 0 {
				return d.syntaxErr(CLF, i, "unterminated [ group")
			}
			end = start + k
			next = end + 1
		case '"':
			start = i + 1
			end = closingQuote(b, start)
			if end < 0 {
				return d.syntaxErr(CLF, i, "unterminated quoted field")
			}
			next = end + 1
		default:
			start = i
			end = len(b)
			if k := bytes.IndexByte(b[i:], ' '); k >= 0 {
				end = i + k
			}
			if k := bytes.IndexByte(b[i:end], '\t'); k >= 0 {
				end = i + k
			}
			next = end
		}
		if f := d.plan.clf[pos]; f >= 0 && d.set(f, Value{Kind: String, Bytes: b[start:end]}) {
			return nil
		}
		i = next
	}
	return nil
}

// closingQuote returns the offset of the first '"' at or after i that is not escaped by an odd
// run of backslashes, or -1.
func closingQuote(b []byte, i int) int {
	for {
		k := bytes.IndexByte(b[i:], '"')
		if k < 0 {
			return -1
		}
		q := i + k
		bs := 0
		for j := q - 1; j >= i && b[j] == '\\'; j-- {
			bs++
		}
		if bs%2 == 0 {
			return q
		}
		i = q + 1
	}
}
