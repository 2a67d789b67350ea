package demo_test

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/sources/demo"
)

// The msgpack and JSON forms of an event carry the same values, so the two formats benchmark
// decoding the same data (and compress alike), not different data.
func TestEventFormatsCarryTheSameValues(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 10000 {
		e := demo.Event{TS: time.Unix(1_790_000_000, int64(i)*1_234_567).UTC(), Tenant: r.IntN(2000), User: r.IntN(100000)}
		e.Fill(r, 0.05)
		var fromJSON, fromMsgpack event
		if err := json.Unmarshal(e.AppendJSON(nil), &fromJSON); err != nil {
			t.Fatal(err)
		}
		mp, err := e.Msgpack()
		if err != nil {
			t.Fatal(err)
		}
		if err := msgpack.Unmarshal(mp, &fromMsgpack); err != nil {
			t.Fatal(err)
		}
		ts, err := time.Parse(time.RFC3339Nano, fromMsgpack.TSText)
		if err != nil {
			t.Fatal(err)
		}
		fromMsgpack.TS, fromMsgpack.TSText = ts, ""
		if fromJSON != fromMsgpack {
			t.Fatalf("event %d:\n json    %+v\n msgpack %+v", i, fromJSON, fromMsgpack)
		}
	}
}
