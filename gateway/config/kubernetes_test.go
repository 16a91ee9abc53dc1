package config_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/minbil/minbil-bff/gateway/config"
)

// These tests hold configs/kubernetes to what the gateway needs: every
// document decodes strictly into its k8s.io/api type (so a misspelt field
// fails here, not at kubectl apply), the selectors select what they should,
// the probes, port and grace period agree with the gateway's configuration
// as the ConfigMap gives it, and every container is locked down.

const (
	manifestDir    = "../../configs/kubernetes"
	productionYAML = "../../configs/production.yaml"
	operationsDoc  = "../../docs/operations.md" // documents the Secret

	gatewayName   = "minbil-bff"
	configKey     = "gateway.yaml"
	configMount   = "/etc/minbil-bff"
	imageRepo     = "ghcr.io/minbil/minbil-bff"
	partOfLabel   = "app.kubernetes.io/part-of"
	nameLabel     = "app.kubernetes.io/name"
	redisName     = "minbil-bff-redis"
	nonrootUserID = 65532 // the distroless image's nonroot user
)

// newObject returns an empty typed object for a manifest's apiVersion and
// kind, or false for a kind these manifests are not expected to hold.
func newObject(apiVersion, kind string) (any, bool) {
	switch apiVersion + " " + kind {
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, true
	case "v1 Service":
		return &corev1.Service{}, true
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, true
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, true
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, true
	case "networking.k8s.io/v1 NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, true
	}
	return nil, false
}

// decodeStrict decodes one YAML document into the type its apiVersion and
// kind name. A repeated key, an unknown field, or a field spelt in another
// case is an error. (encoding/json matches field names case-insensitively,
// so "containerport" would pass it; sigs.k8s.io/json, the API server's own
// decoder, does not.)
func decodeStrict(doc []byte) (any, error) {
	data, err := sigsyaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, err
	}
	var tm metav1.TypeMeta
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(data, &tm); err != nil {
		return nil, err
	}
	obj, ok := newObject(tm.APIVersion, tm.Kind)
	if !ok {
		return nil, fmt.Errorf("unexpected apiVersion %q kind %q", tm.APIVersion, tm.Kind)
	}
	strict, err := sigsjson.UnmarshalStrict(data, obj, sigsjson.DisallowUnknownFields)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(strict...); err != nil {
		return nil, err
	}
	return obj, nil
}

// splitDocuments returns the non-empty YAML documents of data.
func splitDocuments(data []byte) ([][]byte, error) {
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		var v any
		if err := yaml.Unmarshal(doc, &v); err != nil {
			return nil, err
		}
		if v != nil { // not only comments
			docs = append(docs, doc)
		}
	}
}

// cluster is every object of configs/kubernetes, by kind and name.
type cluster struct {
	objects     []object
	configMaps  map[string]*corev1.ConfigMap
	services    map[string]*corev1.Service
	deployments map[string]*appsv1.Deployment
	hpas        map[string]*autoscalingv2.HorizontalPodAutoscaler
	pdbs        map[string]*policyv1.PodDisruptionBudget
	netpols     map[string]*networkingv1.NetworkPolicy
}

// object is one decoded document and where it came from.
type object struct {
	where string // "deployment.yaml#1"
	kind  string
	meta  metav1.ObjectMeta
}

