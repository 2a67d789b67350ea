package worker

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"
)

// Every WEIR_ variable the CloudFormation templates set must name a configuration field: the
// worker refuses unknown variables at start, so a mismatch would only show on a deploy.
func TestDeployTemplatesSetOnlyKnownVariables(t *testing.T) {
	cfg := DefaultConfig()
	fields := map[string]reflect.Value{}
	collectEnvFields(reflect.ValueOf(&cfg).Elem(), "WEIR", fields)
	files, err := filepath.Glob("../deploy/cloudformation/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates found: %v", err)
	}
	re := regexp.MustCompile(`Name:\s*(WEIR_[A-Z0-9_]+)`)
	seen := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(data, -1) {
			seen++
			if _, ok := fields[string(m[1])]; !ok {
				t.Errorf("%s sets %s, which names no configuration field", filepath.Base(f), m[1])
			}
		}
	}
	if seen < 10 {
		t.Errorf("found only %d WEIR_ variables in the templates; the pattern is wrong", seen)
	}
}
