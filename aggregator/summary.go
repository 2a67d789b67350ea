package aggregator

import (
	"time"

	"github.com/weirstream/weir/pipeline"
)

// SummaryName is the name of the fleet summary report (Kind "summary"), so its key is
// kind=summary/operator=fleet/dt=…/hour=…/<start>_<end>.json.
const SummaryName = "fleet"

// Summary is the body of the fleet summary report: what went into a window's global result,
// and what did not. It holds nothing that depends on when or by whom it was merged, so a
// window merged again from the same partials writes the same bytes.
type Summary struct {
	WindowStart string `json:"window_start"`
	WindowEnd   string `json:"window_end"`
	// Partitions is the number of partials merged.
	Partitions int   `json:"partitions"`
	Records    int64 `json:"records"`
	Bytes      int64 `json:"bytes"`
	// Dropped counts the records dead-lettered in the window, by reason (late, decode, …).
	Dropped map[string]int64 `json:"dropped,omitempty"`
	// Missing are partitions that had not passed the window when it was merged at the grace
	// deadline (stream/id). Empty when the window is complete.
	Missing []string `json:"missing"`
	// Late are partitions whose partial arrived after the window was first merged: the
	// reports were merged again with them (the metrics were not published again).
	Late []string `json:"late,omitempty"`
	// Invalid are partials that could not be used, with the reason.
	Invalid []Problem `json:"invalid,omitempty"`
	// FailedOperators are operators whose states failed to decode or merge: their output is
	// left out of the window rather than published half-merged.
	FailedOperators []Problem `json:"failed_operators,omitempty"`
	// ConfigMismatch are operator states from partitions that ran another configuration of
	// the operator (a rolling deploy that changed a rule), or an operator this aggregator
	// does not have: not merged, never mixed.
	ConfigMismatch []Mismatch `json:"config_mismatch,omitempty"`
	// Ended are partitions that ended (a Kinesis shard's SHARD_END) in this window.
	Ended []string `json:"ended,omitempty"`
}

// Problem names what went wrong with a partition's partial or an operator.
type Problem struct {
	Name  string `json:"name"`
	Error string `json:"error"`
}

// Mismatch is one operator configuration the aggregator did not merge.
type Mismatch struct {
	Operator   string   `json:"operator"`
	Config     string   `json:"config"`
	Partitions []string `json:"partitions"`
}

func names(ps []pipeline.Partition) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
