// Package writable answers, before anything is written, whether the worker will be able to
// write where its configuration points: an output directory, a state directory, a file it
// appends to. The start and `-check` ask the same questions, so a read-only working
// directory, a path through a file or a missing mount fails both, naming the field, instead
// of failing the first window's write minutes later. Nothing is left behind: a probe file is
// created and removed, and a missing directory is judged by its nearest existing ancestor,
// never created.
package writable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Dir reports whether files can be created under dir: it is a directory this process may
// create files in, or it does not exist yet and its nearest existing ancestor is (so MkdirAll
// will succeed). The error names the path that refused.
func Dir(dir string) error {
	if dir == "" {
		return errors.New("empty path")
	}
	p := filepath.Clean(dir)
	for {
		fi, err := os.Stat(p)
		switch {
		case err == nil && !fi.IsDir():
			if p == filepath.Clean(dir) {
				return fmt.Errorf("%s is not a directory", p)
			}
			return fmt.Errorf("cannot create %s: %s is not a directory", dir, p)
		case err == nil:
			if err := probe(p); err != nil {
				if p == filepath.Clean(dir) {
					return fmt.Errorf("%s is not writable: %w", p, unwrapPath(err))
				}
				return fmt.Errorf("cannot create %s: %s is not writable: %w", dir, p, unwrapPath(err))
			}
			return nil
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			// ENOTDIR: a file on the way; the walk up finds it and says so.
			return fmt.Errorf("cannot use %s: %w", dir, unwrapPath(err))
		}
		parent := filepath.Dir(p)
		if parent == p {
			return fmt.Errorf("cannot create %s: %w", dir, err)
		}
		p = parent
	}
}

// File reports whether path can be opened for appending, created if missing (with its
// directories): an existing path must be a file (or a device such as /dev/stdout) this
// process may write; a missing one needs a writable directory (see Dir). The file is opened
// without truncating and without writing, and is never created.
func File(path string) error {
	if path == "" {
		return errors.New("empty path")
	}
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return fmt.Errorf("%s is a directory", path)
	case err == nil:
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return fmt.Errorf("%s is not writable: %w", path, unwrapPath(err))
		}
		return f.Close()
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return Dir(filepath.Dir(path))
	}
	return fmt.Errorf("cannot use %s: %w", path, unwrapPath(err))
}

// probe creates and removes a file in dir: the only exact answer to "may I write here" (mode
// bits say nothing about read-only mounts, ACLs or another user's ownership).
func probe(dir string) error {
	f, err := os.CreateTemp(dir, ".weir-probe-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// unwrapPath drops the *fs.PathError's operation and path (the message names the path
// already, and the probe's random name means nothing to a reader), keeping the cause:
// "permission denied", "read-only file system".
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
