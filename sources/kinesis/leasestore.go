package kinesis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/weirstream/weir/internal/awsconf"
)

// The lease table (README.md, "Lease table"): one item per shard.
const (
	attrKey        = "leaseKey"                    // S, hash key: the shard id
	attrStream     = "streamName"                  // S: the stream the shard belongs to
	attrOwner      = "leaseOwner"                  // S: the worker holding the lease; absent when free
	attrCounter    = "leaseCounter"                // N: +1 on every write; the fencing token
	attrCheckpoint = "checkpoint"                  // S: sequence number, or one of the sentinels below
	attrSub        = "checkpointSubSequenceNumber" // N: KPL sub-sequence number within the checkpoint
	attrParents    = "parentShardIds"              // SS: parent and adjacent parent; absent for none
	attrHandoff    = "handoffTo"                   // S: a worker asked the owner to hand the lease over
	attrState      = "weirCheckpoint"              // S: the checkpoint with its event-time state (pipeline.Checkpoint)
)

// Checkpoint sentinels: where a shard with no record checkpointed starts, and the mark of a
// shard read to its end.
const (
	cpTrimHorizon = "TRIM_HORIZON"
	cpLatest      = "LATEST"
	cpAtTimestamp = "AT_TIMESTAMP"
	cpShardEnd    = "SHARD_END"
)

// errLeaseLost is returned by a conditional write whose fencing condition (owner and counter)
// failed: another worker took the lease, and this worker must stop writing for the shard.
var errLeaseLost = errors.New("lease lost to another worker")

// errLeaseLostUnanswered is errLeaseLost after an earlier attempt of the same call got no
// answer (a timeout, a reset connection) and was retried: that attempt may have landed and
// moved the counter itself, so the refusal may be this worker's own doing (see fencedWrite).
var errLeaseLostUnanswered = fmt.Errorf("%w (or to an earlier attempt of this write, whose answer was lost)", errLeaseLost)

// lease is one item of the lease table as last read.
type lease struct {
	Shard      string
	Owner      string
	Counter    int64
	Checkpoint string
	Sub        int64
	Parents    []string
	Handoff    string
	// State is the runtime's checkpoint (pipeline.Checkpoint.String) written with the last
	// checkpoint, in the same conditional update; empty when none was (an older weir, the
	// KCL, a sentinel).
	State string
}

func (l lease) finished() bool { return l.Checkpoint == cpShardEnd }

// started says the lease's shard has been read past its start: its checkpoint is a sequence
// number (or SHARD_END), no longer the position it was created with.
func (l lease) started() bool {
	switch l.Checkpoint {
	case cpTrimHorizon, cpLatest, cpAtTimestamp:
		return false
	}
	return true
}

// leaseStore reads and writes the lease table. Every write of a held lease is conditional on
// the owner and the counter the writer last wrote, and increments the counter: a worker that
// lost its lease (stolen, or taken after it expired) can no longer write anything for the
// shard, checkpoints included.
type leaseStore struct {
	db     *dynamodb.Client
	table  string
	stream string
	retry  awsconf.Retry
	onErr  func(op, reason string)
}

// ensureTable waits for the table to be usable, creating it first if it is missing and create
// is set, for at most startupTimeout. watch (may be nil) sees every failed attempt.
func (s *leaseStore) ensureTable(ctx context.Context, create bool, watch func(reason string, err error)) error {
	ctx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()
	for {
		var out *dynamodb.DescribeTableOutput
		err := s.do(ctx, "DescribeTable", boundAttempt(startupAttemptTimeout, func(ctx context.Context) (err error) {
			out, err = s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &s.table})
			return err
		}), watch)
		var nf *types.ResourceNotFoundException
		switch {
		case errors.As(err, &nf) && !create:
			return fmt.Errorf("source.kinesis.lease_table: table %q does not exist and create_table is false", s.table)
		case errors.As(err, &nf):
			err = s.do(ctx, "CreateTable", boundAttempt(startupAttemptTimeout, func(ctx context.Context) error {
				_, err := s.db.CreateTable(ctx, &dynamodb.CreateTableInput{
					TableName:            &s.table,
					AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(attrKey), AttributeType: types.ScalarAttributeTypeS}},
					KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(attrKey), KeyType: types.KeyTypeHash}},
					BillingMode:          types.BillingModePayPerRequest,
				})
				var inUse *types.ResourceInUseException
				if errors.As(err, &inUse) {
					return nil // another worker created it a moment ago
				}
				return err
			}), watch)
			if err != nil {
				return fmt.Errorf("creating lease table %q: %w", s.table, err)
			}
		case err != nil:
			return fmt.Errorf("describing lease table %q: %w", s.table, err)
		case out.Table.TableStatus == types.TableStatusActive || out.Table.TableStatus == types.TableStatusUpdating:
			return nil
		}
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("lease table %q did not become active: %w", s.table, ctx.Err())
		}
	}
}

