package writable

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDir(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir, want string // want "" means no error
	}{
		{root, ""},
		{filepath.Join(root, "a", "b", "c"), ""}, // missing: judged by root
		{file, "is not a directory"},
		{filepath.Join(file, "sub"), "cannot create " + filepath.Join(file, "sub") + ": " + file + " is not a directory"},
		{"", "empty path"},
	} {
		err := Dir(tc.dir)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("Dir(%q) = %v, want nil", tc.dir, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("Dir(%q) = %v, want an error containing %q", tc.dir, err, tc.want)
		}
	}
	// Nothing is left behind: no probe file, no created directory.
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "file" {
		t.Errorf("the checks left %v behind", entries)
	}
}

func TestFile(t *testing.T) {
	root := t.TempDir()
	existing := filepath.Join(root, "metrics.emf")
	if err := os.WriteFile(existing, []byte("kept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, want string
	}{
		{existing, ""},
		{filepath.Join(root, "new.emf"), ""},
		{filepath.Join(root, "out", "metrics.emf"), ""},
		{root, "is a directory"},
		{filepath.Join(existing, "x.emf"), "is not a directory"},
	} {
		err := File(tc.path)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("File(%q) = %v, want nil", tc.path, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("File(%q) = %v, want an error containing %q", tc.path, err, tc.want)
		}
	}
	if b, _ := os.ReadFile(existing); string(b) != "kept\n" {
		t.Errorf("the check changed the existing file: %q", b)
	}
	if _, err := os.Stat(filepath.Join(root, "new.emf")); !os.IsNotExist(err) {
		t.Errorf("the check created the file (stat: %v)", err)
	}
}

// A directory the process may not write into is refused, whether it is the directory itself
// or the ancestor a missing one would be created in. Root may write anywhere the mode bits
// forbid, so as root this runs against a directory no one may create files in (sysfs);
// cmd/worker's -check test covers the same as an unprivileged user.
func TestNotWritable(t *testing.T) {
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		dir = "/sys"
		if err := probe(dir); err == nil {
			t.Skip("running as root, and /sys accepts files here")
		}
	} else if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	if err := Dir(dir); err == nil || !strings.Contains(err.Error(), dir+" is not writable") {
		t.Errorf("Dir(%q) = %v, want not writable", dir, err)
	}
	sub := filepath.Join(dir, "weir-out")
	if err := Dir(sub); err == nil || !strings.Contains(err.Error(), "cannot create "+sub) {
		t.Errorf("Dir(%q) = %v, want cannot create", sub, err)
	}
	if err := File(filepath.Join(dir, "metrics.emf")); err == nil {
		t.Errorf("File under %s: nil, want an error", dir)
	}
}