func loadCluster(t *testing.T) *cluster {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(manifestDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", manifestDir, err)
	}
	c := &cluster{
		configMaps:  map[string]*corev1.ConfigMap{},
		services:    map[string]*corev1.Service{},
		deployments: map[string]*appsv1.Deployment{},
		hpas:        map[string]*autoscalingv2.HorizontalPodAutoscaler{},
		pdbs:        map[string]*policyv1.PodDisruptionBudget{},
		netpols:     map[string]*networkingv1.NetworkPolicy{},
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := splitDocuments(data)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(docs) == 0 {
			t.Errorf("%s holds no document", file)
		}
		for i, doc := range docs {
			where := fmt.Sprintf("%s#%d", filepath.Base(file), i+1)
			obj, err := decodeStrict(doc)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			c.add(t, where, obj)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return c
}

func (c *cluster) add(t *testing.T, where string, obj any) {
	t.Helper()
	var meta metav1.ObjectMeta
	var dup bool
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		meta, dup = o.ObjectMeta, put(c.configMaps, o.Name, o)
	case *corev1.Service:
		meta, dup = o.ObjectMeta, put(c.services, o.Name, o)
	case *appsv1.Deployment:
		meta, dup = o.ObjectMeta, put(c.deployments, o.Name, o)
	case *autoscalingv2.HorizontalPodAutoscaler:
		meta, dup = o.ObjectMeta, put(c.hpas, o.Name, o)
	case *policyv1.PodDisruptionBudget:
		meta, dup = o.ObjectMeta, put(c.pdbs, o.Name, o)
	case *networkingv1.NetworkPolicy:
		meta, dup = o.ObjectMeta, put(c.netpols, o.Name, o)
	}
	kind := strings.TrimPrefix(fmt.Sprintf("%T", obj), "*")
	if dup {
		t.Errorf("%s: a second %s named %q", where, kind, meta.Name)
	}
	c.objects = append(c.objects, object{where: where, kind: kind, meta: meta})
}

// put stores v under name and reports whether the name was taken.
func put[T any](m map[string]T, name string, v T) bool {
	_, taken := m[name]
	m[name] = v
	return taken
}

// must returns m[name] or fails the test.
func must[T any](t *testing.T, m map[string]T, kind, name string) T {
	t.Helper()
	v, ok := m[name]
	if !ok {
		t.Fatalf("configs/kubernetes has no %s %q", kind, name)
	}
	return v
}

// gatewayConfigFile writes the ConfigMap's gateway.yaml to a temporary file
// named like the mounted one, for config.Load.
func gatewayConfigFile(t *testing.T, c *cluster) string {
	t.Helper()
	cm := must(t, c.configMaps, "ConfigMap", gatewayName)
	content, ok := cm.Data[configKey]
	if !ok {
		t.Fatalf("ConfigMap %s has no key %s", cm.Name, configKey)
	}
	path := filepath.Join(t.TempDir(), configKey)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// lookup returns an environment lookup over vars.
func lookup(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// gatewayConfig loads the ConfigMap's configuration with the upstream API
// key set, as in a pod whose Secret exists.
func gatewayConfig(t *testing.T, c *cluster) config.Config {
	t.Helper()
	cfg, err := config.Load(gatewayConfigFile(t, c), lookup(map[string]string{config.APIKeyEnv: "k8s-test-api-key"}))
	if err != nil {
		t.Fatalf("config.Load(ConfigMap %s) = %v", configKey, err)
	}
	return cfg
}

// container returns the one container of d named name.
func container(t *testing.T, d *appsv1.Deployment, name string) corev1.Container {
	t.Helper()
	for _, ctr := range d.Spec.Template.Spec.Containers {
		if ctr.Name == name {
			return ctr
		}
	}
	t.Fatalf("Deployment %s has no container %q", d.Name, name)
	return corev1.Container{}
}

// containerPort resolves a probe's or Service's port, a number or a name,
// against ctr's ports.
func containerPort(ctr corev1.Container, port intstr.IntOrString) (int32, bool) {
	for _, p := range ctr.Ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			return p.ContainerPort, true
		}
	}
	return 0, false
}

func TestManifestDecoderIsStrict(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr string
	}{
		{"valid", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n", ""},
		{"unknown field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replica: 3}\n", `unknown field "spec.replica"`},
		{"field in another case", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{Port: 80}]}\n", `unknown field "spec.ports[0].Port"`},
		{"repeated key", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: x, a: y}\n", `"a"`},
		{"wrong type", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: three}\n", "replicas"},
		{"unknown kind", "apiVersion: v1\nkind: Sevrice\nmetadata: {name: s}\n", `unexpected apiVersion "v1" kind "Sevrice"`},
		{"old apiVersion", "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\n", "unexpected apiVersion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeStrict([]byte(tt.doc))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("decodeStrict() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("decodeStrict() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestManifestsKindsAndMetadata(t *testing.T) {
	c := loadCluster(t)
	wantKinds := map[string]int{
		"v1.ConfigMap": 1, "v1.Service": 2, "v1.Deployment": 2,
		"v2.HorizontalPodAutoscaler": 1, "v1.PodDisruptionBudget": 1, "v1.NetworkPolicy": 1,
	}
	gotKinds := map[string]int{}
	for _, o := range c.objects {
		gotKinds[o.kind]++
		t.Run(o.where, func(t *testing.T) {
			if o.meta.Name == "" {
				t.Errorf("%s %s has no name", o.where, o.kind)
			}
			if o.meta.Namespace != "" {
				t.Errorf("%s: namespace %q, want none (kubectl apply -n chooses it)", o.where, o.meta.Namespace)
			}
			if got := o.meta.Labels[partOfLabel]; got != gatewayName {
				t.Errorf("%s: label %s = %q, want %q", o.where, partOfLabel, got, gatewayName)
			}
			if o.meta.Labels[nameLabel] == "" {
				t.Errorf("%s: no %s label", o.where, nameLabel)
			}
		})
	}
	for kind, want := range wantKinds {
		if gotKinds[kind] != want {
			t.Errorf("%d %s objects, want %d", gotKinds[kind], kind, want)
		}
	}
}

func TestManifestSelectors(t *testing.T) {
	c := loadCluster(t)
	gw := must(t, c.deployments, "Deployment", gatewayName)
	redis := must(t, c.deployments, "Deployment", redisName)
	gwPods := labels.Set(gw.Spec.Template.Labels)
	redisPods := labels.Set(redis.Spec.Template.Labels)
	netpol := must(t, c.netpols, "NetworkPolicy", redisName)
	if len(netpol.Spec.Ingress) != 1 || len(netpol.Spec.Ingress[0].From) != 1 || netpol.Spec.Ingress[0].From[0].PodSelector == nil {
		t.Fatalf("NetworkPolicy %s: want one ingress rule from one pod selector", netpol.Name)
	}
	mapSelector := func(m map[string]string) *metav1.LabelSelector { return &metav1.LabelSelector{MatchLabels: m} }
	tests := []struct {
		name      string
		selector  *metav1.LabelSelector
		pods      labels.Set
		wantMatch bool
	}{
		{"gateway Deployment selects its pods", gw.Spec.Selector, gwPods, true},
		{"gateway Deployment leaves Redis", gw.Spec.Selector, redisPods, false},
		{"Redis Deployment selects its pods", redis.Spec.Selector, redisPods, true},
		{"Redis Deployment leaves the gateway", redis.Spec.Selector, gwPods, false},
		{"gateway Service selects the gateway", mapSelector(must(t, c.services, "Service", gatewayName).Spec.Selector), gwPods, true},
		{"gateway Service leaves Redis", mapSelector(must(t, c.services, "Service", gatewayName).Spec.Selector), redisPods, false},
		{"Redis Service selects Redis", mapSelector(must(t, c.services, "Service", redisName).Spec.Selector), redisPods, true},
		{"Redis Service leaves the gateway", mapSelector(must(t, c.services, "Service", redisName).Spec.Selector), gwPods, false},
		{"PodDisruptionBudget selects the gateway", must(t, c.pdbs, "PodDisruptionBudget", gatewayName).Spec.Selector, gwPods, true},
		{"NetworkPolicy protects Redis", &netpol.Spec.PodSelector, redisPods, true},
		{"NetworkPolicy admits the gateway", netpol.Spec.Ingress[0].From[0].PodSelector, gwPods, true},
		{"NetworkPolicy admits nothing else", netpol.Spec.Ingress[0].From[0].PodSelector, redisPods, false},
	}
	for i, tsc := range gw.Spec.Template.Spec.TopologySpreadConstraints {
		tests = append(tests, struct {
			name      string
			selector  *metav1.LabelSelector
			pods      labels.Set
			wantMatch bool
		}{fmt.Sprintf("topology spread %d (%s) counts the gateway", i, tsc.TopologyKey), tsc.LabelSelector, gwPods, true})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.selector == nil || (len(tt.selector.MatchLabels) == 0 && len(tt.selector.MatchExpressions) == 0) {
				t.Fatalf("%s: empty selector, which selects everything", tt.name)
			}
			sel, err := metav1.LabelSelectorAsSelector(tt.selector)
			if err != nil {
				t.Fatal(err)
			}
			if got := sel.Matches(tt.pods); got != tt.wantMatch {
				t.Errorf("%s: %v matches %v = %v, want %v", tt.name, sel, tt.pods, got, tt.wantMatch)
			}
		})
	}
	if len(gw.Spec.Template.Spec.TopologySpreadConstraints) == 0 {
		t.Errorf("Deployment %s has no topologySpreadConstraints", gw.Name)
	}
}

func TestGatewayDeployment(t *testing.T) {
	c := loadCluster(t)
	cfg := gatewayConfig(t, c)
	gw := must(t, c.deployments, "Deployment", gatewayName)
	pod := gw.Spec.Template.Spec
	ctr := container(t, gw, "gateway")

	_, listenPort, err := net.SplitHostPort(cfg.Server.Addr)
	if err != nil {
		t.Fatalf("server.addr %q: %v", cfg.Server.Addr, err)
	}
	httpPort, ok := containerPort(ctr, intstr.FromString("http"))
	if !ok || strconv.Itoa(int(httpPort)) != listenPort {
		t.Errorf("container port http = %d, want server.addr's port %s", httpPort, listenPort)
	}

	image, tag, _ := strings.Cut(ctr.Image, ":")
	if image != imageRepo || tag == "" || tag == "latest" {
		t.Errorf("image %q, want %s:<version>", ctr.Image, imageRepo)
	}
	if want := []string{"serve", "--config", configMount + "/" + configKey}; !slices.Equal(ctr.Args, want) || len(ctr.Command) != 0 {
		t.Errorf("command %q args %q, want the image's entrypoint with args %q", ctr.Command, ctr.Args, want)
	}
	if gw.Spec.Replicas == nil || *gw.Spec.Replicas != 3 {
		t.Errorf("replicas = %v, want 3", gw.Spec.Replicas)
	}

	probes := []struct {
		name     string
		probe    *corev1.Probe
		wantPath string
	}{
		{"livenessProbe", ctr.LivenessProbe, "/healthz"},
		{"readinessProbe", ctr.ReadinessProbe, "/readyz"},
		{"startupProbe", ctr.StartupProbe, "/readyz"},
	}
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			if p.probe == nil || p.probe.HTTPGet == nil {
				t.Fatalf("%s is not an httpGet probe", p.name)
			}
			if p.probe.HTTPGet.Path != p.wantPath {
				t.Errorf("%s path = %q, want %q", p.name, p.probe.HTTPGet.Path, p.wantPath)
			}
			if port, ok := containerPort(ctr, p.probe.HTTPGet.Port); !ok || port != httpPort {
				t.Errorf("%s port %s = %d, want the gateway's port %d", p.name, p.probe.HTTPGet.Port.String(), port, httpPort)
			}
		})
	}

	// Shutdown: the preStop sleep and the gateway's drain both fit in the
	// grace period, with the drain's whole deadline.
	if ctr.Lifecycle == nil || ctr.Lifecycle.PreStop == nil || ctr.Lifecycle.PreStop.Sleep == nil || ctr.Lifecycle.PreStop.Sleep.Seconds <= 0 {
		t.Fatalf("no preStop sleep: the load balancers would still send requests after SIGTERM")
	}
	preStop := time.Duration(ctr.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	if pod.TerminationGracePeriodSeconds == nil {
		t.Fatal("no terminationGracePeriodSeconds")
	}
	grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	if need := preStop + cfg.Server.ShutdownTimeout; grace <= need {
		t.Errorf("terminationGracePeriodSeconds %s <= preStop sleep %s + server.shutdown_timeout %s: SIGKILL would cut the drain", grace, preStop, cfg.Server.ShutdownTimeout)
	}

	// The configuration file is the ConfigMap's, where --config reads it.
	var mounted bool
	for _, m := range ctr.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil && v.ConfigMap.Name == gatewayName && m.MountPath == configMount && m.ReadOnly {
				mounted = true
			}
		}
	}
	if !mounted {
		t.Errorf("ConfigMap %s is not mounted read-only at %s", gatewayName, configMount)
	}

	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("automountServiceAccountToken is not false; the gateway never calls the Kubernetes API")
	}
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Errorf("enableServiceLinks is not false: Service variables would start with MINBIL_")
	}
	if got := ctr.SecurityContext.RunAsUser; got == nil || *got != nonrootUserID {
		t.Errorf("runAsUser = %v, want the image's nonroot user %d", got, nonrootUserID)
	}
}