// list reads every shard lease of the stream (a consistent scan, paged).
func (s *leaseStore) list(ctx context.Context) ([]lease, error) {
	shards, _, err := s.scan(ctx)
	return shards, err
}

// scan reads every lease of the stream (a consistent scan, paged): the shards' and, if it
// exists, the aggregator's row (leader.go).
func (s *leaseStore) scan(ctx context.Context) (shards []lease, leader *lease, err error) {
	var out []lease
	var start map[string]types.AttributeValue
	for {
		var page *dynamodb.ScanOutput
		err := s.do(ctx, "Scan", func(ctx context.Context) (err error) {
			page, err = s.db.Scan(ctx, &dynamodb.ScanInput{TableName: &s.table, ConsistentRead: aws.Bool(true), ExclusiveStartKey: start})
			return err
		})
		if err != nil {
			return nil, nil, err
		}
		for _, item := range page.Items {
			l, stream, err := decodeLease(item)
			if err != nil {
				return nil, nil, fmt.Errorf("lease table %q: %w", s.table, err)
			}
			if stream != s.stream {
				return nil, nil, fmt.Errorf("source.kinesis.lease_table: table %q holds leases of stream %q; one table serves one stream", s.table, stream)
			}
			if l.Shard == leaderKey {
				leader = &l
				continue
			}
			out = append(out, l)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, leader, nil
		}
		start = page.LastEvaluatedKey
	}
}

// create adds a free lease for a shard unless one exists, and reports whether it did.
func (s *leaseStore) create(ctx context.Context, l lease) (bool, error) {
	item := map[string]types.AttributeValue{
		attrKey:        &types.AttributeValueMemberS{Value: l.Shard},
		attrStream:     &types.AttributeValueMemberS{Value: s.stream},
		attrCounter:    num(0),
		attrCheckpoint: &types.AttributeValueMemberS{Value: l.Checkpoint},
		attrSub:        num(0),
	}
	if len(l.Parents) > 0 {
		item[attrParents] = &types.AttributeValueMemberSS{Value: l.Parents}
	}
	err := s.do(ctx, "PutItem", func(ctx context.Context) error {
		_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
			ConditionExpression: aws.String("attribute_not_exists(" + attrKey + ")")})
		return err
	})
	var cf *types.ConditionalCheckFailedException
	if errors.As(err, &cf) {
		return false, nil
	}
	return err == nil, err
}

// deleteFinished deletes the lease of a shard read to its end (see finishedToDelete); it
// reports false, without error, when the lease is gone already or not finished.
func (s *leaseStore) deleteFinished(ctx context.Context, shard string) (bool, error) {
	err := s.do(ctx, "DeleteItem", func(ctx context.Context) error {
		_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:                 &s.table,
			Key:                       map[string]types.AttributeValue{attrKey: &types.AttributeValueMemberS{Value: shard}},
			ConditionExpression:       aws.String(attrCheckpoint + " = :end"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":end": &types.AttributeValueMemberS{Value: cpShardEnd}},
		})
		return err
	})
	var cf *types.ConditionalCheckFailedException
	if errors.As(err, &cf) {
		return false, nil // another worker deleted it a moment ago
	}
	return err == nil, err
}

