// Package boot stands in for the time a cloud takes to boot a node. kwok's
// nodes are Ready within a second of their NodeClaim; an EC2 instance or an
// Azure VM takes tens of seconds to boot and join. The lab's NodePools give
// every node a startup taint (Taint), which Karpenter puts on the node and
// expects something on the node to remove once it is up; this controller
// removes it a boot time after the node was created. Until then no pod
// schedules there, and Karpenter counts the node as on its way, so it
// launches no other for the same pods.
package boot

import (
	"context"
	"log/slog"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Taint is the startup taint of the lab's nodes.
const Taint = "edw.dev/booting"

// booted reports whether node has finished booting: no startup taint.
func booted(node *corev1.Node) bool {
	return !slices.ContainsFunc(node.Spec.Taints, func(t corev1.Taint) bool { return t.Key == Taint })
}

// Run removes the taint from each Karpenter node boot after its creation,
// until ctx ends.
func Run(ctx context.Context, client kubernetes.Interface, boot time.Duration, log *slog.Logger) {
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = "karpenter.sh/nodepool" }))
	inf := factory.Core().V1().Nodes().Informer()
	scheduled := map[string]bool{}
	handle := func(o any) {
		node, ok := o.(*corev1.Node)
		if !ok || booted(node) || scheduled[node.Name] {
			return
		}
		scheduled[node.Name] = true
		wait := time.Until(node.CreationTimestamp.Add(boot))
		time.AfterFunc(max(wait, 0), func() {
			if err := untaint(ctx, client, node.Name); err != nil && ctx.Err() == nil {
				log.Warn("booting a node", "node", node.Name, "err", err)
			}
		})
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: handle, UpdateFunc: func(_, o any) { handle(o) }})
	factory.Start(ctx.Done())
	<-ctx.Done()
	factory.Shutdown()
}

// untaint removes the startup taint, retrying on a conflicting update.
func untaint(ctx context.Context, client kubernetes.Interface, name string) error {
	for {
		node, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		node.Spec.Taints = slices.DeleteFunc(node.Spec.Taints, func(t corev1.Taint) bool { return t.Key == Taint })
		_, err = client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
		if err == nil || !apierrors.IsConflict(err) {
			return err
		}
	}
}
