// Package fanout runs independent calls concurrently, for APIs that have no
// batch form (Storage Queue deletes, per-partition table transactions).
package fanout

import (
	"errors"
	"sync"
)

// Each calls fn(i) for every i in [0, n), at most limit at a time, and
// returns the errors joined.
func Each(n, limit int, fn func(i int) error) error {
	errs := make([]error, n)
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
