package kinesis

import dto "github.com/prometheus/client_model/go"

// CommitErrors returns how many checkpoint writes failed so far
// (weir_kinesis_checkpoint_errors_total), for the worker's CommitErrors health count: the
// counter is the one tally, read back once per publishing period.
func (s *Source) CommitErrors() int64 {
	var m dto.Metric
	if s.m.checkpointErrs.Write(&m) != nil {
		return 0
	}
	return int64(m.GetCounter().GetValue())
}
