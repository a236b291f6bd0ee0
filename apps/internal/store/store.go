// Package store is the contract between the consumer and the table it
// writes. The dynamodb and table packages implement it; storetest holds the
// suite every implementation must pass.
package store

import (
	"context"

	"github.com/edw-project/edw/apps/internal/message"
)

// Store writes records keyed by their message id.
type Store interface {
	// Put writes recs, whose ids must be distinct. Writing a record whose
	// id is already stored replaces that row, so redelivery is harmless.
	// It returns one error per record: nil means that record is durable.
	Put(ctx context.Context, recs []message.Record) []error
}

// Fail returns n copies of err, for a Put that failed as a whole.
func Fail(n int, err error) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}
