// Package kubelet backs the consumer pods that kwok reports Running with real
// consumer processes, and stops them the way a kubelet stops a container:
// SIGTERM when the pod is deleted, SIGKILL when its grace period runs out.
// So scale-out adds real consumers and scale-in exercises their shutdown.
package kubelet

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/edw-project/edw/lab/internal/prometheus"
)

const (
	// firstPort is where the processes' HTTP ports (probes, metrics) start.
	firstPort = 20000
	// processedMetric counts messages written and deleted by one consumer.
	processedMetric = "edw_consumer_messages_processed_total"
	// restartDelay is how long a crashed process waits to be started again.
	restartDelay = time.Second
	// defaultGrace is Kubernetes' default termination grace period, for pods
	// that set none and for the processes still running when the lab ends.
	defaultGrace = 30 * time.Second
	// The annotations the stacks' scrapers select pods and paths by.
	scrapeAnnotation = "prometheus.io/scrape"
	portAnnotation   = "prometheus.io/port"
)

// Options configure a Kubelet.
type Options struct {
	// Namespace and Selector choose the pods to back.
	Namespace, Selector string
	// Binary is the consumer program.
	Binary string
	// Env returns the environment of the process that backs a pod whose
	// container has env and that serves HTTP on addr.
	Env func(container []string, addr string) []string
	// LogDir gets one log per pod.
	LogDir string
	// CgroupName names the cgroup that holds the pods' CPU limits.
	CgroupName string
	// Startup is how long after a pod starts its process does: the image
	// pull and container start of a real node.
	Startup time.Duration
	// TargetsFile, when set, is kept listing the processes of the pods
	// annotated for scraping, for Prometheus: each process's address with
	// the pod's namespace, name and node, as the stacks' scrapers label
	// them. A process stays listed until it exits, so that its last counts
	// are scraped while it shuts down.
	TargetsFile string
}

// Kubelet backs pods with processes.
type Kubelet struct {
	opts       Options
	log        *slog.Logger
	cgroupRoot string
	cgroupV2   bool
	client     *http.Client

	pods cache.Store

	mu    sync.Mutex
	procs map[types.UID]*process
	// targetsMu orders the rewrites of the targets file, so that the last
	// one written holds the latest processes.
	targetsMu sync.Mutex
	// starting are the pods whose process is due or being started.
	starting map[types.UID]bool
	nextPort int
	// processed sums the last count of every process that has ended.
	processed float64
	stats     Stats
}

// Stats describe the processes a run started.
type Stats struct {
	// Started counts processes started, restarts included.
	Started int
	// Crashed counts processes that exited non-zero on their own.
	Crashed int
	// Killed counts processes that outlived their grace period.
	Killed int
	// MaxStop is the longest time from SIGTERM to exit.
	MaxStop time.Duration
}

type process struct {
	pod     string
	target  *prometheus.TargetGroup
	cmd     *exec.Cmd
	port    int
	done    chan struct{}
	stopped bool
	last    float64
	group   *cpuGroup
}

// New returns a kubelet; Run starts it.
func New(opts Options, log *slog.Logger) *Kubelet {
	return &Kubelet{opts: opts, log: log, procs: map[types.UID]*process{}, starting: map[types.UID]bool{}, nextPort: firstPort,
		client: &http.Client{Timeout: 2 * time.Second}}
}

// Run watches pods until ctx ends, then stops every process it started.
func (k *Kubelet) Run(ctx context.Context, client kubernetes.Interface) {
	// Made here, not in New: a Run removes it at its end, and a later Run
	// (the lab's teardown) needs it again.
	k.cgroupRoot, k.cgroupV2 = cgroupRoot(k.opts.CgroupName)
	if k.cgroupRoot == "" {
		k.log.Warn("no writable CPU cgroup: consumer processes run without their pods' CPU limits")
	}
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(k.opts.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = k.opts.Selector }))
	inf := factory.Core().V1().Pods().Informer()
	k.pods = inf.GetStore()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { k.sync(o) },
		UpdateFunc: func(_, o any) { k.sync(o) },
		DeleteFunc: func(o any) {
			if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = t.Obj
			}
			if pod, ok := o.(*corev1.Pod); ok {
				// Not in the handler: a stop takes up to the grace period,
				// and other pods' events must not wait for it.
				go k.stop(pod.UID, grace(pod))
			}
		},
	})
	factory.Start(ctx.Done())
	go k.scrape(ctx)
	<-ctx.Done()
	factory.Shutdown()
	k.mu.Lock()
	uids := make([]types.UID, 0, len(k.procs))
	for uid := range k.procs {
		uids = append(uids, uid)
	}
	k.mu.Unlock()
	var wg sync.WaitGroup
	for _, uid := range uids {
		wg.Go(func() { k.stop(uid, defaultGrace) })
	}
	wg.Wait()
	if k.cgroupRoot != "" {
		_ = os.Remove(k.cgroupRoot)
	}
}

