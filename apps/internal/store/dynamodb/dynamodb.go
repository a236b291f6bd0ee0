// Package dynamodb implements store.Store on an Amazon DynamoDB table whose
// hash key is the string attribute "id".
package dynamodb

import (
	"context"
	"fmt"
	"strconv"
	"time"

	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/edw-project/edw/apps/internal/message"
	"github.com/edw-project/edw/apps/internal/retry"
	"github.com/edw-project/edw/apps/internal/store"
)

const (
	// maxBatch is BatchWriteItem's limit of items per call.
	maxBatch = 25
	// attempts bounds the calls made for one chunk while DynamoDB returns
	// unprocessed items (throttling); what is left fails and its messages
	// are retried by the consumer.
	attempts = 5
)

// Attribute names of a stored row.
const (
	attrID        = "id"
	attrMsg       = "msg"
	attrSrcStamp  = "srcStamp"
	attrDestStamp = "destStamp"
	attrLatencyMs = "latencyMs"
)

// Store is one DynamoDB table.
type Store struct {
	client *awsddb.Client
	table  string
}

var _ store.Store = (*Store)(nil)

// New returns the store for table.
func New(client *awsddb.Client, table string) *Store {
	return &Store{client: client, table: table}
}

// Put implements store.Store with BatchWriteItem, retrying unprocessed
// items with backoff.
func (s *Store) Put(ctx context.Context, recs []message.Record) []error {
	errs := make([]error, len(recs))
	for start := 0; start < len(recs); start += maxBatch {
		end := min(start+maxBatch, len(recs))
		copy(errs[start:end], s.putChunk(ctx, recs[start:end]))
	}
	return errs
}

func (s *Store) putChunk(ctx context.Context, recs []message.Record) []error {
	index := make(map[string]int, len(recs))
	pending := make([]types.WriteRequest, len(recs))
	for i, r := range recs {
		index[r.ID] = i
		pending[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: item(r)}}
	}
	for attempt := 0; ; attempt++ {
		out, err := s.client.BatchWriteItem(ctx, &awsddb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{s.table: pending},
		})
		if err != nil {
			return store.Fail(len(recs), fmt.Errorf("dynamodb table %q: batch write: %w", s.table, err))
		}
		pending = out.UnprocessedItems[s.table]
		if len(pending) == 0 {
			return make([]error, len(recs))
		}
		if attempt+1 == attempts || !retry.Sleep(ctx, retry.Default.Delay(attempt)) {
			break
		}
	}
	errs := make([]error, len(recs))
	for _, w := range pending {
		id := w.PutRequest.Item[attrID].(*types.AttributeValueMemberS).Value
		errs[index[id]] = fmt.Errorf("dynamodb table %q: item %s unprocessed after %d attempts", s.table, id, attempts)
	}
	return errs
}

func item(r message.Record) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrID:        &types.AttributeValueMemberS{Value: r.ID},
		attrMsg:       &types.AttributeValueMemberS{Value: string(r.Msg)},
		attrSrcStamp:  &types.AttributeValueMemberS{Value: r.SrcStamp.UTC().Format(time.RFC3339Nano)},
		attrDestStamp: &types.AttributeValueMemberS{Value: r.DestStamp.UTC().Format(time.RFC3339Nano)},
		attrLatencyMs: &types.AttributeValueMemberN{Value: strconv.FormatInt(r.Latency().Milliseconds(), 10)},
	}
}