func TestGatewayEnvironment(t *testing.T) {
	c := loadCluster(t)
	gw := must(t, c.deployments, "Deployment", gatewayName)
	ctr := container(t, gw, "gateway")
	docText, err := os.ReadFile(operationsDoc)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]config.Key{}
	for _, k := range config.Keys() {
		known[k.Env] = k
		for _, a := range k.Aliases {
			known[a] = k
		}
	}
	for _, e := range ctr.Env {
		if !strings.HasPrefix(e.Name, config.EnvPrefix) {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			// config.Load ignores a MINBIL_ name it does not know, so a
			// misspelt one would be silently without effect.
			k, ok := known[e.Name]
			if !ok {
				t.Fatalf("%s is not a variable config.Load reads", e.Name)
			}
			if !k.Secret {
				return
			}
			if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				t.Fatalf("%s carries %s, a secret: want it from a Secret", e.Name, k.Path)
			}
			ref := e.ValueFrom.SecretKeyRef
			for _, s := range []string{ref.Name, ref.Key, e.Name} {
				if !bytes.Contains(docText, []byte("`"+s+"`")) {
					t.Errorf("docs/operations.md does not document `%s` (Secret %s, key %s)", s, ref.Name, ref.Key)
				}
			}
		})
	}
	tests := []struct {
		env          string
		wantSecret   string
		wantKey      string
		wantOptional bool
	}{
		{config.APIKeyEnv, gatewayName, "api-key", false},
		{config.EnvName("auth.jwt.hs256_secret"), gatewayName, "jwt-hs256-secret", true},
	}
	for _, tt := range tests {
		t.Run(tt.env+" from Secret", func(t *testing.T) {
			i := slices.IndexFunc(ctr.Env, func(e corev1.EnvVar) bool { return e.Name == tt.env })
			if i < 0 || ctr.Env[i].ValueFrom == nil || ctr.Env[i].ValueFrom.SecretKeyRef == nil {
				t.Fatalf("no %s from a Secret", tt.env)
			}
			ref := ctr.Env[i].ValueFrom.SecretKeyRef
			optional := ref.Optional != nil && *ref.Optional
			if ref.Name != tt.wantSecret || ref.Key != tt.wantKey || optional != tt.wantOptional {
				t.Errorf("%s from Secret %s key %s optional %v, want %s key %s optional %v",
					tt.env, ref.Name, ref.Key, optional, tt.wantSecret, tt.wantKey, tt.wantOptional)
			}
		})
	}
}