func (k *Kubelet) sync(o any) {
	pod, ok := o.(*corev1.Pod)
	if !ok {
		return
	}
	if pod.DeletionTimestamp != nil {
		go k.stop(pod.UID, grace(pod))
		return
	}
	if pod.Status.Phase != corev1.PodRunning || pod.Spec.NodeName == "" {
		return
	}
	k.mu.Lock()
	_, running := k.procs[pod.UID]
	if running || k.starting[pod.UID] {
		k.mu.Unlock()
		return
	}
	k.starting[pod.UID] = true
	k.mu.Unlock()
	started := pod.CreationTimestamp.Time
	if pod.Status.StartTime != nil {
		started = pod.Status.StartTime.Time
	}
	time.AfterFunc(max(time.Until(started.Add(k.opts.Startup)), 0), func() {
		defer func() {
			k.mu.Lock()
			delete(k.starting, pod.UID)
			k.mu.Unlock()
		}()
		// The pod may have gone while its image was "pulling".
		if o, ok, _ := k.pods.Get(pod); !ok || o.(*corev1.Pod).DeletionTimestamp != nil {
			return
		}
		if err := k.start(pod); err != nil {
			k.log.Error("backing a pod with a process", "pod", pod.Name, "err", err)
			return
		}
		k.writeTargets()
	})
}

// Backs reports whether a process runs for the pod uid.
func (k *Kubelet) Backs(uid types.UID) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	p, ok := k.procs[uid]
	return ok && !p.stopped
}

func (k *Kubelet) start(pod *corev1.Pod) error {
	if len(pod.Spec.Containers) != 1 {
		return fmt.Errorf("pod %s has %d containers; the lab backs one", pod.Name, len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	var env []string
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			return fmt.Errorf("pod %s: env %s comes from %v, which the lab does not resolve", pod.Name, e.Name, e.ValueFrom)
		}
		env = append(env, e.Name+"="+e.Value)
	}
	var group *cpuGroup
	if limit := c.Resources.Limits.Cpu(); k.cgroupRoot != "" && !limit.IsZero() {
		g, err := newCPUGroup(k.cgroupRoot, k.cgroupV2, pod.Name, limit.MilliValue())
		if err != nil {
			return err
		}
		group = g
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	if _, running := k.procs[pod.UID]; running {
		return nil
	}
	port := k.nextPort
	k.nextPort++
	logFile, err := os.OpenFile(filepath.Join(k.opts.LogDir, pod.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(k.opts.Binary)
	cmd.Env = k.opts.Env(env, "127.0.0.1:"+strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return err
	}
	if group != nil {
		if err := group.add(cmd.Process.Pid); err != nil {
			k.log.Warn("cpu limit not applied", "pod", pod.Name, "err", err)
		}
	}
	p := &process{pod: pod.Name, target: target(pod, port), cmd: cmd, port: port, done: make(chan struct{}), group: group}
	k.procs[pod.UID] = p
	k.stats.Started++
	go k.wait(pod, p, logFile)
	return nil
}

// wait reaps p; a process that ended on its own is counted as a crash and
// started again, as restartPolicy Always would.
func (k *Kubelet) wait(pod *corev1.Pod, p *process, logFile *os.File) {
	err := p.cmd.Wait()
	logFile.Close()
	if p.group != nil {
		p.group.remove()
	}
	k.mu.Lock()
	stopped := p.stopped
	k.processed += p.last
	delete(k.procs, pod.UID)
	if !stopped {
		k.stats.Crashed++
	}
	k.mu.Unlock()
	k.writeTargets()
	close(p.done)
	if !stopped {
		k.log.Warn("consumer process ended on its own; restarting", "pod", p.pod, "err", err)
		time.Sleep(restartDelay)
		if current, exists, _ := k.pods.Get(pod); exists {
			k.sync(current)
		}
	}
}

// stop sends SIGTERM to the process backing uid and SIGKILL after grace.
func (k *Kubelet) stop(uid types.UID, grace time.Duration) {
	k.mu.Lock()
	p, ok := k.procs[uid]
	if !ok || p.stopped {
		k.mu.Unlock()
		return
	}
	p.stopped = true
	k.mu.Unlock()

	// Last count before it stops; what it processes while stopping shows in
	// the table, not in the timeline's running total.
	k.scrapeOne(p)
	start := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		k.mu.Lock()
		k.stats.Killed++
		k.mu.Unlock()
	}
	k.mu.Lock()
	k.stats.MaxStop = max(k.stats.MaxStop, time.Since(start))
	k.mu.Unlock()
}

// Processed is the running total of messages processed by every process.
func (k *Kubelet) Processed() float64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	total := k.processed
	for _, p := range k.procs {
		total += p.last
	}
	return total
}

// Stats returns the counts so far.
func (k *Kubelet) Stats() Stats {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.stats
}

func (k *Kubelet) scrape(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		k.mu.Lock()
		procs := make([]*process, 0, len(k.procs))
		for _, p := range k.procs {
			if !p.stopped {
				procs = append(procs, p)
			}
		}
		k.mu.Unlock()
		for _, p := range procs {
			k.scrapeOne(p)
		}
	}
}

