package file

import (
	"testing"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sinks/sinktest"
)

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Subject{Open: func(t *testing.T, _ *sinktest.Faults) sinktest.Destination {
		dir := t.TempDir()
		s, err := New(Config{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return sinktest.Destination{Sink: s, Durable: func(t *testing.T, _ *pipeline.Output) map[string]string {
			return sinktest.Files(t, dir)
		}}
	}})
}
