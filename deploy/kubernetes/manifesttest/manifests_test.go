// Package manifesttest checks the deployment files that need Kubernetes
// and Prometheus libraries: every manifest in deploy/kubernetes decodes
// strictly (unknown fields rejected) into the Kubernetes API types, the
// ServiceMonitor and Kustomization (not core types) into field lists kept
// here, the pieces fit together (labels, ports, volumes, probes), and
// deploy/prometheus/alerts.yaml parses with Prometheus's own rule parser
// and names only metrics the bridge exports. It is a module of its own so
// the bridge does not depend on Kubernetes; .ci/run runs it.
package manifesttest

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const manifestDir = ".."

// ServiceMonitor is the part of monitoring.coreos.com/v1 the manifest may
// use; a field not listed here is an error (a typo would be ignored by
// the API server's pruning, and the scrape silently missing).
type ServiceMonitor struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace,omitempty"`
		Labels    map[string]string `json:"labels,omitempty"`
	} `json:"metadata"`
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		NamespaceSelector *struct {
			MatchNames []string `json:"matchNames,omitempty"`
			Any        bool     `json:"any,omitempty"`
		} `json:"namespaceSelector,omitempty"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path,omitempty"`
			Scheme        string `json:"scheme,omitempty"`
			Interval      string `json:"interval,omitempty"`
			ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
			Authorization *struct {
				Type        string                    `json:"type,omitempty"`
				Credentials *corev1.SecretKeySelector `json:"credentials,omitempty"`
			} `json:"authorization,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// Kustomization is the part of kustomize.config.k8s.io/v1beta1 used here.
type Kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Resources  []string `json:"resources"`
}

// manifests are every document of every YAML file in deploy/kubernetes.
type manifests struct {
	statefulSets    []appsv1.StatefulSet
	services        []corev1.Service
	configMaps      []corev1.ConfigMap
	secrets         []corev1.Secret
	serviceMonitors []ServiceMonitor
	kustomizations  []Kustomization
	cronJobs        []batchv1.CronJob
	claims          []corev1.PersistentVolumeClaim
	files           map[string][]string // file -> kinds
}

// decodeStrict decodes a YAML document as the API server does: field
// names case-sensitive (encoding/json's are not: readOnlyRootFileSystem
// would pass), unknown and duplicate fields rejected.
func decodeStrict(doc []byte, v any) error {
	data, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strictErrs, err := kjson.UnmarshalStrict(data, v)
	if err != nil {
		return err
	}
	return errors.Join(strictErrs...)
}

func splitDocs(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(d, "")) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func load(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(manifestDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s: %v", manifestDir, err)
	}
	m := manifests{files: map[string][]string{}}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range splitDocs(data) {
			var head struct{ APIVersion, Kind string }
			if err := yaml.Unmarshal(doc, &head); err != nil {
				t.Fatalf("%s #%d: %v", f, i, err)
			}
			where := fmt.Sprintf("%s #%d (%s %s)", filepath.Base(f), i, head.APIVersion, head.Kind)
			strict := func(v any) {
				if err := decodeStrict(doc, v); err != nil {
					t.Errorf("%s: %v", where, err)
				}
			}
			switch head.APIVersion + " " + head.Kind {
			case "apps/v1 StatefulSet":
				var o appsv1.StatefulSet
				strict(&o)
				m.statefulSets = append(m.statefulSets, o)
			case "v1 Service":
				var o corev1.Service
				strict(&o)
				m.services = append(m.services, o)
			case "v1 ConfigMap":
				var o corev1.ConfigMap
				strict(&o)
				m.configMaps = append(m.configMaps, o)
			case "v1 Secret":
				var o corev1.Secret
				strict(&o)
				m.secrets = append(m.secrets, o)
			case "batch/v1 CronJob":
				var o batchv1.CronJob
				strict(&o)
				m.cronJobs = append(m.cronJobs, o)
			case "v1 PersistentVolumeClaim":
				var o corev1.PersistentVolumeClaim
				strict(&o)
				m.claims = append(m.claims, o)
			case "monitoring.coreos.com/v1 ServiceMonitor":
				var o ServiceMonitor
				strict(&o)
				m.serviceMonitors = append(m.serviceMonitors, o)
			case "kustomize.config.k8s.io/v1beta1 Kustomization":
				var o Kustomization
				strict(&o)
				m.kustomizations = append(m.kustomizations, o)
			default:
				t.Errorf("%s: no check for this kind: add one", where)
			}
			m.files[filepath.Base(f)] = append(m.files[filepath.Base(f)], head.Kind)
		}
	}
	return m
}

func TestManifestsDecodeStrictly(t *testing.T) {
	m := load(t)
	if len(m.statefulSets) != 1 || len(m.services) != 1 || len(m.configMaps) != 1 || len(m.secrets) == 0 || len(m.serviceMonitors) != 1 {
		t.Fatalf("want one StatefulSet, Service, ConfigMap, ServiceMonitor and the example Secrets; got %v", m.files)
	}
}

// A typo is caught: the strict decoding this test relies on does reject
// an unknown field.
func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	for _, doc := range []string{
		"apiVersion: apps/v1\nkind: StatefulSet\nspec:\n  replica: 1\n",
		"spec:\n  template:\n    spec:\n      containers:\n        - securityContext:\n            readOnlyRootFileSystem: true\n",
		"spec:\n  replicas: 1\n  replicas: 2\n",
	} {
		var o appsv1.StatefulSet
		if err := decodeStrict([]byte(doc), &o); err == nil {
			t.Errorf("accepted:\n%s", doc)
		}
	}
	var sm ServiceMonitor
	if err := decodeStrict([]byte("spec:\n  endpoint: []\n"), &sm); err == nil {
		t.Error("ServiceMonitor: unknown field accepted")
	}
}

func TestStatefulSet(t *testing.T) {
	m := load(t)
	ss := m.statefulSets[0]
	if ss.Spec.Replicas == nil || *ss.Spec.Replicas != 1 {
		t.Errorf("replicas must be 1 (bbolt has one writer): %v", ss.Spec.Replicas)
	}
	pod := ss.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("containers: %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["http"] != 8080 {
		t.Errorf("container port http = %d, want 8080 (the image's SCIMBRIDGE_LISTEN)", ports["http"])
	}
	probe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port != intstr.FromString("http") {
			t.Errorf("%s probe: want GET %s on port http, got %+v", name, path, p)
		}
	}
	probe("liveness", c.LivenessProbe, "/healthz")
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("startup", c.StartupProbe, "/healthz")

	// Hardened: non-root, read-only root, no escalation, no capabilities.
	sc := c.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container securityContext not hardened: %+v", sc)
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault || psc.FSGroup == nil {
		t.Errorf("pod securityContext not hardened: %+v", psc)
	}
	// Memory sized from the measured 157 MB RSS at 100,000 users.
	req := c.Resources.Requests[corev1.ResourceMemory]
	lim := c.Resources.Limits[corev1.ResourceMemory]
	if req.Cmp(resource.MustParse("160Mi")) < 0 || lim.Cmp(req) < 0 {
		t.Errorf("memory request %s (want >= 160Mi) and limit %s (want >= request)", req.String(), lim.String())
	}
	// Every mount names a volume or a claim template; the data claim is
	// mounted at /data (the image's SCIMBRIDGE_DATA_DIR).
	vols := map[string]bool{}
	for _, v := range pod.Volumes {
		vols[v.Name] = true
	}
	for _, vct := range ss.Spec.VolumeClaimTemplates {
		vols[vct.Name] = true
		if !slices.Contains(vct.Spec.AccessModes, corev1.ReadWriteOnce) {
			t.Errorf("claim %s: want ReadWriteOnce", vct.Name)
		}
	}
	mounts := map[string]string{}
	for _, vm := range c.VolumeMounts {
		if !vols[vm.Name] {
			t.Errorf("mount %s names no volume", vm.Name)
		}
		mounts[vm.MountPath] = vm.Name
	}
	if len(ss.Spec.VolumeClaimTemplates) != 1 || mounts["/data"] != ss.Spec.VolumeClaimTemplates[0].Name {
		t.Errorf("/data must be the volume claim: mounts %v", mounts)
	}
	// Labels: the selector picks the pod; the Service is the governing one.
	for k, v := range ss.Spec.Selector.MatchLabels {
		if ss.Spec.Template.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod's labels", k, v)
		}
	}
	svc := m.services[0]
	if ss.Spec.ServiceName != svc.Name {
		t.Errorf("serviceName %q, Service is %q", ss.Spec.ServiceName, svc.Name)
	}
	for k, v := range svc.Spec.Selector {
		if ss.Spec.Template.Labels[k] != v {
			t.Errorf("Service selector %s=%s does not match the pod", k, v)
		}
	}
	for _, p := range svc.Spec.Ports {
		if p.TargetPort.Type == intstr.String && ports[p.TargetPort.StrVal] == 0 {
			t.Errorf("Service port %s targets %q, which the container lacks", p.Name, p.TargetPort.StrVal)
		}
	}
	// The config and secrets the pod mounts are the ones shipped.
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name != m.configMaps[0].Name {
			t.Errorf("volume %s: ConfigMap %q is not %q", v.Name, v.ConfigMap.Name, m.configMaps[0].Name)
		}
	}
	secretNames := map[string]bool{}
	for _, s := range m.secrets {
		secretNames[s.Name] = true
	}
	for _, e := range c.EnvFrom {
		if e.SecretRef != nil && !secretNames[e.SecretRef.Name] {
			t.Errorf("envFrom Secret %q: no example", e.SecretRef.Name)
		}
	}
}

// The example Secret holds placeholders only, and the ${file:...}
// references in config.yaml name keys the connector Secret has, under its
// mount path.
func TestSecretsAndConfig(t *testing.T) {
	m := load(t)
	keys := map[string]bool{}
	for _, s := range m.secrets {
		for k, v := range s.StringData {
			if !strings.HasPrefix(v, "REPLACE") {
				t.Errorf("Secret %s key %s: example values must be placeholders, got %q", s.Name, k, v)
			}
			keys[k] = true
		}
	}
	mountPath := ""
	for _, vm := range m.statefulSets[0].Spec.Template.Spec.Containers[0].VolumeMounts {
		if vm.Name == "connector-secrets" {
			mountPath = vm.MountPath
		}
	}
	cfg := m.configMaps[0].Data["config.yaml"]
	refs := regexp.MustCompile(`\$\{file:([^}]+)\}`).FindAllStringSubmatch(cfg, -1)
	if len(refs) == 0 {
		t.Error("config.yaml references no secret file")
	}
	for _, r := range refs {
		dir, key := filepath.Split(r[1])
		if filepath.Clean(dir) != mountPath || !keys[key] {
			t.Errorf("${file:%s}: not a key of the connector Secret mounted at %s", r[1], mountPath)
		}
	}
	var parsed map[string]any
	if err := yaml.Unmarshal([]byte(cfg), &parsed); err != nil {
		t.Errorf("config.yaml in the ConfigMap: %v", err)
	}
}

func TestServiceMonitorAndKustomization(t *testing.T) {
	m := load(t)
	sm, svc := m.serviceMonitors[0], m.services[0]
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Labels[k] != v {
			t.Errorf("ServiceMonitor selector %s=%s does not match the Service's labels", k, v)
		}
	}
	names := map[string]bool{}
	for _, p := range svc.Spec.Ports {
		names[p.Name] = true
	}
	if len(sm.Spec.Endpoints) == 0 {
		t.Fatal("ServiceMonitor has no endpoint")
	}
	for _, e := range sm.Spec.Endpoints {
		if !names[e.Port] || e.Path != "/metrics" {
			t.Errorf("endpoint %+v: want a Service port name and /metrics", e)
		}
	}
	for _, k := range m.kustomizations {
		for _, r := range k.Resources {
			if _, ok := m.files[r]; !ok {
				t.Errorf("kustomization resource %s: no such manifest", r)
			}
			if strings.Contains(r, "example") {
				t.Errorf("kustomization applies %s: examples must be edited first", r)
			}
		}
	}
}

// exportedMetrics are the metric names the bridge's source registers,
// plus the Go and process collectors' and Prometheus's own.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{"up": true, "process_start_time_seconds": true}
	re := regexp.MustCompile(`"(scimbridge_[a-z0-9_]+)"`)
	root := filepath.Join(manifestDir, "..", "..")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (d.Name() == "deploy" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range re.FindAllSubmatch(data, -1) {
				names[string(m[1])] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestAlertRules(t *testing.T) {
	path := filepath.Join(manifestDir, "..", "prometheus", "alerts.yaml")
	p := parser.NewParser(parser.Options{})
	groups, errs := rulefmt.ParseFile(path, false, model.UTF8Validation, p, slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Error(err)
	}
	if groups == nil {
		t.Fatal("no rule groups")
	}
	known := exportedMetrics(t)
	want := map[string]bool{"ScimbridgeConnectorFailing": false, "ScimbridgeQueueBacklog": false, "ScimbridgeDeadLetters": false,
		"ScimbridgeRestarting": false, "ScimbridgeTLSCertificateExpiring": false}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			want[r.Alert] = true
			if r.Annotations["summary"] == "" || r.Labels["severity"] == "" {
				t.Errorf("%s: needs a summary (what to do) and a severity", r.Alert)
			}
			expr, err := p.ParseExpr(r.Expr)
			if err != nil {
				t.Errorf("%s: %v", r.Alert, err)
				continue
			}
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok && !known[vs.Name] && !strings.HasPrefix(vs.Name, "go_") {
					t.Errorf("%s: metric %s is not one the bridge exports", r.Alert, vs.Name)
				}
				return nil
			})
		}
	}
	for name, found := range want {
		if !found {
			t.Errorf("no alert %s", name)
		}
	}
}

// The backup CronJob runs `scimbridge backup` against the Service with
// the admin token from the Secret, onto its own claim, hardened like the
// bridge, one run at a time.
func TestBackupCronJob(t *testing.T) {
	m := load(t)
	if len(m.cronJobs) != 1 {
		t.Fatalf("want one CronJob, got %d", len(m.cronJobs))
	}
	cj := m.cronJobs[0]
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy %q: two backups at once get a 409", cj.Spec.ConcurrencyPolicy)
	}
	pod := cj.Spec.JobTemplate.Spec.Template.Spec
	c := pod.Containers[0]
	if len(c.Args) < 4 || c.Args[0] != "backup" || c.Args[2] != "--server" {
		t.Fatalf("args %q: want backup FILE --server URL", c.Args)
	}
	svc := m.services[0]
	if want := fmt.Sprintf("http://%s:%d", svc.Name, svc.Spec.Ports[0].Port); c.Args[3] != want {
		t.Errorf("--server %s, want the Service %s", c.Args[3], want)
	}
	token := false
	for _, e := range c.Env {
		if e.Name == "SCIMBRIDGE_ADMIN_TOKEN" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			token = true
		}
	}
	if !token {
		t.Error("no SCIMBRIDGE_ADMIN_TOKEN from a Secret")
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("backup container not hardened: %+v", sc)
	}
	dir := filepath.Dir(c.Args[1])
	mounted := false
	for _, vm := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == vm.Name && vm.MountPath == dir && v.PersistentVolumeClaim != nil && len(m.claims) == 1 && v.PersistentVolumeClaim.ClaimName == m.claims[0].Name {
				mounted = true
			}
		}
	}
	if !mounted {
		t.Errorf("%s is not on the backup claim", dir)
	}
}
