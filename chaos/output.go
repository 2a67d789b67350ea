package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// output is where the fleet writes and the harness reads back: the shared location every
// worker's sinks point at. The file sink's directory is the one there is today; the fleet work
// uses S3 (moto, s3Output), and the counting does not change.
type output interface {
	// config is the workers' configuration sections for this output: `sinks:` (the CloudWatch
	// part is the harness's own and is added to it), and `aws:` where it needs one.
	config() map[string]any
	// walk calls fn with the key and body of every object whose key starts with prefix.
	walk(ctx context.Context, prefix string, fn func(key string, body []byte) error) error
	// describe names the location for the report.
	describe() string
}

// dirOutput is one directory shared by every worker's file sink.
type dirOutput struct{ dir string }

func newDirOutput(dir string) (*dirOutput, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &dirOutput{dir: dir}, nil
}

func (o *dirOutput) config() map[string]any {
	return map[string]any{"sinks": map[string]any{"file": map[string]any{"dir": o.dir}}}
}

func (o *dirOutput) describe() string { return "file sink in " + o.dir }

// walk visits the directory's objects. Temporary files (a write a kill interrupted before its
// rename) are not objects.
func (o *dirOutput) walk(ctx context.Context, prefix string, fn func(string, []byte) error) error {
	root := filepath.Join(o.dir, filepath.FromSlash(prefix))
	if _, err := os.Stat(root); os.IsNotExist(err) {
		return nil
	}
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".tmp-") {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(o.dir, path)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return fn(filepath.ToSlash(rel), body)
	})
}
