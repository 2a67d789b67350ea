package file

import (
	"context"
	"os"
	"time"

	"github.com/weirstream/weir/sinks/layout"
)

// Load reports (package load) live beside the partials, under kind=load/t=<period>/, written
// like every object of the sink. Nothing deletes them.

// WriteLoad stores worker's load report for the period starting at start.
func (s *PartialStore) WriteLoad(ctx context.Context, start time.Time, worker string, body []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return put(s.path(layout.LoadKey(start, worker)), body)
}

// ReadLoad returns one load report; a missing one is an error wrapping fs.ErrNotExist.
func (s *PartialStore) ReadLoad(ctx context.Context, start time.Time, worker string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return os.ReadFile(s.path(layout.LoadKey(start, worker)))
}

// ListLoads calls fn with the worker of every load report of the period starting at start, in
// name order, until fn returns false. Temporary files and anything else that is not a report
// are skipped.
func (s *PartialStore) ListLoads(ctx context.Context, start time.Time, fn func(worker string) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	prefix := layout.LoadPeriodPrefix(start)
	files, err := readDir(s.path(prefix), false)
	if err != nil {
		return err
	}
	for _, f := range files {
		t, worker, ok := layout.ParseLoadKey(prefix + f)
		if !ok || !t.Equal(start.Truncate(time.Second)) {
			continue
		}
		if !fn(worker) {
			return nil
		}
	}
	return nil
}
