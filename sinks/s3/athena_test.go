package s3

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/weirstream/weir/sinks/layout"
)

// ddlColumns returns the non-partition column names of the CREATE EXTERNAL TABLE in file.
func ddlColumns(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile("../../deploy/athena/" + file)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "CREATE EXTERNAL TABLE")
	body := s[strings.Index(s[start:], "(\n")+start+2 : strings.Index(s, "\n)\nPARTITIONED BY")]
	var cols []string
	for _, m := range regexp.MustCompile(`(?m)^  `+"`?"+`([a-z_]+)`+"`?"+` `).FindAllStringSubmatch(body, -1) {
		cols = append(cols, m[1])
	}
	return cols
}

// jsonFields returns the json names of v's fields, minus the ones the table reads from the key.
func jsonFields(v any, fromKey ...string) []string {
	var out []string
	rt := reflect.TypeOf(v)
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if !slices.Contains(fromKey, name) {
			out = append(out, name)
		}
	}
	return out
}

// TestAthenaDDLMatchesLines keeps deploy/athena's tables for the formats this package defines
// in step with the JSON it writes.
func TestAthenaDDLMatchesLines(t *testing.T) {
	for file, want := range map[string][]string{
		"deadletters.sql": jsonFields(layout.DeadLetterLine{}, "stream"),
	} {
		if got := ddlColumns(t, file); !slices.Equal(got, want) {
			t.Errorf("%s: columns %v, lines have %v", file, got, want)
		}
	}
}
