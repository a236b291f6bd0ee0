package table

import (
	"fmt"
	"testing"

	"github.com/edw-project/edw/apps/internal/message"
)

func TestGroupSharesPartitionsAndFitsTransactions(t *testing.T) {
	recs := make([]message.Record, 3000)
	for i := range recs {
		recs[i].ID = fmt.Sprintf("msg-%d", i)
	}
	seen := map[int]bool{}
	for _, idx := range group(recs) {
		if len(idx) == 0 || len(idx) > maxTransaction {
			t.Fatalf("group of %d records, want 1..%d", len(idx), maxTransaction)
		}
		pk := PartitionKey(recs[idx[0]].ID)
		for _, i := range idx {
			if PartitionKey(recs[i].ID) != pk {
				t.Fatalf("group mixes partitions %s and %s", pk, PartitionKey(recs[i].ID))
			}
			if seen[i] {
				t.Fatalf("record %d in two groups", i)
			}
			seen[i] = true
		}
	}
	if len(seen) != len(recs) {
		t.Fatalf("%d of %d records grouped", len(seen), len(recs))
	}
}

func TestPartitionKeySpreadsIDs(t *testing.T) {
	counts := map[string]int{}
	for i := range 1600 {
		counts[PartitionKey(fmt.Sprintf("%08x-uuid", i*7919))]++
	}
	if len(counts) != partitions {
		t.Fatalf("%d partitions used, want %d", len(counts), partitions)
	}
	for pk, n := range counts {
		if n < 50 || n > 150 {
			t.Fatalf("partition %s has %d of 1600 ids, want about 100", pk, n)
		}
	}
}
