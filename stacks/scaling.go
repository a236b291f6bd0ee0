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
	// default CPU (edw:consumerCpu 250m) and a region's round trip
	// (docs/configuration.md#how-the-scaling-defaults-are-chosen).
	PerPod int
}

// scaleOuts are each cloud's figures.
var scaleOuts = map[string]scaleOut{
	"aws":   {NodeBoot: 45 * time.Second, PodStart: 5 * time.Second, PerPod: 500},
	"azure": {NodeBoot: 60 * time.Second, PodStart: 5 * time.Second, PerPod: 150},
}

// hpaTolerance is the HPA's: it leaves the replicas alone while the
// metric is within 10 % of the target times the replicas
// (kube-controller-manager --horizontal-pod-autoscaler-tolerance, the
// default on EKS and AKS). A backlog up to 1.1 targets keeps one pod.
const hpaTolerance = 0.1

// perPod is the consumer's throughput the target is derived from: the
// configured one, or the cloud's.
func (c *Config) perPod() int {
	if c.Consumer.MessagesPerSecond > 0 {
		return c.Consumer.MessagesPerSecond
	}
	return scaleOuts[c.Cloud].PerPod
}

// startup is the longest a backlog that finds no consumer waits before
// the last consumer it asks for drains: KEDA's poll that starts the
// first (pollingInterval), the HPA's sync that then asks for the rest
// (hpaPeriodSeconds), the HPA's ramp to kedaMaxReplicas (its scale-up
// policies allow so many more a period), a node's boot and a pod's start.
func (c *Config) startup() time.Duration {
	s := scaleOuts[c.Cloud]
	return time.Duration(c.Keda.PollingInterval+hpaPeriodSeconds*c.rampSteps())*time.Second + s.NodeBoot + s.PodStart
}

// rampSteps is how many HPA periods take the consumers from the one KEDA
// starts to kedaMaxReplicas: each period adds the larger of
// kedaScaleUpPods and kedaScaleUpPercent (horizontal.go,
// calculateScaleUpLimitWithScalingRules).
func (c *Config) rampSteps() int {
	steps := 0
	for n := 1; n < c.Keda.MaxReplicas; steps++ {
		n = max(n+c.Keda.ScaleUpPods, n*(100+c.Keda.ScaleUpPercent)/100)
	}
	return max(1, steps)
}

// queueLength is KEDA's target, messages per consumer pod: the one
// configured, or the one that drains any backlog of up to
// kedaMaxReplicas targets within the objective.
//
// A backlog of B messages that finds no consumer gets ceil(B / target)
// pods from the HPA (once B is more than 10 % over a multiple of the
// target), each draining at most target × 1.1 messages at perPod a
// second after the startup. Within the objective T, that is
//
//	target = perPod × (T − startup) / 1.1
//
// as long as the pods stay until the backlog is gone (scaleDownWindow).
// A larger target runs fewer pods longer: what a burst costs is about
// the same in pod-seconds, but fewer pods need fewer nodes, and every
// node Karpenter adds is billed from its boot to its consolidation. The
// samples' 2 or 5 messages a pod asked for a pod per handful of messages
// and a node per few pods, for backlogs one pod drains in seconds.
func (c *Config) queueLength() int {
	if c.Keda.QueueLength > 0 {
		return c.Keda.QueueLength
	}
	drain := time.Duration(c.Keda.DrainObjectiveSeconds)*time.Second - c.startup()
	return max(1, int(float64(c.perPod())*drain.Seconds()/(1+hpaTolerance)))
}

// scaleDownWindow is the HPA's scale-down stabilization. With a derived
// target it is at least the objective: the HPA asks for fewer pods as
// the backlog shrinks, and a pod removed while messages remain leaves the
// last of them to fewer pods, past the objective. With kedaMinReplicas 0
// that costs nothing once the queue is empty: KEDA then scales to zero
// after cooldownPeriod, whatever the HPA's window.
func (c *Config) scaleDownWindow() int {
	if c.Keda.QueueLength > 0 {
		return c.Keda.ScaleDownWindowSeconds
	}
	return max(c.Keda.ScaleDownWindowSeconds, c.Keda.DrainObjectiveSeconds)
}

// validateScaling checks the objective against the cloud's scale-out.
func (c *Config) validateScaling(bad func(key, format string, args ...any)) {
	if c.Consumer.MessagesPerSecond < 0 {
		bad("consumerMessagesPerSecond", "is %d: want a consumer pod's messages a second, or 0 for the cloud's figure", c.Consumer.MessagesPerSecond)
	}
	if c.Keda.QueueLength < 0 {
		bad("kedaQueueLength", "is %d: want 1 or more messages per pod, or 0 to derive it from edw:drainObjectiveSeconds", c.Keda.QueueLength)
	}
	if c.Keda.DrainObjectiveSeconds >= c.Alerts.BacklogAgeSeconds {
		bad("drainObjectiveSeconds", "is %d, not below edw:alertBacklogAgeSeconds %d: the backlog alert would fire on bursts that keep to the objective; lower it or raise the alert's",
			c.Keda.DrainObjectiveSeconds, c.Alerts.BacklogAgeSeconds)
	}
	if _, ok := scaleOuts[c.Cloud]; !ok || c.Keda.QueueLength > 0 || c.Keda.MaxReplicas < 1 || c.Keda.PollingInterval < 1 {
		return
	}
	if startup := int(c.startup().Seconds()); c.Keda.DrainObjectiveSeconds <= startup {
		bad("drainObjectiveSeconds", "is %d: a burst that finds no consumer waits up to %d s on %s before its last consumer drains (KEDA's poll, the HPA's ramp to edw:kedaMaxReplicas, a node's boot and a pod's start); "+
			"set it above %d, or set edw:kedaQueueLength yourself (with edw:kedaMinReplicas 1 for a consumer that is always up)",
			c.Keda.DrainObjectiveSeconds, startup, c.Cloud, startup)
	}
}

// scalingOutput is the stack output that shows the consumers' target and
// what it follows from.
func (c *Config) scalingOutput() pulumi.Map {
	out := pulumi.Map{
		"queueLength":            pulumi.Int(c.queueLength()),
		"derived":                pulumi.Bool(c.Keda.QueueLength == 0),
		"scaleDownWindowSeconds": pulumi.Int(c.scaleDownWindow()),
	}
	if c.Keda.QueueLength == 0 {
		out["drainObjectiveSeconds"] = pulumi.Int(c.Keda.DrainObjectiveSeconds)
		out["consumerMessagesPerSecond"] = pulumi.Int(c.perPod())
		out["startupSeconds"] = pulumi.Int(int(c.startup().Seconds()))
	}
	return out
}
