package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/prometheus/prometheus/model/rulefmt"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// docs splits a multi-document YAML file.
func docs(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(stripComments(d)) != "" {
			out = append(out, []byte(d))
		}
	}
	return out
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// decodeK8s decodes one manifest strictly (an unknown or mistyped field
// is an error) into the API type its kind names.
func decodeK8s(t *testing.T, doc []byte) any {
	t.Helper()
	var meta struct{ APIVersion, Kind string }
	if err := yaml.Unmarshal(doc, &meta); err != nil {
		t.Fatalf("not YAML: %v", err)
	}
	var obj any
	switch meta.APIVersion + " " + meta.Kind {
	case "v1 ServiceAccount":
		obj = &corev1.ServiceAccount{}
	case "v1 ConfigMap":
		obj = &corev1.ConfigMap{}
	case "rbac.authorization.k8s.io/v1 Role":
		obj = &rbacv1.Role{}
	case "rbac.authorization.k8s.io/v1 RoleBinding":
		obj = &rbacv1.RoleBinding{}
	case "batch/v1 CronJob":
		obj = &batchv1.CronJob{}
	case "batch/v1 Job":
		obj = &batchv1.Job{}
	default:
		t.Fatalf("unexpected kind %s %s", meta.APIVersion, meta.Kind)
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		t.Fatalf("%s: %v", meta.Kind, err)
	}
	return obj
}

// checkPod applies the rules every pod of ours follows.
func checkPod(t *testing.T, what string, spec corev1.PodSpec) {
	t.Helper()
	if spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("%s: restartPolicy %q, want Never (Jobs retry pods, not containers)", what, spec.RestartPolicy)
	}
	sc := spec.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("%s: pod does not run as non-root", what)
	}
	for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		if c.Image == "" {
			t.Errorf("%s/%s: no image", what, c.Name)
		}
		if c.SecurityContext == nil || c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
			t.Errorf("%s/%s: privilege escalation not disabled", what, c.Name)
		}
	}
	if spec.ServiceAccountName == "" {
		t.Errorf("%s: no service account (S3 access)", what)
	}
}

var cronRE = regexp.MustCompile(`^(\S+\s+){4}\S+$`)

// TestShardedCronJob: the CronJob, its RBAC, and the Indexed Job template
// it launches decode strictly; N agrees everywhere; the shard index comes
// from JOB_COMPLETION_INDEX and the merge names all N parts.
func TestShardedCronJob(t *testing.T) {
	var cron *batchv1.CronJob
	var cm *corev1.ConfigMap
	var role *rbacv1.Role
	var sa *corev1.ServiceAccount
	for _, d := range docs(t, "kubernetes/sharded-cronjob.yaml") {
		switch o := decodeK8s(t, d).(type) {
		case *batchv1.CronJob:
			cron = o
		case *corev1.ConfigMap:
			cm = o
		case *rbacv1.Role:
			role = o
		case *corev1.ServiceAccount:
			sa = o
		}
	}
	if cron == nil || cm == nil || role == nil || sa == nil {
		t.Fatal("missing CronJob, ConfigMap, Role or ServiceAccount")
	}
	if !cronRE.MatchString(cron.Spec.Schedule) || cron.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("schedule %q, concurrency %q", cron.Spec.Schedule, cron.Spec.ConcurrencyPolicy)
	}
	pod := cron.Spec.JobTemplate.Spec.Template.Spec
	checkPod(t, "cronjob", pod)
	if pod.ServiceAccountName != sa.Name {
		t.Errorf("cronjob runs as %q, the manifest defines %q", pod.ServiceAccountName, sa.Name)
	}
	if !slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
		return slices.Contains(r.Resources, "jobs") && slices.Contains(r.Verbs, "create")
	}) {
		t.Error("the driver may not create jobs")
	}

	tmpl := cm.Data["shards-job.yaml"]
	for _, ph := range []string{"__RUN__", "__SNAPSHOT__"} {
		if !strings.Contains(tmpl, ph) || !strings.Contains(pod.InitContainers[0].Args[0], ph) {
			t.Errorf("placeholder %s not in both the template and the driver", ph)
		}
	}
	filled := strings.NewReplacer("__RUN__", "corpus-audit-29000000", "__SNAPSHOT__", "2026-06-01").Replace(tmpl)
	job, ok := decodeK8s(t, []byte(filled)).(*batchv1.Job)
	if !ok {
		t.Fatal("the template is not a Job")
	}
	js := job.Spec
	if js.CompletionMode == nil || *js.CompletionMode != batchv1.IndexedCompletion {
		t.Fatal("the shard Job is not Indexed")
	}
	n := int(*js.Completions)
	if js.Parallelism == nil || int(*js.Parallelism) != n || n < 2 {
		t.Errorf("completions %d, parallelism %v", n, js.Parallelism)
	}
	checkPod(t, "shard job", js.Template.Spec)
	shard := js.Template.Spec.Containers[0]
	if !slices.Contains(shard.Args, fmt.Sprintf("--shard=auto/%d", n)) || shard.Args[0] != "run" {
		t.Errorf("shard args %v: want run --shard=auto/%d (index from JOB_COMPLETION_INDEX)", shard.Args, n)
	}
	var out string
	for _, a := range shard.Args {
		if v, ok := strings.CutPrefix(a, "--out="); ok {
			out = v
		}
	}
	if !strings.Contains(out, "{shard}") {
		t.Errorf("shard --out %q has no {shard}", out)
	}

	merge := pod.Containers[0]
	if merge.Args[0] != "merge" {
		t.Fatalf("main container %v is not the merge", merge.Args)
	}
	var parts []string
	for _, a := range merge.Args[1:] {
		if !strings.HasPrefix(a, "--") {
			parts = append(parts, a)
		}
	}
	if len(parts) != n {
		t.Errorf("merge names %d parts, the Indexed Job has %d shards", len(parts), n)
	}
	for i, p := range parts {
		want := strings.ReplaceAll(strings.ReplaceAll(out, "__RUN__", "$(JOB_NAME)"), "{shard}", fmt.Sprint(i))
		want = strings.ReplaceAll(want, "corpus-audit-29000000", "$(JOB_NAME)")
		if p != want {
			t.Errorf("merge part %d is %q, the shard writes %q", i, p, want)
		}
	}
	if !hasEnvFromJobName(merge.Env) || !hasEnvFromJobName(pod.InitContainers[0].Env) {
		t.Error("JOB_NAME is not taken from the Job's name label")
	}
	fp := cron.Spec.JobTemplate.Spec.PodFailurePolicy
	if fp == nil || len(fp.Rules) == 0 || fp.Rules[0].OnExitCodes == nil || !slices.Contains(fp.Rules[0].OnExitCodes.Values, 1) {
		t.Error("exit code 1 (findings) would be retried")
	}
}