// leafKeys returns the dotted paths of the leaves of a YAML mapping.
func leafKeys(t *testing.T, data []byte) []string {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var keys []string
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		if n.Kind != yaml.MappingNode {
			keys = append(keys, prefix)
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			walk(n.Content[i+1], strings.TrimPrefix(prefix+"."+n.Content[i].Value, "."))
		}
	}
	if len(doc.Content) == 1 {
		walk(doc.Content[0], "")
	}
	slices.Sort(keys)
	return keys
}

func TestConfigMapConfiguration(t *testing.T) {
	c := loadCluster(t)
	path := gatewayConfigFile(t, c)
	cmData, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	prodData, err := os.ReadFile(productionYAML)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := leafKeys(t, cmData), leafKeys(t, prodData); !slices.Equal(got, want) {
		t.Errorf("ConfigMap %s sets keys %q, want those of %s: %q", configKey, got, productionYAML, want)
	}

	tests := []struct {
		name         string
		env          map[string]string
		wantProblems []string // keys Validate names; nil means valid
	}{
		{"with the API key", map[string]string{config.APIKeyEnv: "k8s-test-api-key"}, nil},
		{"with the optional HS256 secret too", map[string]string{
			config.APIKeyEnv:                        "k8s-test-api-key",
			config.EnvName("auth.jwt.hs256_secret"): strings.Repeat("s", 32),
		}, nil},
		{"without the Secret", nil, []string{"upstream.api_key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Load(path, lookup(tt.env))
			if err != nil {
				t.Fatalf("config.Load() = %v", err)
			}
			var got []string
			if j, ok := cfg.Validate().(interface{ Unwrap() []error }); ok {
				for _, e := range j.Unwrap() {
					var fe *config.FieldError
					if !errors.As(e, &fe) {
						t.Fatalf("Validate() joined %v, not a *config.FieldError", e)
					}
					got = append(got, fe.Key)
				}
			}
			if !slices.Equal(got, tt.wantProblems) {
				t.Errorf("Validate() names %q, want %q", got, tt.wantProblems)
			}
		})
	}
}

