package anomaly

// Version 5 of the snapshot held a fourth channel, the novelty of means of 8 points, which
// bench/nab's decision 93 removed (it spoke for 1 report in 315 on NAB's dev set). Its state fed
// nothing but that channel, so a version-5 snapshot is restored by reading that state into a
// slowPattern and dropping it: everything else resumes as saved, and a worker upgraded past
// version 5 keeps its series' learned history instead of warming every detector up again.
type slowPattern struct {
	cx       novelty
	blockSum float64
	blockN   int64
	ch       noveltyChannel
}