func hasEnvFromJobName(env []corev1.EnvVar) bool {
	for _, e := range env {
		if e.Name == "JOB_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil &&
			strings.Contains(e.ValueFrom.FieldRef.FieldPath, "job-name") {
			return true
		}
	}
	return false
}

func TestNightlyCronJob(t *testing.T) {
	ds := docs(t, "kubernetes/nightly-cronjob.yaml")
	if len(ds) != 1 {
		t.Fatalf("%d documents", len(ds))
	}
	cron, ok := decodeK8s(t, ds[0]).(*batchv1.CronJob)
	if !ok {
		t.Fatal("not a CronJob")
	}
	if cron.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Error("concurrent runs allowed")
	}
	pod := cron.Spec.JobTemplate.Spec.Template.Spec
	checkPod(t, "nightly", pod)
	c := pod.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if c.Args[0] != "nightly" || env["CORPUS_AUDIT_LAKE"] == "" || env["CORPUS_AUDIT_STATE"] == "" {
		t.Errorf("args %v env %v", c.Args, env)
	}
	if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds < 30 {
		t.Error("no grace period to stop at a checkpoint")
	}
}

// decodeBatch decodes an AWS Batch job definition (the JSON of
// `aws batch register-job-definition --cli-input-json`) strictly into the
// SDK's RegisterJobDefinitionInput, and checks every enum value against
// the SDK's list.
func decodeBatch(t *testing.T, path string) *batch.RegisterJobDefinitionInput {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var in batch.RegisterJobDefinitionInput
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	checkEnums(t, path, reflect.ValueOf(in))
	if in.JobDefinitionName == nil || in.Type == "" || in.ContainerProperties == nil || in.ContainerProperties.Image == nil {
		t.Fatalf("%s: name, type and container image are required", path)
	}
	return &in
}

// checkEnums walks v and fails on a string enum value the SDK does not list.
func checkEnums(t *testing.T, where string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			checkEnums(t, where, v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				checkEnums(t, where+"."+v.Type().Field(i).Name, v.Field(i))
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			checkEnums(t, fmt.Sprintf("%s[%d]", where, i), v.Index(i))
		}
	case reflect.String:
		m := v.MethodByName("Values")
		if !m.IsValid() || v.String() == "" {
			return
		}
		allowed := m.Call(nil)[0]
		for i := 0; i < allowed.Len(); i++ {
			if allowed.Index(i).String() == v.String() {
				return
			}
		}
		t.Errorf("%s: %q is not one of the SDK's values", where, v.String())
	}
}

var refRE = regexp.MustCompile(`Ref::([A-Za-z0-9_]+)`)

