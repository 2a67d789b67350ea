package contrib

import (
	"fmt"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/pipeline/sketch"
)

// Options size a rule's per-window state and choose its outputs.
type Options struct {
	// TopN is how many contributors the report lists (default 10, at most 1000; CloudWatch
	// stops at 100).
	TopN int
	// TargetError is the largest error of a contributor's value, as a fraction of the window's
	// total (default 0.001). With N the window's total, a contributor's reported value is at
	// most N×TargetError above its true value, and a contributor above that share is never
	// missed. It sizes the Space-Saving sketch: max(4×TopN, 1/TargetError) counters.
	TargetError float64
	// ContributorPoints, when positive, also emits a CloudWatch point per contributor for the
	// top ContributorPoints contributors (≤ TopN). Off by default: every distinct contributor
	// becomes a billed custom-metric series.
	ContributorPoints int
	// HLLPrecision is log2 of the distinct counter's registers (default 14: 16 KiB, 0.81%).
	HLLPrecision int
}

// Defaults and limits of Options.
const (
	DefaultTopN        = 10
	MaxTopN            = 1000
	DefaultTargetError = 0.001
)

// Validate fills defaults and checks ranges; messages name the field.
func (o *Options) Validate() error {
	if o.TopN == 0 {
		o.TopN = DefaultTopN
	}
	if o.TopN < 1 || o.TopN > MaxTopN {
		return fmt.Errorf("contributors.top_n: %d, want 1 to %d", o.TopN, MaxTopN)
	}
	if o.TargetError == 0 {
		o.TargetError = DefaultTargetError
	}
	if o.TargetError < 1e-6 || o.TargetError >= 1 {
		return fmt.Errorf("contributors.target_error: %v, want within [1e-6, 1)", o.TargetError)
	}
	if o.ContributorPoints < 0 || o.ContributorPoints > o.TopN {
		return fmt.Errorf("contributors.contributor_points: %d, want 0 to top_n (%d)", o.ContributorPoints, o.TopN)
	}
	if o.HLLPrecision == 0 {
		o.HLLPrecision = sketch.DefaultPrecision
	}
	if o.HLLPrecision < sketch.MinPrecision || o.HLLPrecision > sketch.MaxPrecision {
		return fmt.Errorf("contributors.hll_precision: %d, want %d to %d", o.HLLPrecision, sketch.MinPrecision, sketch.MaxPrecision)
	}
	return nil
}

// Operator evaluates one rule. It is immutable after New and shared by all runners.
type Operator struct {
	rule     *Rule
	opts     Options
	counters int
	keys     []int // value indices of the keys
	value    int   // value index of ValueOf, or -1
	filters  []Filter
	fidx     []int // value index of each filter's Match
}

// New builds the operator for a rule and registers its fields with the stream's plan. A JSON
// rule reads json and msgpack streams, a CLF rule clf streams; anything else is refused.
func New(rule *Rule, plan *decode.Plan, opts Options) (*Operator, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("rule %q: %w", rule.Name, err)
	}
	switch {
	case rule.Format == decode.JSON && (plan.Format() == decode.JSON || plan.Format() == decode.Msgpack):
	case rule.Format == decode.CLF && plan.Format() == decode.CLF:
	default:
		return nil, fmt.Errorf("rule %q: LogFormat %s cannot read a %v stream", rule.Name, formatName(rule.Format), plan.Format())
	}
	o := &Operator{rule: rule, opts: opts, value: -1, counters: sketch.CountersFor(opts.TopN, opts.TargetError)}
	add := func(field, what string) (int, error) {
		p, err := rule.fieldPath(field)
		if err == nil {
			var i int
			if i, err = plan.Add(p); err == nil {
				return i, nil
			}
		}
		return 0, fmt.Errorf("rule %q: %s: %w", rule.Name, what, err)
	}
	for i, k := range rule.Keys {
		idx, err := add(k, fmt.Sprintf("Contribution.Keys[%d]", i))
		if err != nil {
			return nil, err
		}
		o.keys = append(o.keys, idx)
	}
	if rule.ValueOf != "" { // ParseRule allows it only with Sum
		idx, err := add(rule.ValueOf, "Contribution.ValueOf")
		if err != nil {
			return nil, err
		}
		o.value = idx
	}
	for i, f := range rule.Filters {
		idx, err := add(f.Match, fmt.Sprintf("Contribution.Filters[%d].Match", i))
		if err != nil {
			return nil, err
		}
		o.filters = append(o.filters, f)
		o.fidx = append(o.fidx, idx)
	}
	return o, nil
}

func formatName(f decode.Format) string {
	if f == decode.CLF {
		return "CLF"
	}
	return "JSON"
}

// Name implements pipeline.Operator: "contributors/" and the rule's name.
func (o *Operator) Name() string { return "contributors/" + o.rule.Name }

// Rule is the operator's rule.
func (o *Operator) Rule() *Rule { return o.rule }

// Reads implements pipeline.StreamSelector with the rule's LogGroupNames.
func (o *Operator) Reads(stream string) bool { return o.rule.Matches(stream) }

// Counters is the Space-Saving size the options gave.
func (o *Operator) Counters() int { return o.counters }

// NewState implements pipeline.Operator.
func (o *Operator) NewState(pipeline.Partition) pipeline.State { return o.newState() }

func (o *Operator) newState() *State {
	return &State{
		op:  o,
		ss:  sketch.NewSpaceSaving(o.counters),
		hll: sketch.NewHLL(o.opts.HLLPrecision),
		buf: make([]byte, 0, 64),
	}
}
