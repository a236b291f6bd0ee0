// Package sqs implements queue.Queue on Amazon SQS (standard queues).
package sqs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/edw-project/edw/apps/internal/fanout"
	"github.com/edw-project/edw/apps/internal/queue"
)

const (
	// maxBatch is SQS's limit for ReceiveMessage, SendMessageBatch and
	// DeleteMessageBatch entries.
	maxBatch = 10
	// longPoll is SQS's maximum receive wait: fewer empty receives, and a
	// message is handed over as soon as it arrives.
	longPoll = 20 * time.Second
	// leaseCalls bounds concurrent ChangeMessageVisibility calls.
	leaseCalls = maxBatch
)

// Queue is one SQS queue.
type Queue struct {
	client *awssqs.Client
	url    string
}

var _ queue.Queue = (*Queue)(nil)

// New returns the queue at url.
func New(client *awssqs.Client, url string) *Queue {
	return &Queue{client: client, url: url}
}

// MaxSendBatch implements queue.Sender.
func (q *Queue) MaxSendBatch() int { return maxBatch }

// MaxReceiveBatch implements queue.Receiver.
func (q *Queue) MaxReceiveBatch() int { return maxBatch }

// Send implements queue.Sender with SendMessageBatch.
func (q *Queue) Send(ctx context.Context, bodies [][]byte) ([]int, error) {
	if len(bodies) > maxBatch {
		return nil, fmt.Errorf("sqs send: %d bodies, at most %d per call", len(bodies), maxBatch)
	}
	entries := make([]types.SendMessageBatchRequestEntry, len(bodies))
	for i, b := range bodies {
		entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(b))}
	}
	out, err := q.client.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: &q.url, Entries: entries})
	if err != nil {
		return nil, fmt.Errorf("sqs send: %w", err)
	}
	failed := make([]int, 0, len(out.Failed))
	for _, f := range out.Failed {
		i, err := strconv.Atoi(aws.ToString(f.Id))
		if err != nil || i < 0 || i >= len(bodies) {
			return nil, fmt.Errorf("sqs send: unknown entry id %q in the response", aws.ToString(f.Id))
		}
		failed = append(failed, i)
	}
	return failed, nil
}

// Receive implements queue.Receiver with a long-poll ReceiveMessage. Ending
// ctx cuts the poll short, so that shutdown does not wait for it; in the
// rare case SQS had just leased messages to the cut call, they return to the
// queue when their lease ends.
func (q *Queue) Receive(ctx context.Context, max int, lease time.Duration) ([]queue.Message, error) {
	out, err := q.client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
		QueueUrl:            &q.url,
		MaxNumberOfMessages: int32(min(max, maxBatch)),
		WaitTimeSeconds:     int32(longPoll / time.Second),
		VisibilityTimeout:   seconds(lease),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{
			types.MessageSystemAttributeNameApproximateReceiveCount, types.MessageSystemAttributeNameSentTimestamp,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("sqs receive: %w", err)
	}
	msgs := make([]queue.Message, len(out.Messages))
	for i, m := range out.Messages {
		n, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
		msgs[i] = queue.Message{
			ID:         aws.ToString(m.MessageId),
			Body:       []byte(aws.ToString(m.Body)),
			Deliveries: n,
			Receipt:    aws.ToString(m.ReceiptHandle),
		}
		// Epoch milliseconds; a queue that leaves it out leaves Enqueued zero.
		if ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
			msgs[i].Enqueued = time.UnixMilli(ms)
		}
	}
	return msgs, nil
}

// Delete implements queue.Receiver with DeleteMessageBatch.
func (q *Queue) Delete(ctx context.Context, msgs []queue.Message) error {
	var errs []error
	for start := 0; start < len(msgs); start += maxBatch {
		chunk := msgs[start:min(start+maxBatch, len(msgs))]
		entries := make([]types.DeleteMessageBatchRequestEntry, len(chunk))
		for i, m := range chunk {
			entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(m.Receipt)}
		}
		out, err := q.client.DeleteMessageBatch(ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: &q.url, Entries: entries})
		if err != nil {
			errs = append(errs, fmt.Errorf("sqs delete %d messages: %w", len(chunk), err))
			continue
		}
		for _, f := range out.Failed {
			errs = append(errs, fmt.Errorf("sqs delete entry %s: %s: %s", aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message)))
		}
	}
	return errors.Join(errs...)
}

// Extend implements queue.Receiver. It makes one ChangeMessageVisibility
// call per message: the batch form is missing from some SQS-compatible
// servers, and leases are extended only while the store is failing.
func (q *Queue) Extend(ctx context.Context, msgs []queue.Message, lease time.Duration) error {
	return q.setVisibility(ctx, msgs, lease)
}

// Release implements queue.Receiver.
func (q *Queue) Release(ctx context.Context, msgs []queue.Message) error {
	return q.setVisibility(ctx, msgs, 0)
}

// SetAside implements queue.Receiver. SQS moves a message to the
// dead-letter queue itself once its receive count passes the redrive
// policy's maxReceiveCount, and the consumer holds no send right on the
// dead-letter queue, so the message is left where it is.
func (q *Queue) SetAside(context.Context, queue.Message) (queue.Disposal, error) {
	return queue.LeftForRedrive, nil
}

func (q *Queue) setVisibility(ctx context.Context, msgs []queue.Message, d time.Duration) error {
	return fanout.Each(len(msgs), leaseCalls, func(i int) error {
		_, err := q.client.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{
			QueueUrl:          &q.url,
			ReceiptHandle:     aws.String(msgs[i].Receipt),
			VisibilityTimeout: seconds(d),
		})
		if err != nil {
			return fmt.Errorf("sqs change visibility of %s to %v: %w", msgs[i].ID, d, err)
		}
		return nil
	})
}

func seconds(d time.Duration) int32 {
	return int32(d.Round(time.Second) / time.Second)
}
