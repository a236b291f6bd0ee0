package scenario

import (
	"fmt"
	"io"
)

// Teardown is what destroying the stack under load did: the lab destroys
// it while consumers still run on Karpenter's nodes, as a user may.
type Teardown struct {
	// Messages were sent in the teardown burst; Pods and Nodes are the
	// consumers and Karpenter nodes running when the destroy began.
	Messages, Pods, Nodes int
	// Seconds the destroy took.
	Seconds float64
	// NodeClaimsLeft, NodesLeft and NamespaceLeft are what it left behind.
	NodeClaimsLeft, NodesLeft int
	NamespaceLeft             bool
	// Lost counts the burst's messages neither in the table nor still in
	// a queue; Queued are still in the queue (the queue outlives the
	// cluster's objects).
	Lost, Queued int
}

// Failures lists what went wrong, empty when the destroy left nothing and
// lost nothing.
func (t Teardown) Failures() []string {
	var f []string
	if t.Pods == 0 || t.Nodes == 0 {
		f = append(f, fmt.Sprintf("the destroy began with %d consumer pods on %d Karpenter nodes: want both above 0", t.Pods, t.Nodes))
	}
	if t.NodeClaimsLeft > 0 || t.NodesLeft > 0 {
		f = append(f, fmt.Sprintf("the destroy left %d NodeClaims and %d Karpenter nodes", t.NodeClaimsLeft, t.NodesLeft))
	}
	if t.NamespaceLeft {
		f = append(f, "the destroy left the workload's namespace")
	}
	if t.Lost > 0 {
		f = append(f, fmt.Sprintf("%d messages of the teardown burst lost", t.Lost))
	}
	return f
}

// Write prints the teardown as aligned lines.
func (t Teardown) Write(w io.Writer) {
	fmt.Fprintf(w, "teardown: %d messages, then pulumi destroy with %d consumer pods on %d Karpenter nodes\n", t.Messages, t.Pods, t.Nodes)
	fmt.Fprintf(w, "  %-28s %.0f s\n", "destroy", t.Seconds)
	fmt.Fprintf(w, "  %-28s %d NodeClaims, %d nodes, namespace %v\n", "left behind", t.NodeClaimsLeft, t.NodesLeft, t.NamespaceLeft)
	fmt.Fprintf(w, "  %-28s %d lost, %d still queued\n", "messages", t.Lost, t.Queued)
}
