// Package k8s holds CHKV's Kubernetes manifests (chkv.yaml) and their
// offline checks: strict decoding into the Kubernetes API types, the
// references between the objects, and every flag against the binaries.
// It is a module of its own so that the Kubernetes API types are not a
// dependency of CHKV.
package k8s

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// manifests is chkv.yaml, decoded.
type manifests struct {
	services     map[string]*corev1.Service
	deployments  map[string]*appsv1.Deployment
	statefulSets map[string]*appsv1.StatefulSet
	budgets      map[string]*policyv1.PodDisruptionBudget
}

// load decodes every document of path strictly: an unknown or misspelt
// field fails, as does a kind the checks do not know.
func load(t *testing.T, path string) *manifests {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := &manifests{
		services: map[string]*corev1.Service{}, deployments: map[string]*appsv1.Deployment{},
		statefulSets: map[string]*appsv1.StatefulSet{}, budgets: map[string]*policyv1.PodDisruptionBudget{},
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(f))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatal(err)
		}
		if tm.Kind == "" {
			continue // comments only
		}
		var obj interface{ GetName() string }
		switch tm.APIVersion + "/" + tm.Kind {
		case "v1/Service":
			obj = &corev1.Service{}
		case "apps/v1/Deployment":
			obj = &appsv1.Deployment{}
		case "apps/v1/StatefulSet":
			obj = &appsv1.StatefulSet{}
		case "policy/v1/PodDisruptionBudget":
			obj = &policyv1.PodDisruptionBudget{}
		default:
			t.Fatalf("%s: unexpected %s %s", path, tm.APIVersion, tm.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Fatalf("%s %s: %v", tm.Kind, tm.APIVersion, err)
		}
		name := obj.GetName()
		if name == "" {
			t.Fatalf("a %s without a name", tm.Kind)
		}
		switch o := obj.(type) {
		case *corev1.Service:
			m.services[name] = o
		case *appsv1.Deployment:
			m.deployments[name] = o
		case *appsv1.StatefulSet:
			m.statefulSets[name] = o
		case *policyv1.PodDisruptionBudget:
			m.budgets[name] = o
		}
	}
	return m
}

// workload is a pod template and the selector of its controller.
type workload struct {
	name     string
	replicas int32
	selector *metav1.LabelSelector
	pod      *corev1.PodTemplateSpec
}

func (m *manifests) workloads() []workload {
	var out []workload
	for n, d := range m.deployments {
		out = append(out, workload{n, *d.Spec.Replicas, d.Spec.Selector, &d.Spec.Template})
	}
	for n, s := range m.statefulSets {
		out = append(out, workload{n, *s.Spec.Replicas, s.Spec.Selector, &s.Spec.Template})
	}
	slices.SortFunc(out, func(a, b workload) int { return strings.Compare(a.name, b.name) })
	return out
}

// selecting returns the workloads whose pods sel matches.
func (m *manifests) selecting(t *testing.T, sel labels.Selector) []workload {
	var out []workload
	for _, w := range m.workloads() {
		if sel.Matches(labels.Set(w.pod.Labels)) {
			out = append(out, w)
		}
	}
	return out
}

func TestManifestsDecodeAndReferToEachOther(t *testing.T) {
	m := load(t, "chkv.yaml")
	for _, w := range m.workloads() {
		sel, err := metav1.LabelSelectorAsSelector(w.selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(w.pod.Labels)) {
			t.Errorf("%s: its selector %v does not select its own pods (%v)", w.name, w.selector, err)
		}
	}
	for name, svc := range m.services {
		ws := m.selecting(t, labels.SelectorFromSet(svc.Spec.Selector))
		if len(ws) == 0 {
			t.Errorf("Service %s selects no pods", name)
		}
		for _, w := range ws {
			for _, p := range svc.Spec.Ports {
				if !hasPort(w.pod, p.TargetPort.String()) {
					t.Errorf("Service %s: port %s targets %q, which %s's pods do not expose", name, p.Name, p.TargetPort.String(), w.name)
				}
			}
		}
	}
	for name, pdb := range m.budgets {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.selecting(t, sel)) == 0 {
			t.Errorf("PodDisruptionBudget %s selects no pods", name)
		}
	}
	for _, w := range m.workloads() {
		for _, c := range w.pod.Spec.Containers {
			checkEnvReferences(t, w.name, c)
			for _, addr := range serviceAddrs(c) {
				m.checkServiceAddr(t, w.name, addr)
			}
		}
	}
}

// checkEnvReferences fails for a $(VAR) in the args that the container
// does not define: Kubernetes would pass it on literally.
func checkEnvReferences(t *testing.T, owner string, c corev1.Container) {
	t.Helper()
	ref := regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
	for _, a := range slices.Concat(c.Command, c.Args) {
		for _, m := range ref.FindAllStringSubmatch(a, -1) {
			if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == m[1] }) {
				t.Errorf("%s/%s: %s refers to $(%s), which is not in its env", owner, c.Name, a, m[1])
			}
		}
	}
}