// take makes owner the holder of l, provided nobody wrote it since it was read (its counter
// is still l.Counter), and returns the new counter.
func (s *leaseStore) take(ctx context.Context, l lease, owner string) (int64, error) {
	n, _, err := s.update(ctx, "take", l.Shard, "SET "+attrOwner+" = :me, "+attrCounter+" = :next REMOVE "+attrHandoff,
		attrCounter+" = :cur", map[string]types.AttributeValue{
			":me": &types.AttributeValueMemberS{Value: owner}, ":cur": num(l.Counter), ":next": num(l.Counter + 1)})
	return n, err
}

// renew proves owner is alive: counter+1, fenced on owner and counter. It also returns the
// worker that asked for the lease to be handed over, if any.
func (s *leaseStore) renew(ctx context.Context, shard, owner string, counter int64) (int64, string, error) {
	return s.update(ctx, "renew", shard, "SET "+attrCounter+" = :next", fenced, fenceValues(owner, counter, nil))
}

// checkpoint writes a position (a sequence number and sub-sequence number, or cpShardEnd) with
// the runtime's checkpoint state (state; "" removes it), fenced, in one update; with release it
// also gives the lease up, so another worker can take it at once.
func (s *leaseStore) checkpoint(ctx context.Context, shard, owner string, counter int64, cp string, sub int64, state string, release bool) (int64, error) {
	vals := map[string]types.AttributeValue{":cp": &types.AttributeValueMemberS{Value: cp}, ":sub": num(sub)}
	expr := "SET " + attrCounter + " = :next, " + attrCheckpoint + " = :cp, " + attrSub + " = :sub"
	var remove []string
	if state != "" {
		expr += ", " + attrState + " = :state"
		vals[":state"] = &types.AttributeValueMemberS{Value: state}
	} else {
		remove = append(remove, attrState)
	}
	if release {
		remove = append(remove, attrOwner)
	}
	if len(remove) > 0 {
		expr += " REMOVE " + strings.Join(remove, ", ")
	}
	n, _, err := s.update(ctx, "checkpoint", shard, expr, fenced, fenceValues(owner, counter, vals))
	return n, err
}

// release gives the lease up without moving the checkpoint.
func (s *leaseStore) release(ctx context.Context, shard, owner string, counter int64) (int64, error) {
	n, _, err := s.update(ctx, "release", shard, "SET "+attrCounter+" = :next REMOVE "+attrOwner, fenced, fenceValues(owner, counter, nil))
	return n, err
}

// requestHandoff asks the lease's owner to hand it to thief: the owner sees the request when
// it next renews, drains the shard, checkpoints and makes thief the owner. Nothing is fenced
// out by the request itself (the counter does not move), so the owner is never cut off
// mid-flight; that is what makes balancing free of duplicates.
func (s *leaseStore) requestHandoff(ctx context.Context, l lease, thief string) error {
	cond := attrOwner + " = :owner AND attribute_not_exists(" + attrHandoff + ")"
	expr := "SET " + attrHandoff + " = :thief"
	err := s.do(ctx, "UpdateItem", func(ctx context.Context) error {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:        &s.table,
			Key:              map[string]types.AttributeValue{attrKey: &types.AttributeValueMemberS{Value: l.Shard}},
			UpdateExpression: &expr, ConditionExpression: &cond,
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":owner": &types.AttributeValueMemberS{Value: l.Owner}, ":thief": &types.AttributeValueMemberS{Value: thief}},
		})
		return err
	})
	var cf *types.ConditionalCheckFailedException
	if errors.As(err, &cf) {
		return errLeaseLost
	}
	return err
}

// handOver checkpoints (when cp is not empty, with its state) and makes to the owner, fenced.
func (s *leaseStore) handOver(ctx context.Context, shard, owner string, counter int64, cp string, sub int64, state, to string) (int64, error) {
	expr := "SET " + attrCounter + " = :next, " + attrOwner + " = :to"
	vals := map[string]types.AttributeValue{":to": &types.AttributeValueMemberS{Value: to}}
	remove := attrHandoff
	if cp != "" {
		expr += ", " + attrCheckpoint + " = :cp, " + attrSub + " = :sub"
		vals[":cp"], vals[":sub"] = &types.AttributeValueMemberS{Value: cp}, num(sub)
		if state != "" {
			expr += ", " + attrState + " = :state"
			vals[":state"] = &types.AttributeValueMemberS{Value: state}
		} else {
			remove += ", " + attrState
		}
	}
	expr += " REMOVE " + remove
	n, _, err := s.update(ctx, "handover", shard, expr, fenced, fenceValues(owner, counter, vals))
	return n, err
}

