package kubelet

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/edw-project/edw/lab/internal/prometheus"
)

// helperEnv makes the test binary act as a consumer: it serves a processed
// count of 7 and exits 0 on SIGTERM, or crashes at once when asked.
const helperEnv = "EDW_KUBELET_TEST_CONSUMER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "serve":
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		http.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, "# TYPE %s counter\n%[1]s 7\n", processedMetric)
		})
		go func() { _ = http.ListenAndServe(os.Getenv("EDW_HTTP_ADDR"), nil) }()
		<-term
		os.Exit(0)
	case "crash":
		os.Exit(3)
	}
	os.Exit(m.Run())
}

func pod(name, mode string) *corev1.Pod {
	grace := int64(5)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "edw", UID: types.UID("uid-" + name), Labels: map[string]string{"app": "consumer"}},
		Spec: corev1.PodSpec{
			NodeName:                      "node-1",
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{
				Name: "consumer",
				Env:  []corev1.EnvVar{{Name: helperEnv, Value: mode}},
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("250m"),
				}},
			}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
}

func start(t *testing.T, objs ...*corev1.Pod) (*Kubelet, *fake.Clientset) {
	t.Helper()
	return startWith(t, "", objs...)
}

// startWith runs a kubelet that keeps targetsFile ("" for none).
func startWith(t *testing.T, targetsFile string, objs ...*corev1.Pod) (*Kubelet, *fake.Clientset) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	k := New(Options{
		Namespace: "edw", Selector: "app=consumer", Binary: self, LogDir: t.TempDir(), CgroupName: "edw-kubelet-test",
		Env: func(container []string, addr string) []string {
			return append(container, "EDW_HTTP_ADDR="+addr)
		},
		TargetsFile: targetsFile,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	client := fake.NewClientset()
	for _, p := range objs {
		if _, err := client.CoreV1().Pods("edw").Create(t.Context(), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { k.Run(ctx, client); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return k, client
}

func processes(k *Kubelet) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.procs)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return cond(), nil
	}); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestRunningPodsGetAProcessThatStopsWhenThePodGoes(t *testing.T) {
	pending := pod("pending", "serve")
	pending.Status.Phase = corev1.PodPending
	k, client := start(t, pod("a", "serve"), pod("b", "serve"), pending)

	eventually(t, "a process for each Running pod", func() bool { return processes(k) == 2 })
	eventually(t, "their counts scraped", func() bool { return k.Processed() == 14 })
	if k.cgroupRoot != "" {
		file := "cpu.cfs_quota_us"
		if k.cgroupV2 {
			file = "cpu.max"
		}
		quota, err := os.ReadFile(filepath.Join(k.cgroupRoot, "a", file))
		if err != nil || !strings.HasPrefix(string(quota), "25000") {
			t.Errorf("pod a's CPU quota %q (%v), want 25000 of 100000 µs: its 250m limit", quota, err)
		}
	}

	if err := client.CoreV1().Pods("edw").Delete(t.Context(), "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deleted pod's process gone", func() bool { return processes(k) == 1 })
	if got := k.Processed(); got != 14 {
		t.Errorf("processed %v after a stop, want the stopped process's 7 kept: 14", got)
	}
	s := k.Stats()
	if s.Started != 2 || s.Crashed != 0 || s.Killed != 0 {
		t.Errorf("stats %+v, want 2 started, none crashed or killed", s)
	}
}

func TestACrashedProcessIsCountedAndRestarted(t *testing.T) {
	k, _ := start(t, pod("c", "crash"))
	eventually(t, "two crashes", func() bool { return k.Stats().Crashed >= 2 })
	if s := k.Stats(); s.Started < 2 {
		t.Errorf("stats %+v: a crashed process must be started again", s)
	}
}

func TestEnvFromAnotherSourceIsRefused(t *testing.T) {
	p := pod("d", "serve")
	p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env, corev1.EnvVar{Name: "SECRET", ValueFrom: &corev1.EnvVarSource{}})
	k, _ := start(t, p)
	time.Sleep(500 * time.Millisecond)
	if n := processes(k); n != 0 {
		t.Errorf("%d processes for a pod whose env the lab cannot resolve", n)
	}
}

func TestTheTargetsFileListsTheScrapedPodsProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "targets.json")
	scraped := func(p *corev1.Pod, path string) *corev1.Pod {
		p.Annotations = map[string]string{"prometheus.io/scrape": "true"}
		if path != "" {
			p.Annotations["prometheus.io/path"] = path
		}
		return p
	}
	b := scraped(pod("b", "serve"), "/stats")
	b.Spec.NodeName = "node-2"
	k, client := startWith(t, path, scraped(pod("a", "serve"), ""), b, pod("unannotated", "serve"))
	read := func() string {
		got, err := os.ReadFile(path)
		if err != nil {
			return err.Error()
		}
		var groups []prometheus.TargetGroup
		if err := json.Unmarshal(got, &groups); err != nil {
			t.Fatalf("targets file %q: %v", got, err)
		}
		return fmt.Sprint(groups)
	}
	eventually(t, "three processes", func() bool { return processes(k) == 3 })
	ports := map[string]int{}
	k.mu.Lock()
	for _, p := range k.procs {
		ports[p.pod] = p.port
	}
	k.mu.Unlock()
	// As Kubernetes discovery labels a pod, with the process's address.
	labels := func(name, node, path string, port int) string {
		s := "__meta_kubernetes_namespace:edw"
		if path != "" {
			s += " __meta_kubernetes_pod_annotation_prometheus_io_path:" + path
		}
		s += fmt.Sprintf(" __meta_kubernetes_pod_annotation_prometheus_io_port:%d __meta_kubernetes_pod_annotation_prometheus_io_scrape:true", port)
		s += fmt.Sprintf(" __meta_kubernetes_pod_ip:127.0.0.1 __meta_kubernetes_pod_name:%s __meta_kubernetes_pod_node_name:%s", name, node)
		return fmt.Sprintf("{[127.0.0.1:%d] map[%s]}", port, s)
	}
	want := "[" + labels("a", "node-1", "", ports["a"]) + " " + labels("b", "node-2", "/stats", ports["b"]) + "]"
	eventually(t, "the two annotated pods listed", func() bool { return read() == want })

	if err := client.CoreV1().Pods("edw").Delete(t.Context(), "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want = "[" + labels("b", "node-2", "/stats", ports["b"]) + "]"
	eventually(t, "the deleted pod's process unlisted once it exits", func() bool { return read() == want })
}
