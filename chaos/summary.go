package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// summary is a run: its options, every trial, and the totals.
type summary struct {
	Options options         `json:"options"`
	Started time.Time       `json:"started"`
	Machine string          `json:"machine"`
	Trials  []*trialResult  `json:"trials"`
	Totals  totals          `json:"totals"`
	Replay  string          `json:"replay"` // the command that replays one trial, %d for its seed
	ByCause map[string]cost `json:"by_cause"`
}

// totals add up the trials.
type totals struct {
	Trials    int   `json:"trials"`
	Failed    int   `json:"failed"`
	Records   int64 `json:"records"`
	Produced  int64 `json:"produced"` // on time
	Kills     int   `json:"kills"`
	Terms     int   `json:"terms"`
	Starts    int   `json:"starts"`
	Freezes   int   `json:"freezes"`
	Evictions int   `json:"evictions"`
	// Lost is every record not accounted for (account.lost); LostOnTime the on-time ones.
	Lost       int64 `json:"lost"`
	LostOnTime int64 `json:"lost_on_time"`
	// Duplicated is on-time records counted more than once; DeadLettersCountedTwice, dead
	// letters the summaries counted more than once.
	Duplicated              int64 `json:"duplicated"`
	DeadLettersCountedTwice int64 `json:"dead_letters_counted_twice"`
	// LettersMissing and LettersRepeated are from the dead-letter objects (letterAccount).
	LettersMissing    int64            `json:"letters_missing"`
	LettersRepeated   int64            `json:"letters_repeated"`
	DuplicatedShare   float64          `json:"duplicated_share"`    // of the on-time records produced
	DuplicatedPerKill float64          `json:"duplicated_per_kill"` // Duplicated ÷ Kills
	DeadLetters       map[string]int64 `json:"dead_letters"`
	Late              int64            `json:"late"`
	// DeliveredLate is on-time records dead-lettered as late that reached the stream after
	// their window's end + the allowed lateness (account.DeliveredLate): not lost.
	DeliveredLate int64 `json:"delivered_late"`
	Escalated     int   `json:"escalated"`
	TermErrors    int   `json:"term_errors"`
}

// cost is what the events of one kind were blamed for (see attribute).
type cost struct {
	Events     int   `json:"events"`
	Lost       int64 `json:"lost"`
	Duplicated int64 `json:"duplicated"`
}

func newSummary(o options, started time.Time, replay string) *summary {
	return &summary{Options: o, Started: started, Machine: machine(), Replay: replay, ByCause: map[string]cost{}}
}

// add takes a trial's result into the totals.
func (s *summary) add(r *trialResult) {
	s.Trials = append(s.Trials, r)
	t := &s.Totals
	t.Trials++
	if len(r.Failures) > 0 {
		t.Failed++
	}
	a := r.Account
	t.Records += r.Records
	t.Produced += a.Produced
	t.Kills += r.Kills
	t.Terms += r.Terms
	t.Starts += r.Starts
	t.Freezes += r.Freezes
	t.Evictions += r.Evictions
	t.Lost += a.lost()
	t.LostOnTime += a.Lost
	t.Duplicated += a.Duplicated
	t.DeadLettersCountedTwice += a.Undecodable.Duplicated
	t.LettersMissing += a.Letters.Missing
	t.LettersRepeated += a.Letters.Repeated
	t.Late += a.Late
	t.DeliveredLate += a.DeliveredLate
	t.Escalated += r.Escalated
	t.TermErrors += r.TermErrors
	if t.DeadLetters == nil {
		t.DeadLetters = map[string]int64{}
	}
	for k, v := range a.DeadLetters {
		t.DeadLetters[k] += v
	}
	if t.Produced > 0 {
		t.DuplicatedShare = float64(t.Duplicated) / float64(t.Produced)
	}
	if t.Kills > 0 {
		t.DuplicatedPerKill = float64(t.Duplicated) / float64(t.Kills)
	}
	for _, e := range r.Events {
		if e.Skipped != "" {
			continue
		}
		k := causeName(e, s.Options.Workers)
		c := s.ByCause[k]
		c.Events++
		c.Lost += e.Lost
		c.Duplicated += e.Duplicated
		s.ByCause[k] = c
	}
	c := s.ByCause["unattributed"]
	c.Lost += r.UnattributedLost
	c.Duplicated += r.UnattributedDuplicated
	s.ByCause["unattributed"] = c
}

