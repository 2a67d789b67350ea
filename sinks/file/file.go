// Package file is the local-directory sink: the same object layout as the S3 sink (see
// sinks/layout), for the embedded default, for tests, and for anyone who wants files. Every
// object is written to a temporary file, synced and renamed into place, so a reader (or a crash)
// never sees half an object, and a replay overwrites the same file.
package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/weirstream/weir/internal/writable"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sinks/layout"
)

// Config configures the file sink (the worker's `sinks.file:` section).
type Config struct {
	// Dir is the output directory, created with the first object written. Default "./out".
	Dir string `yaml:"dir"`
	// Gzip compresses report and dead-letter objects. Default false: files are for reading.
	Gzip bool `yaml:"gzip"`
}

// Validate names the invalid field.
func (c Config) Validate() error {
	if c.Dir == "" {
		return errors.New("sinks.file.dir: must not be empty")
	}
	return nil
}

// Sink writes window reports and dead letters under a directory.
type Sink struct {
	cfg Config
}

// New checks that the sink will be able to write under cfg.Dir (it is a writable directory,
// or can be created) and returns the sink. It creates nothing: the directory appears with the
// first object written, and `-check` runs New as it is.
func New(cfg Config) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := writable.Dir(cfg.Dir); err != nil {
		return nil, fmt.Errorf("sinks.file.dir: %w", err)
	}
	return &Sink{cfg: cfg}, nil
}

// Name implements pipeline.Sink.
func (s *Sink) Name() string { return "file" }

// Write implements pipeline.Sink: one object per (kind, name) of the window's reports. Points
// are not written here; the EMF writer (sinks/cloudwatch) renders them.
func (s *Sink) Write(_ context.Context, out *pipeline.Output) error {
	for _, g := range layout.GroupReports(out) {
		var buf bytes.Buffer
		if err := layout.WriteReports(&buf, g.Reports, s.cfg.Gzip); err != nil {
			return fmt.Errorf("encoding %s/%s reports: %w", g.Kind, g.Name, err)
		}
		key := layout.ReportKey(g.Kind, g.Name, out.Window, out.Owner, s.cfg.Gzip)
		if err := s.put(key, buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// WriteDeadLetters implements pipeline.DeadLetterSink: one object per stream
// (layout.GroupDeadLetters), each encoded straight into its temporary file, and the
// directories they are renamed into synced once for the call, not once per object.
func (s *Sink) WriteDeadLetters(_ context.Context, letters []pipeline.DeadLetter) error {
	var staged []stagedFile
	published := false
	defer func() {
		if !published {
			for _, f := range staged {
				os.Remove(f.tmp) // a no-op for those renamed before a failure
			}
		}
	}()
	for _, g := range layout.GroupDeadLetters(letters) {
		path := filepath.Join(s.cfg.Dir, filepath.FromSlash(layout.DeadLetterKey(g, s.cfg.Gzip)))
		tmp, err := stage(path, func(w io.Writer) error { return layout.WriteDeadLetters(w, g, s.cfg.Gzip) })
		if err != nil {
			return err
		}
		staged = append(staged, stagedFile{tmp: tmp, path: path})
	}
	err := publish(staged)
	published = err == nil // removing what was renamed, though a no-op, waited on the directory
	return err
}

// Close implements pipeline.Sink; every Write is already durable.
func (s *Sink) Close(context.Context) error { return nil }

// put writes data at key atomically and durably.
func (s *Sink) put(key string, data []byte) error {
	return put(filepath.Join(s.cfg.Dir, filepath.FromSlash(key)), data)
}

// put writes data at path atomically and durably.
func put(path string, data []byte) error {
	tmp, err := stage(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return err
	}
	if err := publish([]stagedFile{{tmp: tmp, path: path}}); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// stagedFile is a temporary file, written and synced, waiting to be renamed to path.
type stagedFile struct{ tmp, path string }

// stage writes a temporary file next to path with write and syncs it, returning its name. The
// caller removes it if it is never published.
func stage(path string, write func(io.Writer) error) (string, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", err
	}
	err = write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}

// publish renames staged files into place, then syncs each directory they went into once:
// without that a crash could forget a rename, and a sync per file cost an fsync per object.
// A reader (or a crash) never sees half an object.
func publish(files []stagedFile) error {
	var dirs []string
	for _, f := range files {
		if err := os.Rename(f.tmp, f.path); err != nil {
			return err
		}
		if dir := filepath.Dir(f.path); !slices.Contains(dirs, dir) {
			dirs = append(dirs, dir)
		}
	}
	for _, dir := range dirs {
		if err := syncDir(dir); err != nil {
			return err
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
