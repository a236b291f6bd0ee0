package memqueue

import (
	"testing"

	"github.com/edw-project/edw/apps/internal/queue"
	"github.com/edw-project/edw/apps/internal/queue/queuetest"
)

func TestConformance(t *testing.T) {
	queuetest.Run(t, func(*testing.T) queue.Queue { return New() })
}
