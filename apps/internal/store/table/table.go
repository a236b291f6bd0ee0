// Package table implements store.Store on an Azure Storage Table (or a
// Cosmos DB Table API table: same protocol).
package table

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/edw-project/edw/apps/internal/fanout"
	"github.com/edw-project/edw/apps/internal/message"
	"github.com/edw-project/edw/apps/internal/store"
)

const (
	// partitions spreads rows over this many partition keys: enough to
	// spread load over the service's partition servers, few enough that a
	// received batch shares partitions and so shares transactions.
	partitions = 16
	// maxTransaction is the service's limit of operations per transaction.
	maxTransaction = 100
	// calls bounds concurrent transactions (at most one per partition).
	calls = partitions
)

// Store is one table.
type Store struct {
	client *aztables.Client
}

var _ store.Store = (*Store)(nil)

// New returns the store for the table client addresses.
func New(client *aztables.Client) *Store {
	return &Store{client: client}
}

// PartitionKey is the partition of the row for message id.
func PartitionKey(id string) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	return fmt.Sprintf("%02d", h.Sum32()%partitions)
}

// Entity is a stored row as the service returns it.
type Entity struct {
	PartitionKey string
	RowKey       string
	Msg          string  `json:"msg"`
	SrcStamp     string  `json:"srcStamp"`
	DestStamp    string  `json:"destStamp"`
	LatencyMs    float64 `json:"latencyMs"`
}

// Put implements store.Store: one upsert per lone row, otherwise one
// insert-or-replace transaction per partition and chunk of 100.
func (s *Store) Put(ctx context.Context, recs []message.Record) []error {
	errs := make([]error, len(recs))
	groups := group(recs)
	_ = fanout.Each(len(groups), calls, func(g int) error {
		idx := groups[g]
		err := s.write(ctx, recs, idx)
		for _, i := range idx {
			errs[i] = err
		}
		return err
	})
	return errs
}

// write stores recs[idx], which share one partition.
func (s *Store) write(ctx context.Context, recs []message.Record, idx []int) error {
	pk := PartitionKey(recs[idx[0]].ID)
	if len(idx) == 1 {
		body, err := entity(recs[idx[0]])
		if err != nil {
			return err
		}
		if _, err := s.client.UpsertEntity(ctx, body, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace}); err != nil {
			return fmt.Errorf("table upsert in partition %s: %w", pk, err)
		}
		return nil
	}
	actions := make([]aztables.TransactionAction, len(idx))
	for j, i := range idx {
		body, err := entity(recs[i])
		if err != nil {
			return err
		}
		actions[j] = aztables.TransactionAction{ActionType: aztables.TransactionTypeInsertReplace, Entity: body}
	}
	if _, err := s.client.SubmitTransaction(ctx, actions, nil); err != nil {
		return fmt.Errorf("table transaction of %d rows in partition %s: %w", len(actions), pk, err)
	}
	return nil
}

// group returns the indexes of recs by partition, split into chunks that
// fit one transaction.
func group(recs []message.Record) [][]int {
	byPK := map[string][]int{}
	var order []string
	for i, r := range recs {
		pk := PartitionKey(r.ID)
		if _, ok := byPK[pk]; !ok {
			order = append(order, pk)
		}
		byPK[pk] = append(byPK[pk], i)
	}
	var groups [][]int
	for _, pk := range order {
		idx := byPK[pk]
		for start := 0; start < len(idx); start += maxTransaction {
			groups = append(groups, idx[start:min(start+maxTransaction, len(idx))])
		}
	}
	return groups
}

func entity(r message.Record) ([]byte, error) {
	body, err := json.Marshal(Entity{
		PartitionKey: PartitionKey(r.ID),
		RowKey:       r.ID,
		Msg:          string(r.Msg),
		SrcStamp:     r.SrcStamp.UTC().Format(time.RFC3339Nano),
		DestStamp:    r.DestStamp.UTC().Format(time.RFC3339Nano),
		LatencyMs:    float64(r.Latency().Microseconds()) / 1000,
	})
	if err != nil {
		return nil, fmt.Errorf("table row %s: %w", r.ID, err)
	}
	return body, nil
}
