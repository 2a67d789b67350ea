package contrib

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A malformed rule file is refused with the line and column of the error, counted in the file
// as written (leading blank lines included), for every form a file can take.
func TestLoadFileJSONErrorsHaveLineAndColumn(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, body, want string }{
		{"body.json", "\n\n{\n  \"Schema\": {\"Name\": \"CloudWatchLogRule\", \"Version\": 1},\n  \"LogFormat\": JSON\n}\n", ":5:16: invalid character 'J'"},
		{"trailing-comma.json", "{\"RuleName\": \"x\",\n \"RuleBody\": {},\n}", ":3:1: invalid character '}'"},
		{"list.json", "[\n  {\"RuleName\": \"a\"} {\"RuleName\": \"b\"}\n]", ":2:21: invalid character '{' after array element"},
		{"truncated.json", "{\"RuleName\": \"x\",\n  \"RuleBody\": {", ":2:15: unexpected end of JSON input"},
		{"wrong-type.json", "[1, 2]", ""}, // a list of numbers: refused by the named-rule parser, no offset
		{"empty.json", "  \n", "empty file"},
	} {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, []byte(tc.body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadFile(p)
		if err == nil {
			t.Errorf("%s: loaded", tc.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), p) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q after the path", tc.name, err, tc.want)
		}
		if testing.Verbose() {
			t.Log(err)
		}
	}
}
