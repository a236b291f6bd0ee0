package stacks

import (
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// scaleOut is what a cloud takes to start a consumer where none runs, and
// what one consumer pod drains: the inputs of the scaler's target.
type scaleOut struct {
	// NodeBoot is a Karpenter node's launch, boot and join, until pods
	// run on it; PodStart a consumer pod's image pull and start. The lab
	// models the same (lab/cmd/lab: -node-startup, -pod-startup), and a
	// test holds the two together: instances boot and join in 40-90 s in
	// either cloud, AKS's VMs the slower.
	NodeBoot, PodStart time.Duration
	// PerPod is a consumer pod's sustained messages a second at its
	// default CPU (edw:consumerCpu 250m) and a region's round trip, half
	// of what the lab measured (docs/lab.md#how-the-target-is-chosen):
	// the margin is for a cloud's TLS and request signing, which the
	// lab's emulators on loopback do not cost.
	PerPod int
}

// Startup is the wait before a consumer drains, when a burst finds none
// running and no node with room.
func (s scaleOut) Startup() time.Duration { return s.NodeBoot + s.PodStart }

// scaleOuts are each cloud's figures.
var scaleOuts = map[string]scaleOut{
	"aws":   {NodeBoot: 45 * time.Second, PodStart: 5 * time.Second, PerPod: 500},
	"azure": {NodeBoot: 60 * time.Second, PodStart: 5 * time.Second, PerPod: 150},
}

// perPod is the consumer's throughput the target is derived from: the
// configured one, or the cloud's.
func (c *Config) perPod() int {
	if c.Consumer.MessagesPerSecond > 0 {
		return c.Consumer.MessagesPerSecond
	}
	return scaleOuts[c.Cloud].PerPod
}

// queueLength is KEDA's target, messages per consumer pod: the one
// configured, or the one that drains any backlog within the objective.
//
// A backlog of B messages that finds no consumer gets ceil(B / target)
// pods from the HPA, each draining at most target messages at perPod a
// second, so it is gone after startup + target / perPod. Within the
// objective T, that is
//
//	target = perPod × (T − startup)
//
// A larger target runs fewer pods longer: what a burst costs is about the
// same in pod-seconds, but fewer pods need fewer nodes, and every node
// Karpenter adds is billed from its boot to its consolidation, most of it
// after the drain. The samples' 2 or 5 messages a pod asked for a pod per
// handful of messages and a node per few pods, for backlogs one pod
// drains in seconds.
func (c *Config) queueLength() int {
	if c.Keda.QueueLength > 0 {
		return c.Keda.QueueLength
	}
	s := scaleOuts[c.Cloud]
	drain := time.Duration(c.Keda.DrainObjectiveSeconds)*time.Second - s.Startup()
	return max(1, c.perPod()*int(drain.Seconds()))
}

// validateScaling checks the objective against the cloud's scale-out.
func (c *Config) validateScaling(bad func(key, format string, args ...any)) {
	if c.Consumer.MessagesPerSecond < 0 {
		bad("consumerMessagesPerSecond", "is %d: want a consumer pod's messages a second, or 0 for the cloud's measured figure", c.Consumer.MessagesPerSecond)
	}
	if c.Keda.QueueLength < 0 {
		bad("kedaQueueLength", "is %d: want 1 or more messages per pod, or 0 to derive it from edw:drainObjectiveSeconds", c.Keda.QueueLength)
	}
	s, ok := scaleOuts[c.Cloud]
	if !ok || c.Keda.QueueLength > 0 {
		return
	}
	if startup := int(s.Startup().Seconds()); c.Keda.DrainObjectiveSeconds <= startup {
		bad("drainObjectiveSeconds", "is %d: a burst that finds no consumer waits about %d s on %s for a node's boot and a pod's start before anything drains; "+
			"set it above %d, or set edw:kedaQueueLength yourself (with edw:kedaMinReplicas 1 for a consumer that is always up)",
			c.Keda.DrainObjectiveSeconds, startup, c.Cloud, startup)
	}
}

// scalingOutput is the stack output that shows the consumers' target and
// what it follows from.
func (c *Config) scalingOutput() pulumi.Map {
	return pulumi.Map{
		"queueLength":               pulumi.Int(c.queueLength()),
		"derived":                   pulumi.Bool(c.Keda.QueueLength == 0),
		"drainObjectiveSeconds":     pulumi.Int(c.Keda.DrainObjectiveSeconds),
		"consumerMessagesPerSecond": pulumi.Int(c.perPod()),
		"startupSeconds":            pulumi.Int(int(scaleOuts[c.Cloud].Startup().Seconds())),
	}
}