// causeName is the kind of an event, for the totals by cause.
func causeName(e *eventRecord, workers int) string {
	var b strings.Builder
	if e.Final {
		b.WriteString("final ")
	}
	switch {
	case e.Action == actSplit:
		b.WriteString("shard split")
	case e.Action == actMerge:
		b.WriteString("shard merge")
	case e.Slot == 0:
		b.WriteString("stop of the fleet")
	case e.Action == actFreeze && e.Long:
		b.WriteString("long freeze")
	case e.Action == actFreeze:
		b.WriteString("short freeze")
	case e.Action == actKill:
		b.WriteString("kill -9")
	case e.Action == actTerm:
		b.WriteString("SIGTERM")
	case e.Slot > workers:
		b.WriteString("extra worker starts")
	default:
		b.WriteString("restart")
	}
	if e.Slot > workers && e.Action != actStart && e.Action != actFreeze {
		b.WriteString(" (extra worker)")
	}
	return b.String()
}

// write saves summary.json and summary.md in dir.
func (s *summary) write(dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "summary.json"), s); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "summary.md"), []byte(s.markdown()), 0o644)
}

// markdown renders the run for a person.
func (s *summary) markdown() string {
	var b strings.Builder
	o, t := s.Options, s.Totals
	fmt.Fprintf(&b, "# Chaos: %d trials, %d failed\n\n", t.Trials, t.Failed)
	fmt.Fprintf(&b, "%s. Each trial: %d workers (+1 coming and going) on %s, %v of traffic at %d records/s "+
		"in spells, %v windows, an event every %v–%v from %v.\n\n",
		s.Machine, o.Workers, describeSource(o), o.Produce, o.Rate, o.Window, o.MinGap, o.MaxGap, o.First)
	b.WriteString("| seed | records | kill -9 | SIGTERM | starts | freezes | evicted | lost | duplicated | dup/kill | dead letters counted twice | drain | verdict |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range s.Trials {
		a := r.Account
		verdict := "ok"
		if len(r.Failures) > 0 {
			verdict = "FAILED"
		}
		fmt.Fprintf(&b, "| %d | %d | %d | %d | %d | %d | %d | %d | %d (%.2f%%) | %s | %d | %v | %s |\n",
			r.Seed, r.Records, r.Kills, r.Terms, r.Starts, r.Freezes, r.Evictions, a.lost(), a.Duplicated,
			pct(a.Duplicated, a.Produced), perKill(a.Duplicated, r.Kills), a.Undecodable.Duplicated, r.Drain.Took, verdict)
	}
	fmt.Fprintf(&b, "\n**Totals**: %d records (%d on time), %d kill -9, %d SIGTERM, %d starts, %d freezes, %d evictions; "+
		"**%d lost** (%d of them on time), **%d duplicated** (%.2f%% of the on-time records, **%s per kill -9**); "+
		"dead letters: %d counted twice in the summaries, %d broken records without a dead-letter line, %d lines repeated; "+
		"late %d (%d of them delivered after their window's end + the allowed lateness: the producer's delay, not lost); "+
		"SIGTERMs escalated to SIGKILL %d, ended in an error %d.\n\n",
		t.Records, t.Produced, t.Kills, t.Terms, t.Starts, t.Freezes, t.Evictions, t.Lost, t.LostOnTime, t.Duplicated,
		100*t.DuplicatedShare, perKill(t.Duplicated, t.Kills), t.DeadLettersCountedTwice, t.LettersMissing,
		t.LettersRepeated, t.Late, t.DeliveredLate, t.Escalated, t.TermErrors)
	fmt.Fprintf(&b, "Handover (until every partition a stopped worker owned had a new owner): after kill -9 %s; after SIGTERM %s.\n\n",
		s.handovers(actKill), s.handovers(actTerm))
	b.WriteString("Dead letters by reason, as the summaries count them:")
	reasons := slices.Sorted(maps.Keys(t.DeadLetters))
	for _, k := range reasons {
		fmt.Fprintf(&b, " %s %d;", k, t.DeadLetters[k])
	}
	if len(reasons) == 0 {
		b.WriteString(" none.")
	}
	b.WriteString("\n\nBy cause (each cell's difference put down to its partition's first change of owner after the window started):\n\n")
	b.WriteString("| cause | events | lost | duplicated | duplicated per event |\n|---|---:|---:|---:|---:|\n")
	for _, k := range slices.Sorted(maps.Keys(s.ByCause)) {
		c := s.ByCause[k]
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %s |\n", k, c.Events, c.Lost, c.Duplicated, perKill(c.Duplicated, c.Events))
	}
	b.WriteString("\nPer kill -9 (what it owned, whether its member had to be evicted, what its partitions' changes of owner were blamed for):\n\n")
	b.WriteString("| seed | at | worker | owned | evicted | handed over after | lost | duplicated |\n|---:|---:|---|---|---:|---:|---:|---:|\n")
	for _, r := range s.Trials {
		for _, e := range r.Events {
			if e.Action == actKill && e.Skipped == "" {
				fmt.Fprintf(&b, "| %d | %v | %s | %v | %d | %s | %d | %d |\n", r.Seed, e.At.Round(100*time.Millisecond),
					e.Worker, e.Owned, e.Evicted, handover(e), e.Lost, e.Duplicated)
			}
		}
	}
	if t.Freezes > 0 {
		b.WriteString("\nPer freeze (SIGSTOP, then SIGCONT after the time it lasted; a long one outlasts the session or lease, " +
			"and the worker resumes believing it owns what it owned):\n\n")
		b.WriteString("| seed | at | worker | for | owned | partitions moved after | lost | duplicated |\n|---:|---:|---|---:|---|---:|---:|---:|\n")
		for _, r := range s.Trials {
			for _, e := range r.Events {
				if e.Action == actFreeze && e.Skipped == "" {
					fmt.Fprintf(&b, "| %d | %v | %s | %v | %v | %s | %d | %d |\n", r.Seed, e.At.Round(100*time.Millisecond),
						e.Worker, e.For.Round(100*time.Millisecond), e.Owned, handover(e), e.Lost, e.Duplicated)
				}
			}
		}
	}
	for _, r := range s.Trials {
		if len(r.Failures) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## seed %d FAILED\n\nReplay: `%s`  \nFiles: %s\n\n", r.Seed, fmt.Sprintf(s.Replay, r.Seed), r.Dir)
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "- %s\n", f)
		}
	}
	return b.String()
}

