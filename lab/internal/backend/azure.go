package backend

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

type azureBackend struct {
	work, poison *azqueue.QueueClient
	table        *aztables.Client
	connStr      string
}

func newAzure(env, emulators map[string]string) (*azureBackend, error) {
	if err := required(env, "AZURE_QUEUE_NAME", "AZURE_POISON_QUEUE_NAME", "AZURE_TABLE_NAME"); err != nil {
		return nil, err
	}
	if err := required(emulators, "AZURE_STORAGE_CONNECTION_STRING"); err != nil {
		return nil, err
	}
	connStr := emulators["AZURE_STORAGE_CONNECTION_STRING"]
	queues, err := azqueue.NewServiceClientFromConnectionString(connStr, nil)
	if err != nil {
		return nil, err
	}
	tables, err := aztables.NewServiceClientFromConnectionString(connStr, nil)
	if err != nil {
		return nil, err
	}
	return &azureBackend{
		work:    queues.NewQueueClient(env["AZURE_QUEUE_NAME"]),
		poison:  queues.NewQueueClient(env["AZURE_POISON_QUEUE_NAME"]),
		table:   tables.NewClient(env["AZURE_TABLE_NAME"]),
		connStr: connStr,
	}, nil
}

// Prepare mirrors the stack: the work queue, its poison queue and the table.
func (b *azureBackend) Prepare(ctx context.Context) error {
	for _, q := range []*azqueue.QueueClient{b.work, b.poison} {
		if _, err := q.Create(ctx, nil); err != nil {
			return fmt.Errorf("queue %s: %w", q.URL(), err)
		}
	}
	if _, err := b.table.CreateTable(ctx, nil); err != nil {
		return fmt.Errorf("table: %w", err)
	}
	return nil
}

func (b *azureBackend) Depth(ctx context.Context) (int, error) { return count(ctx, b.work) }

func (b *azureBackend) SetAside(ctx context.Context) (int, error) { return count(ctx, b.poison) }

func count(ctx context.Context, q *azqueue.QueueClient) (int, error) {
	out, err := q.GetProperties(ctx, nil)
	if err != nil {
		return 0, err
	}
	return int(*out.ApproximateMessagesCount), nil
}

func (b *azureBackend) Rows(ctx context.Context) (Rows, error) {
	rows := newRows()
	// The consumer's property names (apps/internal/store/table).
	sel := "RowKey,srcStamp,destStamp"
	p := b.table.NewListEntitiesPager(&aztables.ListEntitiesOptions{Select: &sel})
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return Rows{}, fmt.Errorf("list entities: %w", err)
		}
		for _, raw := range page.Entities {
			var e struct{ RowKey, SrcStamp, DestStamp string }
			if err := json.Unmarshal(raw, &e); err != nil {
				return Rows{}, fmt.Errorf("entity %s: %w", raw, err)
			}
			rows.add(e.RowKey, e.SrcStamp, e.DestStamp)
		}
	}
	return rows, nil
}

func (b *azureBackend) Env() []string {
	return []string{"AZURE_STORAGE_CONNECTION_STRING=" + b.connStr}
}

func (b *azureBackend) QueueURL() string { return "" }

func (b *azureBackend) Send(ctx context.Context, bodies []string) error {
	for _, body := range bodies {
		if _, err := b.work.EnqueueMessage(ctx, body, nil); err != nil {
			return fmt.Errorf("send to %s: %w", b.work.URL(), err)
		}
	}
	return nil
}