// securityOf returns the effective settings of ctr in pod: the container's,
// else the pod's.
func securityOf(pod corev1.PodSpec, ctr corev1.Container) (nonRoot bool, user int64, seccomp string) {
	sc, psc := ctr.SecurityContext, pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	pick := func(c, p *bool) bool {
		if c != nil {
			return *c
		}
		return p != nil && *p
	}
	nonRoot = pick(sc.RunAsNonRoot, psc.RunAsNonRoot)
	switch {
	case sc.RunAsUser != nil:
		user = *sc.RunAsUser
	case psc.RunAsUser != nil:
		user = *psc.RunAsUser
	}
	switch {
	case sc.SeccompProfile != nil:
		seccomp = string(sc.SeccompProfile.Type)
	case psc.SeccompProfile != nil:
		seccomp = string(psc.SeccompProfile.Type)
	}
	return nonRoot, user, seccomp
}

func TestContainersHardened(t *testing.T) {
	c := loadCluster(t)
	for _, d := range c.deployments {
		pod := d.Spec.Template.Spec
		for _, ctr := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
			t.Run(d.Name+"/"+ctr.Name, func(t *testing.T) {
				nonRoot, user, seccomp := securityOf(pod, ctr)
				sc := ctr.SecurityContext
				if sc == nil {
					t.Fatalf("no securityContext")
				}
				checks := []struct {
					name string
					ok   bool
				}{
					{"runAsNonRoot", nonRoot},
					{"runAsUser not 0", user != 0},
					{"seccompProfile RuntimeDefault", seccomp == string(corev1.SeccompProfileTypeRuntimeDefault)},
					{"readOnlyRootFilesystem", sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem},
					{"allowPrivilegeEscalation false", sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation},
					{"capabilities drop ALL", sc.Capabilities != nil && slices.Contains(sc.Capabilities.Drop, "ALL") && len(sc.Capabilities.Add) == 0},
					{"not privileged", sc.Privileged == nil || !*sc.Privileged},
					{"image pinned", strings.Contains(ctr.Image, ":") && !strings.HasSuffix(ctr.Image, ":latest")},
					{"liveness probe", ctr.LivenessProbe != nil},
					{"readiness probe", ctr.ReadinessProbe != nil},
				}
				for _, ch := range checks {
					if !ch.ok {
						t.Errorf("%s/%s: want %s", d.Name, ctr.Name, ch.name)
					}
				}
				for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
					req, okReq := ctr.Resources.Requests[res]
					lim, okLim := ctr.Resources.Limits[res]
					if !okReq || !okLim {
						t.Errorf("%s/%s: %s request and limit must both be set (HPA utilisation is of the request)", d.Name, ctr.Name, res)
						continue
					}
					if req.Cmp(lim) > 0 {
						t.Errorf("%s/%s: %s request %s above limit %s", d.Name, ctr.Name, res, req.String(), lim.String())
					}
				}
			})
		}
	}
}

