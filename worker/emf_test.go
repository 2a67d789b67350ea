package worker

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// emfLines reads an EMF file a worker wrote: one JSON object per line. A file never written
// reads as none.
func emfLines(t *testing.T, file string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out = append(out, line)
	}
	return out
}
