package file

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sinks/layout"
)

// PartialStore keeps the fleet's shared objects under the sink's directory, in the S3 layout:
// each partition's partial of each window, the publish markers and the aggregator's state. It
// is the store of a fleet of one (or of processes sharing one file system).
//
// Partials and state are written like every object of the sink (temporary file, fsync,
// rename, fsync of the directory): a reader never sees half a file. A publish claim creates
// its marker with O_EXCL, which the file system makes atomic. A state save compares and swaps
// under an exclusive flock(2) on a lock file beside the state, the version being a hash of the
// content.
type PartialStore struct {
	dir string
}

// PartialStore returns the sink's partial store.
func (s *Sink) PartialStore() *PartialStore { return &PartialStore{dir: s.cfg.Dir} }

func (s *PartialStore) path(key string) string { return filepath.Join(s.dir, filepath.FromSlash(key)) }

// WritePartial stores partition p's partial of the window starting at start, replacing any
// earlier one (a replay writes the same bytes again).
func (s *PartialStore) WritePartial(ctx context.Context, start time.Time, p pipeline.Partition, body []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return put(s.path(layout.PartialKey(start, p)), body)
}

// ReadPartial returns one partial; a missing one is an error wrapping fs.ErrNotExist.
func (s *PartialStore) ReadPartial(ctx context.Context, start time.Time, p pipeline.Partition) ([]byte, error) {
	return s.AppendPartial(ctx, nil, start, p)
}

// AppendPartial is ReadPartial appending the partial to dst, for a reader that reuses one
// buffer for partial after partial (the aggregator's, ~27 KB per partition per window).
func (s *PartialStore) AppendPartial(ctx context.Context, dst []byte, start time.Time, p pipeline.Partition) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	f, err := os.Open(s.path(layout.PartialKey(start, p)))
	if err != nil {
		return dst, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return dst, err
	}
	// Partials are replaced by rename, never written in place: the open file keeps its size.
	n := int(fi.Size())
	dst = slices.Grow(dst, n)
	_, err = io.ReadFull(f, dst[len(dst):len(dst)+n])
	return dst[:len(dst)+n], err
}

// ListPartials calls fn for every partial of a window starting at or after from, in window
// order, until fn returns false. It reads the directories in name order, which is the keys'
// order in S3: window stamps sort as time does.
func (s *PartialStore) ListPartials(ctx context.Context, from time.Time, fn func(time.Time, pipeline.Partition) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	root := s.path(layout.PartialPrefix)
	windows, err := readDir(root, true)
	if err != nil {
		return err
	}
	first := strings.TrimSuffix(strings.TrimPrefix(layout.PartialWindowPrefix(from), layout.PartialPrefix), "/")
	for _, w := range windows {
		if w < first {
			continue
		}
		streams, err := readDir(filepath.Join(root, w), true)
		if err != nil {
			return err
		}
		for _, st := range streams {
			files, err := readDir(filepath.Join(root, w, st), false)
			if err != nil {
				return err
			}
			for _, f := range files {
				if err := ctx.Err(); err != nil {
					return err
				}
				start, p, ok := layout.ParsePartialKey(layout.PartialPrefix + w + "/" + st + "/" + f)
				if !ok || start.Before(from) {
					continue // a temporary file, or not a partial
				}
				if !fn(start, p) {
					return nil
				}
			}
		}
	}
	return nil
}

// readDir returns the names of the directories (dirs) or of the other entries in dir, sorted;
// a directory that does not exist is empty. The partials' tree has directories at two levels
// and files at the third; anything else there is not a partial.
func readDir(dir string, dirs bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() == dirs {
			names = append(names, e.Name())
		}
	}
	return names, err
}

// ClaimPublish creates w's publish marker with body unless it exists, and reports whether the
// marker is this claimer's: created by this call, or by an earlier call with the same body
// whose failure was reported after the marker was in place (the aggregator retries a failed
// claim with the same body, and its body is unique to its term). The marker is written whole
// and synced in a temporary file first, then linked into place, which fails if the marker
// exists: a marker is never seen half written, so the retry can compare it. It is synced
// before true is returned: a claim that a crash could forget would let a second aggregator
// publish again.
func (s *PartialStore) ClaimPublish(ctx context.Context, w pipeline.Window, body []byte) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	path := s.path(layout.PublishedKey(w))
	tmp, err := stage(path, func(f io.Writer) error { _, err := f.Write(body); return err })
	if err != nil {
		return false, fmt.Errorf("file: publish marker %s: %w", path, err)
	}
	defer os.Remove(tmp)
	err = os.Link(tmp, path)
	if errors.Is(err, fs.ErrExist) {
		held, rerr := os.ReadFile(path)
		if rerr != nil {
			return false, fmt.Errorf("file: publish marker %s: reading back: %w", path, rerr)
		}
		if !bytes.Equal(held, body) {
			return false, nil
		}
		// This claimer's marker from an earlier call; its directory entry may not be synced.
	} else if err != nil {
		return false, fmt.Errorf("file: publish marker %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		// The marker exists whole: a retry with the same body finds it and syncs again.
		return false, fmt.Errorf("file: publish marker %s: %w", path, err)
	}
	return true, nil
}

// LoadState returns the state saved under name and its version (a hash of the content).
func (s *PartialStore) LoadState(ctx context.Context, name string) ([]byte, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	data, err := os.ReadFile(s.path(layout.StateKey(name)))
	if err != nil {
		return nil, "", err
	}
	return data, version(data), nil
}

// SaveState replaces the state under name if its version is still version ("" : if there is
// none), holding an exclusive lock on the state's lock file from the comparison to the rename.
func (s *PartialStore) SaveState(ctx context.Context, name string, data []byte, ver string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	path := s.path(layout.StateKey(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", false, err
	}
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return "", false, err
	}
	defer lock.Close() // closing releases the lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", false, fmt.Errorf("file: locking %s: %w", lock.Name(), err)
	}
	cur, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if ver != "" {
			return "", false, nil
		}
	case err != nil:
		return "", false, err
	case version(cur) != ver:
		return "", false, nil
	}
	if err := put(path, data); err != nil {
		return "", false, err
	}
	return version(data), true, nil
}

func version(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}
