package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/weirstream/weir/internal/awsconf"
	"github.com/weirstream/weir/internal/kinesalite"
	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/pipeline"
)

// The names a Kinesis trial uses: the stream on kinesalite, the lease table on moto.
const (
	trialStream     = "chaos"
	trialLeaseTable = "weir-chaos-leases"
	// aggregatorLease is the lease table's row of the fleet's aggregator, not a shard.
	aggregatorLease = "weir#aggregator"
	// finishedOwner is who the harness says owns a shard read to its end (SHARD_END, no owner
	// in the table): nobody is to take it, so a worker stopped while it held the shard has
	// handed it over once it finished.
	finishedOwner = "(finished)"
)

// kinesisBed is a stream on kinesalite in a process of its own (it reshards correctly; moto
// does not) and the fleet's DynamoDB lease table on moto, created by the harness as the deploy
// templates create it (the workers get create_table: false, as there).
type kinesisBed struct {
	o   options
	kl  *kinesalite.Server
	ddb *moto.Server // the trial's: it may serve the S3 output too
	kin *awskinesis.Client
	db  *dynamodb.Client
	// closed is the shards a reshard had closed when the stream was read back: the fleet
	// deletes their leases once their children are past them, which behind takes as done.
	closed map[int32]bool
}

// newKinesisBed starts kinesalite, creates the stream of o.Partitions shards, and creates the
// lease table on srv.
func newKinesisBed(ctx context.Context, o options, srv *moto.Server) (*kinesisBed, error) {
	kl, err := kinesalite.StartProcess()
	if err != nil {
		return nil, err
	}
	b := &kinesisBed{o: o, kl: kl, ddb: srv}
	kc, err := localAWS(ctx, kl.Endpoint())
	if err != nil {
		b.close()
		return nil, err
	}
	dc, err := localAWS(ctx, srv.Endpoint())
	if err != nil {
		b.close()
		return nil, err
	}
	b.kin, b.db = awskinesis.NewFromConfig(kc), dynamodb.NewFromConfig(dc)
	if err := b.create(ctx); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// localAWS is the SDK's configuration for a local server.
func localAWS(ctx context.Context, endpoint string) (aws.Config, error) {
	c := awsconf.Config{Endpoint: endpoint, Region: "us-east-1", LocalCredentials: true}
	return c.Load(ctx)
}

// create makes the stream (and waits until it is active) and the lease table.
func (b *kinesisBed) create(ctx context.Context) error {
	if _, err := b.kin.CreateStream(ctx, &awskinesis.CreateStreamInput{StreamName: aws.String(trialStream),
		ShardCount: aws.Int32(int32(b.o.Partitions))}); err != nil {
		return fmt.Errorf("creating stream %s: %w", trialStream, err)
	}
	active := func() bool {
		out, err := b.kin.DescribeStreamSummary(ctx, &awskinesis.DescribeStreamSummaryInput{StreamName: aws.String(trialStream)})
		return err == nil && out.StreamDescriptionSummary.StreamStatus == kintypes.StreamStatusActive
	}
	if err := waitFor(ctx, 30*time.Second, active); err != nil {
		return fmt.Errorf("stream %s never became active: %w", trialStream, err)
	}
	_, err := b.db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(trialLeaseTable),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("leaseKey"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("leaseKey"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		return fmt.Errorf("creating lease table %s: %w", trialLeaseTable, err)
	}
	return nil
}

func (b *kinesisBed) config() map[string]any {
	kin := map[string]any{
		"stream": trialStream, "lease_table": trialLeaseTable, "create_table": false,
		"lease_duration": b.o.LeaseDuration.String(),
	}
	if b.o.CommitInterval > 0 {
		kin["checkpoint_interval"] = b.o.CommitInterval.String()
	}
	return map[string]any{
		"source": map[string]any{"kind": "kinesis", "format": "json", "kinesis": kin},
		"aws": map[string]any{"region": "us-east-1", "local_credentials": true, "endpoint": b.ddb.Endpoint(),
			"endpoints": map[string]any{"kinesis": b.kl.Endpoint()}},
	}
}

func (b *kinesisBed) idVar() string { return "WEIR_SOURCE_KINESIS_WORKER_ID" }

func (b *kinesisBed) connect(plan *producePlan) {
	plan.Source, plan.Endpoint, plan.Topic = "kinesis", b.kl.Endpoint(), trialStream
}

// leaseRow is the part of a lease the harness reads.
type leaseRow struct {
	shard      string
	owner      string
	checkpoint string
}

// leases scans the lease table.
func (b *kinesisBed) leases(ctx context.Context) ([]leaseRow, error) {
	var rows []leaseRow
	in := &dynamodb.ScanInput{TableName: aws.String(trialLeaseTable), ConsistentRead: aws.Bool(true)}
	for {
		page, err := b.db.Scan(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			rows = append(rows, leaseRow{shard: str(it["leaseKey"]), owner: str(it["leaseOwner"]), checkpoint: str(it["checkpoint"])})
		}
		if len(page.LastEvaluatedKey) == 0 {
			return rows, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func str(v ddbtypes.AttributeValue) string {
	if s, ok := v.(*ddbtypes.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// owners reads who holds each shard's lease (finishedOwner for a shard at SHARD_END). A lease
// table is always settled: a dead worker's leases name it until another worker takes them,
// which is the handover the harness times.
func (b *kinesisBed) owners(ctx context.Context) (map[string][]int32, bool, error) {
	rows, err := b.leases(ctx)
	if err != nil {
		return nil, false, err
	}
	out := map[string][]int32{}
	for _, r := range rows {
		if r.checkpoint == "SHARD_END" {
			r.owner = finishedOwner
		}
		if r.shard == aggregatorLease || r.owner == "" {
			continue
		}
		p, err := partitionIndex(r.shard)
		if err != nil {
			return nil, false, err
		}
		out[r.owner] = append(out[r.owner], p)
	}
	for _, ps := range out {
		slices.Sort(ps)
	}
	return out, true, nil
}

// evict does nothing: a killed worker's leases expire after lease_duration, by design.
func (b *kinesisBed) evict(context.Context, string) (int, error) { return 0, nil }

// produced reads the stream back from every shard's start: what it holds is what the fleet
// must count, whatever the producer's calls answered (a PutRecords whose answer was lost may
// have written its records, and the SDK's retry may write them twice; each copy is a record
// the fleet reads). The producer's tally only says how many calls went unanswered.
func (b *kinesisBed) produced(ctx context.Context, acked *tally) (*tally, error) {
	t := newTally()
	t.Unanswered = acked.Failed
	shards, err := b.shards(ctx)
	if err != nil {
		return nil, err
	}
	b.closed = map[int32]bool{}
	for _, sh := range shards {
		p, err := partitionIndex(aws.ToString(sh.ShardId))
		if err != nil {
			return nil, err
		}
		if sh.SequenceNumberRange.EndingSequenceNumber != nil {
			b.closed[p] = true
		}
		if err := b.readShard(ctx, sh.ShardId, p, t); err != nil {
			return nil, fmt.Errorf("reading %s back: %w", aws.ToString(sh.ShardId), err)
		}
	}
	return t, nil
}

// readShard tallies every record of one shard, up to its end (an empty read).
func (b *kinesisBed) readShard(ctx context.Context, shard *string, p int32, t *tally) error {
	it, err := b.kin.GetShardIterator(ctx, &awskinesis.GetShardIteratorInput{StreamName: aws.String(trialStream),
		ShardId: shard, ShardIteratorType: kintypes.ShardIteratorTypeTrimHorizon})
	if err != nil {
		return err
	}
	for iter := it.ShardIterator; iter != nil; {
		out, err := b.kin.GetRecords(ctx, &awskinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(10000)})
		if err != nil {
			return err
		}
		for _, r := range out.Records {
			var e struct {
				TS time.Time `json:"ts"`
			}
			if !json.Valid(r.Data) {
				t.Undecodable[p]++
			} else if err := json.Unmarshal(r.Data, &e); err != nil {
				return fmt.Errorf("record %s: %w", aws.ToString(r.SequenceNumber), err)
			} else {
				w := pipeline.WindowOf(e.TS, b.o.Window)
				k := cell{Partition: p, Window: w.Start.Unix()}
				t.Cells[k]++
				if aws.ToTime(r.ApproximateArrivalTimestamp).After(w.End.Add(allowedLateness)) {
					t.DeliveredLate[k]++
				}
			}
			if t.Last == nil {
				t.Last = map[int32]string{}
			}
			t.Last[p] = aws.ToString(r.SequenceNumber)
		}
		if len(out.Records) == 0 {
			return nil
		}
		iter = out.NextShardIterator
	}
	return nil
}

// behind compares every shard's checkpoint in the lease table with the sequence number of its
// last record. A closed shard without a lease is done: the fleet deletes a finished shard's
// lease (SHARD_END) once its children have checkpointed past their start.
func (b *kinesisBed) behind(ctx context.Context, t *tally) ([]string, error) {
	rows, err := b.leases(ctx)
	if err != nil {
		return nil, err
	}
	cps := map[int32]string{}
	for p := range b.closed {
		cps[p] = "SHARD_END" // unless its lease, not yet deleted, says otherwise
	}
	for _, r := range rows {
		if r.shard == aggregatorLease {
			continue
		}
		p, err := partitionIndex(r.shard)
		if err != nil {
			return nil, err
		}
		cps[p] = r.checkpoint
	}
	var behind []string
	for _, p := range slices.Sorted(maps.Keys(t.Last)) {
		if cp := cps[p]; !checkpointPast(cp, t.Last[p]) {
			behind = append(behind, fmt.Sprintf("%d:%s/%s", p, abbrev(cp), abbrev(t.Last[p])))
		}
	}
	return behind, nil
}

// checkpointPast reports whether checkpoint cp covers the record with sequence number last.
func checkpointPast(cp, last string) bool {
	if cp == "SHARD_END" {
		return true
	}
	c, ok1 := new(big.Int).SetString(cp, 10)
	l, ok2 := new(big.Int).SetString(last, 10)
	return ok1 && ok2 && c.Cmp(l) >= 0
}

// abbrev shortens a sequence number (56 digits) to what tells two of a shard apart.
func abbrev(seq string) string {
	if len(seq) > 12 {
		return "…" + seq[len(seq)-12:]
	}
	return seq
}

func (b *kinesisBed) describe() string {
	return fmt.Sprintf("stream %s of %d shards on kinesalite at %s, lease table %s on moto at %s",
		trialStream, b.o.Partitions, b.kl.Endpoint(), trialLeaseTable, b.ddb.Endpoint())
}

// close stops kinesalite; the moto server is the trial's.
func (b *kinesisBed) close() { b.kl.Stop() }