func TestBatchJobDefinitions(t *testing.T) {
	shard := decodeBatch(t, "aws-batch/shard-job-definition.json")
	cmd := shard.ContainerProperties.Command
	if cmd[0] != "run" || !slices.Contains(cmd, "--shard") {
		t.Errorf("shard command %v", cmd)
	}
	for _, a := range cmd {
		for _, m := range refRE.FindAllStringSubmatch(a, -1) {
			if _, ok := shard.Parameters[m[1]]; !ok {
				t.Errorf("command uses Ref::%s, which has no default in parameters", m[1])
			}
		}
	}
	if !strings.HasPrefix(shard.Parameters["shards"], "auto/") {
		t.Errorf("shards parameter %q: the index must come from AWS_BATCH_JOB_ARRAY_INDEX (auto/N)", shard.Parameters["shards"])
	}
	if !strings.Contains(shard.Parameters["out"], "{shard}") {
		t.Error("the shard's --out has no {shard}")
	}
	merge := decodeBatch(t, "aws-batch/merge-job-definition.json")
	if merge.ContainerProperties.Command[0] != "merge" {
		t.Errorf("merge command %v", merge.ContainerProperties.Command)
	}
	for _, d := range []*batch.RegisterJobDefinitionInput{shard, merge} {
		if u := d.ContainerProperties.User; u == nil || *u == "0" || *u == "root" {
			t.Errorf("%s runs as root", *d.JobDefinitionName)
		}
	}
	// The step function and the script submit what the definitions define.
	var sm struct {
		StartAt string
		States  map[string]struct {
			Type, Resource, Next string
			End                  bool
			Parameters           map[string]any
		}
	}
	data, _ := os.ReadFile("aws-batch/state-machine.json")
	if err := json.Unmarshal(data, &sm); err != nil {
		t.Fatal(err)
	}
	for name, st := range sm.States {
		if st.Resource != "arn:aws:states:::batch:submitJob.sync" {
			t.Errorf("state %s: resource %s", name, st.Resource)
		}
		def := st.Parameters["JobDefinition"]
		if def != *shard.JobDefinitionName && def != *merge.JobDefinitionName {
			t.Errorf("state %s submits %v", name, def)
		}
	}
	if sm.States[sm.StartAt].Parameters["ArrayProperties"] == nil || sm.States[sm.StartAt].Next == "" {
		t.Error("the state machine does not start with the array job")
	}
	if out, err := exec.Command("bash", "-n", "aws-batch/submit.sh").CombinedOutput(); err != nil {
		t.Errorf("submit.sh: %v %s", err, out)
	}
}

// TestAlertRules: the rules parse and their PromQL is valid.
func TestAlertRules(t *testing.T) {
	groups, errs := rulefmt.ParseFile("prometheus/alerts.yaml", false)
	if len(errs) > 0 {
		t.Fatalf("alerts.yaml: %v", errs)
	}
	alerts := map[string]string{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert.Value] = r.Expr.Value
		}
	}
	for name, metric := range map[string]string{
		"CorpusAuditFindings":  "corpus_audit_snapshots_with_findings",
		"CorpusAuditNoSuccess": "corpus_audit_last_success_timestamp_seconds",
	} {
		if !strings.Contains(alerts[name], metric) {
			t.Errorf("alert %s: %q does not use %s", name, alerts[name], metric)
		}
	}
	if !strings.Contains(alerts["CorpusAuditNoSuccess"], "26 * 3600") {
		t.Errorf("no-success alert: %q", alerts["CorpusAuditNoSuccess"])
	}
}

// TestDockerfile: multi-stage, a non-root final stage, and its build
// command builds a static binary here; the example config and cron line
// are accepted by that binary.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms []string
	var lastUser, build string
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, l)
			lastUser = ""
		case "USER":
			lastUser = f[1]
		case "RUN":
			if strings.Contains(l, "go build") {
				build = strings.TrimSpace(strings.TrimPrefix(l, "RUN"))
			}
		}
	}
	if len(froms) < 2 {
		t.Fatalf("not multi-stage: %v", froms)
	}
	if u := strings.Split(lastUser, ":")[0]; u == "" || u == "0" || u == "root" {
		t.Errorf("final stage runs as %q", lastUser)
	}
	if !strings.Contains(froms[len(froms)-1], "distroless") && !strings.Contains(froms[len(froms)-1], "scratch") {
		t.Errorf("final stage %q is not minimal", froms[len(froms)-1])
	}
	if !strings.Contains(build, "CGO_ENABLED=0") {
		t.Errorf("build %q is not static (the final stage has no libc)", build)
	}
	// Run the Dockerfile's build here (the engine is not available).
	bin := filepath.Join(t.TempDir(), "corpus-audit")
	build = strings.ReplaceAll(build, "${VERSION}", "test")
	build = strings.ReplaceAll(build, "/out/corpus-audit", bin)
	cmd := exec.Command("sh", "-c", build)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", build, err, out)
	}
	out, err := exec.Command(bin, "config", "nightly", "--config", "audit.example.yaml").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "s3://corpus-lake") {
		t.Errorf("audit.example.yaml: %v\n%s", err, out)
	}
	cron, _ := os.ReadFile("cron/corpus-audit")
	var line string
	for _, l := range strings.Split(string(cron), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") && !strings.Contains(l, "=") {
			line = l
		}
	}
	f := strings.Fields(line)
	if len(f) < 8 || f[6] != "/usr/local/bin/corpus-audit" || f[7] != "nightly" {
		t.Errorf("cron line %q", line)
	}
}