func TestGatewaySizing(t *testing.T) {
	c := loadCluster(t)
	gw := must(t, c.deployments, "Deployment", gatewayName)
	ctr := container(t, gw, "gateway")
	hpa := must(t, c.hpas, "HorizontalPodAutoscaler", gatewayName)
	pdb := must(t, c.pdbs, "PodDisruptionBudget", gatewayName)

	var cpuTarget int32
	for _, m := range hpa.Spec.Metrics {
		if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU &&
			m.Resource.Target.Type == autoscalingv2.UtilizationMetricType && m.Resource.Target.AverageUtilization != nil {
			cpuTarget = *m.Resource.Target.AverageUtilization
		}
	}
	minReplicas := int32(1)
	if hpa.Spec.MinReplicas != nil {
		minReplicas = *hpa.Spec.MinReplicas
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"HPA target", hpa.Spec.ScaleTargetRef, autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: gw.Name}},
		{"HPA minReplicas", minReplicas, *gw.Spec.Replicas},
		{"HPA maxReplicas", hpa.Spec.MaxReplicas, int32(12)},
		{"HPA CPU utilisation target", cpuTarget, int32(70)},
		{"PDB minAvailable", pdb.Spec.MinAvailable.String(), "2"},
		{"PDB leaves one pod to drain at the minimum", pdb.Spec.MinAvailable.IntValue() < int(minReplicas), true},
		{"CPU request", ctr.Resources.Requests.Cpu().String(), "50m"},
		{"memory request", ctr.Resources.Requests.Memory().String(), "64Mi"},
		{"CPU limit", ctr.Resources.Limits.Cpu().String(), "1"},
		{"memory limit", ctr.Resources.Limits.Memory().String(), "128Mi"},
	}
	for _, tt := range tests {
		if fmt.Sprint(tt.got) != fmt.Sprint(tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	svc := must(t, c.services, "Service", gatewayName)
	if len(svc.Spec.Ports) != 1 {
		t.Fatalf("Service %s has %d ports, want 1", svc.Name, len(svc.Spec.Ports))
	}
	httpPort, _ := containerPort(ctr, intstr.FromString("http"))
	if p := svc.Spec.Ports[0]; p.Port != 80 {
		t.Errorf("Service %s port = %d, want 80", svc.Name, p.Port)
	} else if got, ok := containerPort(ctr, p.TargetPort); !ok || got != httpPort {
		t.Errorf("Service %s targetPort %s reaches %d, want the gateway's port %d", svc.Name, p.TargetPort.String(), got, httpPort)
	}
}
