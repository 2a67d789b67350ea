package contrib

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"
	"strconv"

	"github.com/weirstream/weir/pipeline"
)

var _ pipeline.Fingerprinter = (*Operator)(nil)

// ConfigFingerprint implements pipeline.Fingerprinter: a hash of everything that decides what
// a state of this rule means and whether two states merge — the rule as parsed (streams,
// format, fields, keys, value, filters, aggregation) and the sketch sizes. Settings that only
// shape the output (TopN beyond the counters it sizes, ContributorPoints) are left out: the
// aggregator's own settings apply to them, and changing them must not split a rule's states
// in two.
func (o *Operator) ConfigFingerprint() string {
	h := sha256.New()
	r := o.rule
	field(h, "name", r.Name)
	field(h, "streams", r.LogGroupNames...)
	field(h, "format", formatName(r.Format))
	aliases := make([]string, 0, len(r.Fields))
	for a := range r.Fields {
		aliases = append(aliases, a)
	}
	slices.Sort(aliases)
	for _, a := range aliases {
		field(h, "field", a, strconv.Itoa(r.Fields[a]))
	}
	field(h, "keys", r.Keys...)
	field(h, "value", r.ValueOf)
	for _, f := range r.Filters {
		field(h, "filter", append([]string{f.Match, f.Op, strconv.FormatFloat(f.Number, 'g', -1, 64),
			strconv.FormatBool(f.Present)}, f.Strings...)...)
	}
	field(h, "aggregate", r.AggregateOn)
	field(h, "sketch", strconv.Itoa(o.counters), strconv.Itoa(o.opts.HLLPrecision))
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// field writes one labelled list of values to h, each quoted, so that no two different
// configurations write the same text.
func field(h hash.Hash, label string, values ...string) {
	fmt.Fprintf(h, "%s:%d", label, len(values))
	for _, v := range values {
		fmt.Fprintf(h, " %q", v)
	}
	h.Write([]byte{'\n'})
}