const fenced = attrOwner + " = :me AND " + attrCounter + " = :cur"

func fenceValues(owner string, counter int64, extra map[string]types.AttributeValue) map[string]types.AttributeValue {
	v := map[string]types.AttributeValue{
		":me": &types.AttributeValueMemberS{Value: owner}, ":cur": num(counter), ":next": num(counter + 1)}
	for k, x := range extra {
		v[k] = x
	}
	return v
}

// update runs a fenced write and returns the new counter and the pending handoff request.
func (s *leaseStore) update(ctx context.Context, op, shard, expr, cond string, vals map[string]types.AttributeValue) (int64, string, error) {
	var out *dynamodb.UpdateItemOutput
	var cf *types.ConditionalCheckFailedException
	unanswered := false
	err := s.do(ctx, "UpdateItem", func(ctx context.Context) (err error) {
		out, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 &s.table,
			Key:                       map[string]types.AttributeValue{attrKey: &types.AttributeValueMemberS{Value: shard}},
			UpdateExpression:          &expr,
			ConditionExpression:       &cond,
			ExpressionAttributeValues: vals,
			ReturnValues:              types.ReturnValueAllNew,
		})
		if err != nil && !errors.As(err, &cf) {
			unanswered = true // the server may have applied it all the same
		}
		return err
	})
	if errors.As(err, &cf) {
		if unanswered {
			return 0, "", errLeaseLostUnanswered
		}
		return 0, "", errLeaseLost
	}
	if err != nil {
		return 0, "", fmt.Errorf("lease %s: %s: %w", shard, op, err)
	}
	next, _ := strconv.ParseInt(vals[":next"].(*types.AttributeValueMemberN).Value, 10, 64)
	var handoff string
	if v, ok := out.Attributes[attrHandoff].(*types.AttributeValueMemberS); ok {
		handoff = v.Value
	}
	return next, handoff, nil
}

// do runs one DynamoDB call under the retry policy; a failed fencing condition is permanent.
// watch (optional) also sees every failed attempt.
func (s *leaseStore) do(ctx context.Context, op string, call func(context.Context) error, watch ...func(reason string, err error)) error {
	return s.retry.Do(ctx, call, func(reason string, err error) {
		var cf *types.ConditionalCheckFailedException
		if !errors.As(err, &cf) && s.onErr != nil {
			s.onErr(op, reason)
		}
		for _, w := range watch {
			if w != nil {
				w(reason, err)
			}
		}
	})
}

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func decodeLease(item map[string]types.AttributeValue) (lease, string, error) {
	var l lease
	str := func(k string) string {
		if v, ok := item[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	n := func(k string) (int64, error) {
		v, ok := item[k].(*types.AttributeValueMemberN)
		if !ok {
			return 0, nil
		}
		return strconv.ParseInt(v.Value, 10, 64)
	}
	l.Shard, l.Owner, l.Checkpoint, l.Handoff = str(attrKey), str(attrOwner), str(attrCheckpoint), str(attrHandoff)
	l.State = str(attrState)
	var err error
	if l.Counter, err = n(attrCounter); err != nil {
		return l, "", fmt.Errorf("lease %s: %s: %w", l.Shard, attrCounter, err)
	}
	if l.Sub, err = n(attrSub); err != nil {
		return l, "", fmt.Errorf("lease %s: %s: %w", l.Shard, attrSub, err)
	}
	if ss, ok := item[attrParents].(*types.AttributeValueMemberSS); ok {
		l.Parents = ss.Value
	}
	if l.Shard == "" || l.Checkpoint == "" {
		return l, "", fmt.Errorf("item without %s or %s", attrKey, attrCheckpoint)
	}
	return l, str(attrStream), nil
}
