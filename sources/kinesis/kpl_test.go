package kinesis_test

import (
	"context"
	"testing"
	"time"

	kpl "github.com/a8m/kinesis-producer"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/internal/moto"
)

// KPL aggregates written by an independent producer (a8m/kinesis-producer) arrive as their
// user records, and a checkpoint in the middle of an aggregate (sequence number and
// sub-sequence number, written here as the README documents the table) resumes right after
// that sub-record: the rest of the aggregate is read, nothing before it.
func TestKPLAggregatesAndSubSequenceResume(t *testing.T) {
	srv := moto.Start(t)
	e := newEnv(t, srv.Endpoint(), srv.Endpoint())
	const stream, table, aggregates, per = "kpl", "leases-kpl", 12, 50
	e.createStream(t, stream, 1)
	p := newProducer(e, stream, 1)
	key := p.keys[0]
	var seqs []string
	for range aggregates {
		var a kpl.Aggregator
		for range per {
			a.Put(record(key, p.next[key]), key)
			p.next[key]++
		}
		entry, err := a.Drain()
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.kin.PutRecord(context.Background(), &awskinesis.PutRecordInput{StreamName: aws.String(stream),
			PartitionKey: aws.String(key), Data: entry.Data})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, *out.SequenceNumber)
	}
	// The lease of a worker that made aggregate 4 durable up to its sub-record 20, then died.
	if _, err := e.ddb.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("leaseKey"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("leaseKey"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ddb.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]ddbtypes.AttributeValue{
		"leaseKey":                    &ddbtypes.AttributeValueMemberS{Value: "shardId-000000000000"},
		"streamName":                  &ddbtypes.AttributeValueMemberS{Value: stream},
		"leaseOwner":                  &ddbtypes.AttributeValueMemberS{Value: "dead-worker"},
		"leaseCounter":                &ddbtypes.AttributeValueMemberN{Value: "41"},
		"checkpoint":                  &ddbtypes.AttributeValueMemberS{Value: seqs[4]},
		"checkpointSubSequenceNumber": &ddbtypes.AttributeValueMemberN{Value: "20"},
	}}); err != nil {
		t.Fatal(err)
	}
	st := newStore()
	w := e.startWorker(t, stream, st, workerOpts{id: "a"})
	first := 4*per + 21 // the record after aggregate 4's sub-record 20
	want := aggregates*per - first
	waitUntil(t, 60*time.Second, "the records after the checkpoint durable", func() bool { return st.Distinct() >= want }, w)
	time.Sleep(500 * time.Millisecond) // anything before the checkpoint would show up by now
	w.Stop(t)
	counts := st.Counts()
	for i := range aggregates * per {
		n := counts[string(record(key, i))]
		if (i >= first && n != 1) || (i < first && n != 0) {
			t.Errorf("record %d (aggregate %d, sub-record %d) counted %d times", i, i/per, i%per, n)
		}
	}
	l := e.leases(t, table)["shardId-000000000000"]
	if l.Checkpoint != seqs[aggregates-1] || l.Sub != per-1 || l.Owner != "" {
		t.Errorf("final lease %+v, want checkpoint %s:%d, released", l, seqs[aggregates-1], per-1)
	}
	if got := metrictest.Sum(t, w.Reg, "weir_kinesis_aggregated_records_total", nil); got < aggregates-4 {
		t.Errorf("weir_kinesis_aggregated_records_total = %v, want >= %d", got, aggregates-4)
	}
}