// describeSource names what a trial's fleet reads.
func describeSource(o options) string {
	if o.Source == "kinesis" {
		return fmt.Sprintf("a Kinesis stream of %d shards (kinesalite; leases on moto, lease_duration %v)", o.Partitions, o.LeaseDuration)
	}
	return fmt.Sprintf("a Kafka topic of %d partitions (kfake)", o.Partitions)
}

// handovers is the median and the longest handover after the events of one action, over every
// trial.
func (s *summary) handovers(a action) string {
	var ds []time.Duration
	never := 0
	for _, r := range s.Trials {
		for _, e := range r.Events {
			switch {
			case e.Action != a || e.Skipped != "" || e.Final || len(e.Owned) == 0:
			case e.HandoverIncomplete:
				never++
			default:
				ds = append(ds, e.Handover)
			}
		}
	}
	if len(ds) == 0 && never == 0 {
		return "none"
	}
	out := fmt.Sprintf("%d events", len(ds)+never)
	if len(ds) > 0 {
		slices.Sort(ds)
		out += fmt.Sprintf(", median %v, longest %v", ds[len(ds)/2], ds[len(ds)-1])
	}
	if never > 0 {
		out += fmt.Sprintf(", %d never handed over every partition", never)
	}
	return out
}

// handover is one event's, for a table.
func handover(e *eventRecord) string {
	switch {
	case e.HandoverIncomplete:
		return "never"
	case len(e.Owned) == 0:
		return "–"
	}
	return e.Handover.String()
}

func pct(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

func perKill(n int64, kills int) string {
	if kills == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f", float64(n)/float64(kills))
}
