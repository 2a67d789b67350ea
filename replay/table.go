package replay

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/weirstream/weir/pipeline/contrib"
)

// printTable writes one report as a readable top-N table:
//
//	rule by-tenant  2026-11-21T13:00:00Z .. 2026-11-21T13:01:00Z  Count 1200  matched 1200  unique ~37
//	  #  $.tenant  $.path         value  ±error
//	  1  t-0042    /api/v1/items  310    0
func printTable(w io.Writer, r contrib.Report) {
	dp := r.MetricDatapoints[0]
	fmt.Fprintf(w, "rule %s  %s .. %s  %s %s  matched %s  unique ~%d  max error %s\n",
		r.RuleName, r.Window.Start, r.Window.End, r.AggregationStatistic, num(r.AggregateValue),
		num(dp.SampleCount), r.ApproximateUniqueCount, num(r.MaxError))
	if len(r.Contributors) == 0 {
		fmt.Fprintln(w, "  (no contributors)")
		fmt.Fprintln(w)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  #\t%s\tvalue\t±error\n", strings.Join(r.KeyLabels, "\t"))
	for i, c := range r.Contributors {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\n", i+1, strings.Join(c.Keys, "\t"), num(c.ApproximateAggregateValue), num(c.MaxError))
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