func (k *Kubelet) scrapeOne(p *process) {
	resp, err := k.client.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", p.port))
	if err != nil {
		return // not serving yet, or gone
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), processedMetric+" "); ok {
			if n, err := strconv.ParseFloat(v, 64); err == nil {
				k.mu.Lock()
				p.last = n
				k.mu.Unlock()
			}
			return
		}
	}
}

// writeTargets rewrites Options.TargetsFile with the processes running now.
func (k *Kubelet) writeTargets() {
	if k.opts.TargetsFile == "" {
		return
	}
	k.targetsMu.Lock()
	defer k.targetsMu.Unlock()
	k.mu.Lock()
	var groups []prometheus.TargetGroup
	for _, p := range k.procs {
		if p.target != nil {
			groups = append(groups, *p.target)
		}
	}
	k.mu.Unlock()
	slices.SortFunc(groups, func(a, b prometheus.TargetGroup) int {
		return strings.Compare(a.Labels[podNameLabel], b.Labels[podNameLabel])
	})
	if err := prometheus.WriteTargets(k.opts.TargetsFile, groups); err != nil {
		k.log.Warn("the consumers' scrape targets are out of date", "err", err)
	}
}

// Prometheus' Kubernetes discovery labels of a pod (role pod), which the
// stacks' scrape jobs relabel (prometheus.io docs, kubernetes_sd_config).
const (
	podNameLabel    = "__meta_kubernetes_pod_name"
	annotationLabel = "__meta_kubernetes_pod_annotation_"
)

// labelUnsafe are the characters discovery turns into _ in label names.
var labelUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// target is what Prometheus' Kubernetes discovery would list for pod's
// process, nil for a pod that does not ask to be scraped: its namespace,
// name, node, address and annotations as discovery labels, which the
// stack's own relabelling turns into the series' labels. The process is
// the pod's container, so the pod's address is the loopback and its
// annotated port the process's.
func target(pod *corev1.Pod, port int) *prometheus.TargetGroup {
	if pod.Annotations[scrapeAnnotation] != "true" {
		return nil
	}
	labels := map[string]string{
		"__meta_kubernetes_namespace": pod.Namespace, podNameLabel: pod.Name,
		"__meta_kubernetes_pod_node_name": pod.Spec.NodeName, "__meta_kubernetes_pod_ip": "127.0.0.1",
	}
	for k, v := range pod.Annotations {
		labels[annotationLabel+labelUnsafe.ReplaceAllString(k, "_")] = v
	}
	labels[annotationLabel+labelUnsafe.ReplaceAllString(portAnnotation, "_")] = strconv.Itoa(port)
	return &prometheus.TargetGroup{Targets: []string{"127.0.0.1:" + strconv.Itoa(port)}, Labels: labels}
}

func grace(pod *corev1.Pod) time.Duration {
	if pod.DeletionGracePeriodSeconds != nil {
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return defaultGrace
}