// serviceAddrs returns the host:port addresses of other components a
// container is given: --peer and CHKV_NAMENODES.
func serviceAddrs(c corev1.Container) []string {
	var out []string
	for i, a := range c.Args {
		if a == "--peer" && i+1 < len(c.Args) {
			out = append(out, c.Args[i+1])
		}
	}
	for _, e := range c.Env {
		if e.Name == "CHKV_NAMENODES" {
			out = append(out, strings.Split(e.Value, ",")...)
		}
	}
	return out
}

// checkServiceAddr fails unless addr is a Service of the manifests and one
// of its ports.
func (m *manifests) checkServiceAddr(t *testing.T, owner, addr string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Errorf("%s: address %q: %v", owner, addr, err)
		return
	}
	svc := m.services[host]
	if svc == nil {
		t.Errorf("%s: %s names no Service of the manifests", owner, addr)
		return
	}
	if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return fmt.Sprint(p.Port) == port }) {
		t.Errorf("%s: Service %s has no port %s", owner, host, port)
	}
}

func hasPort(pod *corev1.PodTemplateSpec, target string) bool {
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == target || fmt.Sprint(p.ContainerPort) == target {
				return true
			}
		}
	}
	return false
}

// The pair is two NameNodes, each the other's peer, and a budget keeps
// one of them; the DataNodes drain before they stop, have the time to,
// come back under their pod name, and lose one at a time at most.
func TestManifestsKeepTheClusterWhole(t *testing.T) {
	m := load(t, "chkv.yaml")
	ids := map[string]string{} // NameNode ID -> its peer's Service
	for name, d := range m.deployments {
		args := d.Spec.Template.Spec.Containers[0].Args
		if args[0] != "namenode" {
			continue
		}
		if *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("NameNode %s: want one replica, replaced by Recreate (never two processes of one ID)", name)
		}
		ids[flagValue(args, "--id")] = strings.Split(flagValue(args, "--peer"), ":")[0]
	}
	if len(ids) != 2 {
		t.Fatalf("NameNodes %v: want a pair", ids)
	}
	for id, peer := range ids {
		if peer != "chkv-"+otherKey(ids, id) {
			t.Errorf("NameNode %s's peer is %s, not the other NameNode", id, peer)
		}
	}
	if pdb := m.budgets["chkv-namenode"]; pdb == nil || pdb.Spec.MinAvailable.IntValue() != 1 {
		t.Error("no budget keeping one NameNode")
	}

	sts := m.statefulSets["chkv-datanode"]
	if sts == nil {
		t.Fatal("no DataNode StatefulSet")
	}
	pod := sts.Spec.Template.Spec
	c := pod.Containers[0]
	if flagValue(c.Args, "--id") != "$(POD_NAME)" || !slices.Contains(c.Args, "--rejoin") {
		t.Errorf("DataNode args %v: want --id $(POD_NAME) and --rejoin", c.Args)
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Exec == nil ||
		!slices.Equal(c.Lifecycle.PreStop.Exec.Command[:2], []string{"chkvctl", "drain-port"}) {
		t.Fatalf("DataNode preStop %+v: want chkvctl drain-port", c.Lifecycle)
	}
	if drain := c.Lifecycle.PreStop.Exec.Command[2]; drain != "127.0.0.1:6666" || slices.Contains(c.Args, "--drain-listen") {
		t.Errorf("preStop drains %s: want the default drain port, 127.0.0.1:6666", drain)
	}
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g < 300 {
		t.Errorf("terminationGracePeriodSeconds %v: too short for a drain", g)
	}
	if sts.Spec.PodManagementPolicy != appsv1.OrderedReadyPodManagement {
		t.Errorf("podManagementPolicy %s: DataNodes must stop one at a time", sts.Spec.PodManagementPolicy)
	}
	if pdb := m.budgets["chkv-datanode"]; pdb == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Error("no budget of one unavailable DataNode")
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil {
		t.Error("DataNode without an HTTP readiness probe")
	}
}

func flagValue(args []string, name string) string {
	if i := slices.Index(args, name); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

func otherKey(m map[string]string, not string) string {
	for k := range m {
		if k != not {
			return k
		}
	}
	return ""
}

// Every command line of the manifests is one the binaries accept: each is
// run with --help appended, which fails on an unknown flag or command.
func TestManifestsFlagsExist(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+string(filepath.Separator),
		"./datanode/cmd/datanode", "./namenode/cmd/namenode", "./client/cmd/chkvctl")
	build.Dir = filepath.Join("..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	m := load(t, "chkv.yaml")
	for _, w := range m.workloads() {
		for _, c := range w.pod.Spec.Containers {
			lines := [][]string{slices.Concat(c.Command, c.Args)}
			if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Exec != nil {
				lines = append(lines, c.Lifecycle.PreStop.Exec.Command)
			}
			for _, line := range lines {
				cmd := exec.Command(filepath.Join(bin, line[0]), append(slices.Clone(line[1:]), "--help")...)
				cmd.Env = []string{} // the manifests' own env is checked, not this machine's
				for _, e := range c.Env {
					if strings.HasPrefix(e.Name, "CHKV_") && e.Value != "" {
						cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
					}
				}
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Run(); err != nil {
					t.Errorf("%s/%s: %v refused: %v\n%s", w.name, c.Name, line, err, out.String())
				}
			}
		}
	}
}
