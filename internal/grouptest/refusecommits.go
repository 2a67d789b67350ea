package grouptest

import (
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// CommitRefusals makes c refuse every partition of every OffsetCommit (OFFSET_METADATA_TOO_LARGE,
// an error that is not a rebalance) while Refuse is set, and counts the partitions refused.
type CommitRefusals struct {
	Refuse  atomic.Bool
	Refused atomic.Int64
}

// RefuseCommits installs the refusals on c; they start off.
func RefuseCommits(c *kfake.Cluster) *CommitRefusals {
	r := &CommitRefusals{}
	c.ControlKey(int16(kmsg.OffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !r.Refuse.Load() {
			return nil, nil, false
		}
		q := req.(*kmsg.OffsetCommitRequest)
		resp := q.ResponseKind().(*kmsg.OffsetCommitResponse)
		resp.SetVersion(q.GetVersion())
		for _, qt := range q.Topics {
			st := kmsg.NewOffsetCommitResponseTopic()
			st.Topic, st.TopicID = qt.Topic, qt.TopicID
			for _, qp := range qt.Partitions {
				sp := kmsg.NewOffsetCommitResponseTopicPartition()
				sp.Partition, sp.ErrorCode = qp.Partition, kerr.OffsetMetadataTooLarge.Code
				st.Partitions = append(st.Partitions, sp)
				r.Refused.Add(1)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	return r
}
