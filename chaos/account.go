package main

import (
	"slices"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// account is a trial's verdict: what the producer wrote against what the outputs counted, cell
// by cell (partition, window).
type account struct {
	// Produced and Counted are on-time records: acknowledged by the broker, and summed over
	// every summary report.
	Produced int64 `json:"produced"`
	Counted  int64 `json:"counted"`
	// Lost is the records missing from their cell (Σ max(0, produced − counted)); Duplicated
	// the surplus (Σ max(0, counted − produced)).
	Lost       int64 `json:"lost"`
	Duplicated int64 `json:"duplicated"`
	Cells      int   `json:"cells"`
	LostCells  int   `json:"lost_cells"`
	DupCells   int   `json:"duplicated_cells"`
	// Worst lists the cells with the largest differences (at most worstCells).
	Worst []cellDiff `json:"worst,omitempty"`
	// Undecodable compares the records the producer broke on purpose with the dead letters of
	// reason "decode" the summaries counted, per partition.
	Undecodable undecodableAccount `json:"undecodable"`
	// DeadLetters is what the summaries counted as dead letters, by reason (decode included).
	DeadLetters map[string]int64 `json:"dead_letters"`
	// Letters is what the dead-letter objects hold.
	Letters letterAccount `json:"letters"`
	// Late is records the workers counted as late. The producer stamps every record with its
	// clock as it sends it, so a late one is either a record some worker judged against a
	// watermark it should not have had (among Lost: dead-lettered, not in its window) or one
	// the producer was too slow to deliver (DeliveredLate).
	Late int64 `json:"late"`
	// DeliveredLate is on-time records missing from their cell that a dead letter of reason
	// "late" holds and that reached the stream only after their window's end + the allowed
	// lateness (tally.DeliveredLate): the producer's delay, not the fleet's. Not among Lost.
	DeliveredLate int64 `json:"delivered_late"`
	// excused is DeliveredLate per cell, for the attribution.
	excused cellCounts
}

// lost is every record the outputs do not account for: on-time records missing from their
// cell, broken records with no dead letter, and dead letters the summaries did not count.
func (a *account) lost() int64 { return a.Lost + a.Letters.Missing + a.Undecodable.Lost }

// duplicated is every record the summaries counted more than once: on time, or as a dead
// letter. (Dead-letter lines written twice are reported apart, as Letters.Repeated: they are
// the dead-letter sink's own output, keyed by positions.)
func (a *account) duplicated() int64 { return a.Duplicated + a.Undecodable.Duplicated }

// undecodableAccount is the dead-letter side of the count.
type undecodableAccount struct {
	Produced   int64 `json:"produced"`
	Counted    int64 `json:"counted"`
	Lost       int64 `json:"lost"`
	Duplicated int64 `json:"duplicated"`
}

// letterAccount is the dead-letter objects against the records broken on purpose. The lines
// carry each record's partition and position, so a record written twice is told apart from two
// records.
type letterAccount struct {
	Lines map[string]int64 `json:"lines"` // by reason
	// Missing is records broken on purpose that no line holds; Unexpected, records that
	// lines of reason "decode" hold beyond those (per partition).
	Missing    int64 `json:"missing"`
	Unexpected int64 `json:"unexpected"`
	// Repeated is lines beyond the first for the same record (any reason): a replay wrote it
	// again under another key.
	Repeated int64 `json:"repeated"`
}

// cellDiff is one cell that does not agree.
type cellDiff struct {
	Partition int32     `json:"partition"`
	Window    time.Time `json:"window"`
	Produced  int64     `json:"produced"`
	Counted   int64     `json:"counted"`
}

const worstCells = 20

// settle compares the producer's tally with the outputs' counts; window is the workers'
// window.period.
func settle(t *tally, c *counted, window time.Duration) account {
	a := account{DeadLetters: map[string]int64{}, excused: cellCounts{}}
	// A record missing from its cell is lost unless it is both dead-lettered as late and known
	// to have reached the stream too late for its window: per cell, at most the smaller count.
	lateLetters := cellCounts{}
	for l, at := range c.LateAt {
		lateLetters[cell{Partition: l.Partition, Window: pipeline.WindowOf(at, window).Start.Unix()}]++
	}
	cells := union(t.Cells, c.Cells)
	a.Cells = len(cells)
	var diffs []cellDiff
	for k := range cells {
		p, n := t.Cells[k], c.Cells[k]
		a.Produced += p
		a.Counted += n
		excused := min(max(p-n, 0), t.DeliveredLate[k], lateLetters[k])
		if excused > 0 {
			a.DeliveredLate += excused
			a.excused[k] = excused
		}
		switch {
		case n+excused < p:
			a.Lost += p - n - excused
			a.LostCells++
		case n > p:
			a.Duplicated += n - p
			a.DupCells++
		default:
			continue
		}
		diffs = append(diffs, cellDiff{Partition: k.Partition, Window: time.Unix(k.Window, 0).UTC(), Produced: p, Counted: n})
	}
	slices.SortFunc(diffs, func(x, y cellDiff) int {
		dx, dy := abs(x.Counted-x.Produced), abs(y.Counted-y.Produced)
		if dx != dy {
			return int(dy - dx)
		}
		if d := x.Window.Compare(y.Window); d != 0 {
			return d
		}
		return int(x.Partition - y.Partition)
	})
	a.Worst = diffs[:min(len(diffs), worstCells)]

	decode := c.DeadLetters["decode"]
	for p := range union(t.Undecodable, decode) {
		want, got := t.Undecodable[p], decode[p]
		a.Undecodable.Produced += want
		a.Undecodable.Counted += got
		if got < want {
			a.Undecodable.Lost += want - got
		} else {
			a.Undecodable.Duplicated += got - want
		}
	}
	a.Letters = settleLetters(t, c)
	for reason, per := range c.DeadLetters {
		for _, v := range per {
			a.DeadLetters[reason] += v
		}
	}
	for _, v := range c.Late {
		a.Late += v
	}
	return a
}

// settleLetters compares the dead-letter objects with the records broken on purpose.
func settleLetters(t *tally, c *counted) letterAccount {
	la := letterAccount{Lines: map[string]int64{}}
	distinct := map[int32]int64{}
	for reason, ls := range c.Letters {
		for l, n := range ls {
			la.Lines[reason] += int64(n)
			la.Repeated += int64(n - 1)
			if reason == "decode" {
				distinct[l.Partition]++
			}
		}
	}
	for p := range union(t.Undecodable, distinct) {
		if d := t.Undecodable[p] - distinct[p]; d > 0 {
			la.Missing += d
		} else {
			la.Unexpected -= d
		}
	}
	return la
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
