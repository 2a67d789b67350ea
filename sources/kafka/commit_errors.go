package kafka

import dto "github.com/prometheus/client_model/go"

// CommitErrors returns how many offset commits failed so far (weir_kafka_commit_errors_total:
// refused by the broker for another reason than a rebalance, or whole requests that failed),
// for the worker's CommitErrors health count: the counter is the one tally, read back once per
// publishing period.
func (s *Source) CommitErrors() int64 {
	var m dto.Metric
	if s.m.commitErrors.Write(&m) != nil {
		return 0
	}
	return int64(m.GetCounter().GetValue())
}
