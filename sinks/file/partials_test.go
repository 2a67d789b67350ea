package file_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/weirstream/weir/sinks/file"
	"github.com/weirstream/weir/sinks/partialtest"
)

func TestPartialStoreConformance(t *testing.T) {
	var dir string
	partialtest.Run(t, func(t *testing.T) partialtest.Store {
		dir = t.TempDir()
		s, err := file.New(file.Config{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return s.PartialStore()
	}, partialtest.Features{AddForeign: func(t *testing.T, key string) {
		path := filepath.Join(dir, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("not a partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}})
}
