package manifest

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf16"
)

// lines joins YAML lines, so tests can count lines exactly.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

var jobHead = []string{
	"apiVersion: batch/v1", // 1
	"kind: Job",            // 2
	"metadata:",            // 3
	"  name: retry",        // 4
	"spec:",                // 5
	"  backoffLimit: 2",    // 6
	"  template:",          // 7
	"    spec:",            // 8
}

func job(rest ...string) string { return lines(append(append([]string{}, jobHead...), rest...)...) }

const goodPod = `apiVersion: v1
kind: Pod
metadata:
  name: good
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox
`

func TestDecode_Problems(t *testing.T) {
	tests := []struct {
		name      string
		file, in  string
		wantErrs  []string
		wantKinds []string // kinds of the objects decoded, in order
	}{
		{
			name: "UnknownFieldTypo",
			file: "job.yaml",
			in: job(
				"      restartPolcy: Never", // 9
				"      containers:",
				"      - name: c",
				"        image: busybox",
			),
			wantErrs: []string{`job.yaml:9: spec.template.spec.restartPolcy: unknown field "restartPolcy" (did you mean "restartPolicy"?)`},
		},
		{
			name: "NumberForStringEnvValue",
			file: "pod.yaml",
			in: lines(
				"apiVersion: v1",
				"kind: Pod",
				"metadata: {name: p}",
				"spec:",
				"  containers:",
				"  - name: c",
				"    image: busybox",
				"    env:",
				"    - name: A",
				"      value: ok",
				"    - name: PORT",
				"      value: 8080", // 12
			),
			wantErrs: []string{`pod.yaml:12: spec.containers[0].env[1].value: Invalid value: 8080: must be a string, not a number (quote it: "8080")`},
		},
		{
			name: "EveryTypeErrorReported",
			file: "job.yaml",
			in: job(
				"      restartPolicy: Never", // 9
				"      activeDeadlineSeconds: soon",
				"      containers:",
				"      - name: c",
				"        image: busybox",
				"        command: echo hi", // 14
				"        tty: yes",
				"        resources:",
				"          limits:",
				"            memory: 12x", // 18
			),
			wantErrs: []string{
				`job.yaml:10: spec.template.spec.activeDeadlineSeconds: Invalid value: "soon": must be an integer`,
				`job.yaml:14: spec.template.spec.containers[0].command: Invalid value: "echo hi": must be a list`,
				`job.yaml:18: spec.template.spec.containers[0].resources.limits[memory]: Invalid value: "12x": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
			},
		},
		{
			name: "DuplicateField",
			file: "pod.yaml",
			in: lines(
				"apiVersion: v1",
				"kind: Pod",
				"metadata:",
				"  name: p",
				"spec:",
				"  containers:",
				"  - name: c",
				"    image: busybox",
				"    image: alpine", // 9
			),
			wantErrs: []string{`pod.yaml:9: spec.containers[0].image: duplicate field "image"`},
		},
		{
			name: "UnsupportedKindSkippedOthersDecode",
			file: "app.yaml",
			in: goodPod + lines(
				"---", // 10
				"apiVersion: apps/v1",
				"kind: Deployment", // 12
				"metadata:",
				"  name: web",
				"---",
				"apiVersion: v1",
				"kind: ConfigMap",
				"metadata: {name: cfg}",
				"data: {a: b}",
			),
			wantErrs:  []string{`app.yaml:12: kind: Unsupported value: "Deployment": localjobs runs Pod, Job, CronJob, ConfigMap, Secret and List (apps/v1 Deployment skipped: Deployments are out of scope; run the pod template as a Pod)`},
			wantKinds: []string{"Pod", "ConfigMap"},
		},
		{
			name: "CronJobV1beta1",
			file: "cron.yaml",
			in: lines(
				"apiVersion: batch/v1beta1", // 1
				"kind: CronJob",
				"metadata: {name: c}",
				"spec:",
				"  schedule: '* * * * *'",
			),
			wantErrs: []string{`cron.yaml:1: apiVersion: Unsupported value: "batch/v1beta1": batch/v1beta1 CronJob was removed in Kubernetes 1.25, use batch/v1`},
		},
		{
			name: "WrongAPIVersion",
			file: "job.yaml",
			in:   lines("apiVersion: v1", "kind: Job", "metadata: {name: j}"),
			wantErrs: []string{
				`job.yaml:1: apiVersion: Unsupported value: "v1": no matches for kind "Job" in version "v1" (use "batch/v1")`,
			},
		},
		{
			name:      "MissingKind",
			file:      "x.yaml",
			in:        goodPod + "---\n# comment\napiVersion: v1\nmetadata: {name: x}\n",
			wantErrs:  []string{`x.yaml:12: kind: Required value: every object needs apiVersion and kind`},
			wantKinds: []string{"Pod"},
		},
		{
			name:     "MissingAPIVersion",
			file:     "x.yaml",
			in:       "kind: Pod\nmetadata: {name: x}\n",
			wantErrs: []string{`x.yaml:1: apiVersion: Required value: every object needs apiVersion and kind`},
		},
		{
			name: "MissingImage",
			file: "job.yaml",
			in: job(
				"      restartPolicy: Never", // 9
				"      containers:",
				"      - name: c",
				"        command: [echo]", // 12
			),
			wantErrs: []string{`job.yaml:11: spec.template.spec.containers[0].image: Required value`},
		},
		{
			name: "JobRestartPolicyDefaulted",
			file: "job.yaml",
			in: job(
				"      containers:", // 9
				"      - name: c",
				"        image: busybox",
			),
			wantErrs: []string{`job.yaml:8: spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never" (a Job's pods must finish, so the Pod default Always is not allowed)`},
		},
		{
			// yaml.v3 names the line where the block starts (8); the line
			// to fix is 13.
			name: "MisIndentedLine",
			file: "job.yaml",
			in: job(
				"      restartPolicy: Never", // 9
				"      containers:",          // 10
				"      - name: c",            // 11
				"        image: busybox",     // 12
				"       command: [echo]",     // 13
			),
			wantErrs: []string{`job.yaml:13: yaml: did not find expected key (this line is not indented like the block it is in, which starts at line 8)`},
		},
		{
			name: "JobRestartPolicyAlways",
			file: "job.yaml",
			in: job(
				"      restartPolicy: Always", // 9
				"      containers:",
				"      - name: c",
				"        image: busybox",
			),
			wantErrs: []string{`job.yaml:9: spec.template.spec.restartPolicy: Unsupported value: "Always": Always is not allowed in a Job (its pods must finish); use OnFailure or Never`},
		},
		{
			name: "JobRestartPolicyUnsupported",
			file: "job.yaml",
			in: job(
				"      restartPolicy: Sometimes", // 9
				"      containers:",
				"      - name: c",
				"        image: busybox",
			),
			wantErrs: []string{`job.yaml:9: spec.template.spec.restartPolicy: Unsupported value: "Sometimes": supported values: "OnFailure", "Never"`},
		},
		{
			name:      "FlowStyle",
			file:      "flow.yaml",
			in:        "{apiVersion: v1, kind: Pod, metadata: {name: f}, spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}}\n---\n{apiVersion: v1, kind: Pod,\n metadata: {name: g}, spec: {containers: [{name: c, imagee: busybox}]}}\n",
			wantErrs:  []string{`flow.yaml:4: spec.containers[0].imagee: unknown field "imagee" (did you mean "image"?)`},
			wantKinds: []string{"Pod"},
		},
		{
			name: "JSON",
			file: "pod.json",
			in: `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "j"},
 "spec": {"containers": [{"name": "c", "image": "busybox", "args": [1]}]}}
{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}`,
			wantErrs:  []string{`pod.json:2: spec.containers[0].args[0]: Invalid value: 1: must be a string, not a number (quote it: "1")`},
			wantKinds: []string{"ConfigMap"},
		},
		{
			name: "List",
			file: "list.yaml",
			in: lines(
				"apiVersion: v1",
				"kind: List",
				"items:",
				"- apiVersion: v1", // 4
				"  kind: ConfigMap",
				"  metadata: {name: a}",
				"- apiVersion: v1", // 7
				"  kind: Pod",
				"  metadata: {name: b}",
				"  spec:",
				"    containers: []", // 11
				"- apiVersion: apps/v1",
				"  kind: Deployment", // 13
				"  metadata: {name: d}",
				"- apiVersion: v1",
				"  kind: Secret",
				"  metadata: {name: s}",
				"  stringData: {k: v}",
			),
			wantErrs: []string{
				`list.yaml:11: items[1].spec.containers: Required value`,
				`list.yaml:13: items[2].kind: Unsupported value: "Deployment": localjobs runs Pod, Job, CronJob, ConfigMap, Secret and List (apps/v1 Deployment skipped: Deployments are out of scope; run the pod template as a Pod)`,
			},
			wantKinds: []string{"ConfigMap", "Secret"},
		},
		{
			name:      "YAMLSyntaxErrorInOneDocument",
			file:      "x.yaml",
			in:        goodPod + "---\napiVersion: v1\nkind: Pod\n metadata: x\n",
			wantErrs:  []string{`x.yaml:13: yaml: mapping values are not allowed in this context`},
			wantKinds: []string{"Pod"},
		},
		{
			name:      "BadSeparator",
			file:      "x.yaml",
			in:        goodPod + "--- apiVersion: v1\n",
			wantErrs:  []string{`x.yaml:10: invalid YAML document separator: apiVersion: v1 (only a comment may follow ---)`},
			wantKinds: []string{"Pod"},
		},
		{
			name:      "EmptyDocumentsSkipped",
			file:      "x.yaml",
			in:        "---\n# nothing\n---\n" + goodPod + "---\n",
			wantKinds: []string{"Pod"},
		},
		{
			name: "PersistentVolumeClaimRejected",
			file: "pod.yaml",
			in: goodPod + lines(
				"    volumeMounts:",
				"    - {name: data, mountPath: /data}",
				"  volumes:",
				"  - name: data",             // 13
				"    persistentVolumeClaim:", // 14
				"      claimName: data",
			),
			wantErrs: []string{`pod.yaml:14: spec.volumes[0].persistentVolumeClaim: Forbidden: not supported by localjobs: localjobs has no cluster storage; use emptyDir, hostPath, configMap, secret, projected or downwardAPI`},
		},
		{
			name: "SecretBase64",
			file: "s.yaml",
			in:   lines("apiVersion: v1", "kind: Secret", "metadata: {name: s}", "data:", "  password: not base64!"),
			wantErrs: []string{
				`s.yaml:5: data[password]: Invalid value: "not base64!": must be base64-encoded (illegal base64 data at input byte 3)`,
			},
		},
		{
			name: "CronJobSchedule",
			file: "cron.yaml",
			in: lines(
				"apiVersion: batch/v1",
				"kind: CronJob",
				"metadata:",
				"  name: this-name-is-far-too-long-for-a-cronjob-in-kubernetes", // 4
				"spec:",
				"  schedule: 'TZ=UTC 0 * * * *'", // 6
				"  timeZone: Mars/Olympus",       // 7
				"  jobTemplate:",
				"    spec:",
				"      template:",
				"        spec:",
				"          restartPolicy: Never",
				"          containers: [{name: c, image: busybox}]",
			),
			wantErrs: []string{
				`cron.yaml:4: metadata.name: Invalid value: "this-name-is-far-too-long-for-a-cronjob-in-kubernetes": must be no more than 52 characters`,
				`cron.yaml:6: spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead`,
				`cron.yaml:7: spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus`,
			},
		},
		{
			name: "CronJobBadSchedule",
			file: "cron.yaml",
			in: lines(
				"apiVersion: batch/v1",
				"kind: CronJob",
				"metadata: {name: c}",
				"spec:",
				"  schedule: '0 0 * * 7'", // 5
				"  jobTemplate:",
				"    spec:",
				"      template:",
				"        spec:",
				"          restartPolicy: Never",
				"          containers: [{name: c, image: busybox}]",
			),
			wantErrs: []string{`cron.yaml:5: spec.schedule: Invalid value: "0 0 * * 7": day-of-week field "7": end of range (7) above maximum (6): 7 (allowed: 0-6 or SUN-SAT, Sunday is 0 and 7 is not accepted; also *, ?, a,b lists, a-b ranges, */n and a-b/n steps)`},
		},
		{
			name: "NamesAndDuplicates",
			file: "pod.yaml",
			in: lines(
				"apiVersion: v1",
				"kind: Pod",
				"metadata:",
				"  name: My_Pod", // 4
				"spec:",
				"  containers:",
				"  - name: c", // 7
				"    image: busybox",
				"  - name: c", // 9
				"    image: busybox",
			),
			wantErrs: []string{
				`pod.yaml:4: metadata.name: Invalid value: "My_Pod": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
				`pod.yaml:9: spec.containers[1].name: Duplicate value: "c"`,
			},
		},
		{
			name: "IndexedJobRules",
			file: "job.yaml",
			in: lines(
				"apiVersion: batch/v1",
				"kind: Job",
				"metadata: {name: j}",
				"spec:", // 4
				"  completionMode: Indexed",
				"  backoffLimit: -1", // 6
				"  parallelism: 2",
				"  podFailurePolicy:",
				"    rules:",
				"    - action: FailIndex", // 10
				"      onExitCodes: {operator: In, values: [0, 3, 2]}", // 11
				"  template:",
				"    spec:",
				"      restartPolicy: OnFailure", // 14
				"      containers: [{name: c, image: busybox}]",
			),
			wantErrs: []string{
				`job.yaml:4: spec.completions: Required value: when completion mode is Indexed`,
				`job.yaml:6: spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0`,
				`job.yaml:10: spec.podFailurePolicy.rules[0].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set`,
				`job.yaml:11: spec.podFailurePolicy.rules[0].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator`,
				`job.yaml:11: spec.podFailurePolicy.rules[0].onExitCodes.values[2]: Invalid value: 2: must be ordered`,
				`job.yaml:14: spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified`,
			},
		},
		{
			name: "NonIndexedPerIndexFields",
			file: "job.yaml",
			in: lines(
				"apiVersion: batch/v1",
				"kind: Job",
				"metadata: {name: j}",
				"spec:",
				"  backoffLimitPerIndex: 1", // 5
				"  template:",
				"    spec:",
				"      restartPolicy: Never",
				"      containers: [{name: c, image: busybox}]",
			),
			wantErrs: []string{`job.yaml:5: spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode`},
		},
		{
			name: "ContainerReferences",
			file: "pod.yaml",
			in: goodPod + lines(
				"    env:",
				"    - name: A",
				"      value: x",
				"      valueFrom:", // 13
				"        configMapKeyRef: {name: c, key: k}",
				"    - name: B=C",      // 15
				"      value: \"yes\"", // 16
				"    volumeMounts:",
				"    - name: missing", // 18
				"      mountPath: /m",
			),
			wantErrs: []string{
				"pod.yaml:13: spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty",
				`pod.yaml:15: spec.containers[0].env[1].name: Invalid value: "B=C": a valid environment variable name must consist only of printable ASCII characters other than '='`,
				`pod.yaml:18: spec.containers[0].volumeMounts[0].name: Not found: "missing"`,
			},
		},
		{
			name:     "YAMLBooleanForString",
			file:     "pod.yaml",
			in:       goodPod + lines("    env:", "    - {name: DEBUG, value: on}"),
			wantErrs: []string{`pod.yaml:11: spec.containers[0].env[0].value: Invalid value: true: must be a string, not a boolean (YAML reads on as true; quote it: "on")`},
		},
		{
			name:      "GenerateName",
			file:      "pod.yaml",
			in:        strings.Replace(goodPod, "name: good", "generateName: good-", 1),
			wantKinds: []string{"Pod"},
		},
		{
			name:     "NoName",
			file:     "pod.yaml",
			in:       strings.Replace(goodPod, "name: good", "labels: {a: b}", 1),
			wantErrs: []string{`pod.yaml:3: metadata.name: Required value: name or generateName is required`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Decode(tt.file, []byte(tt.in))
			got := problemLines(res.Errors)
			if fmt.Sprint(got) != fmt.Sprint(tt.wantErrs) {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.wantErrs)
			}
			var kinds []string
			for _, o := range res.Objects {
				kinds = append(kinds, o.Kind)
			}
			if fmt.Sprint(kinds) != fmt.Sprint(tt.wantKinds) {
				t.Errorf("objects: got %v, want %v", kinds, tt.wantKinds)
			}
		})
	}
}

func TestDecode_Warnings(t *testing.T) {
	in := lines(
		"apiVersion: v1", // 1
		"kind: Pod",
		"metadata: {name: w}",
		"spec:",
		"  restartPolicy: Never",
		"  nodeSelector: {disk: ssd}", // 6
		"  containers:",
		"  - name: c",
		"    image: busybox",
		"    livenessProbe:", // 10
		"      exec: {command: [/bin/true]}",
		"status:", // 12
		"  phase: Running",
	)
	res := Decode("pod.yaml", []byte(in))
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %v", res.Errors)
	}
	got := problemLines(res.Warnings)
	want := []string{
		"pod.yaml:6: spec.nodeSelector: accepted but not run by localjobs (there is one node and no scheduler)",
		"pod.yaml:10: spec.containers[0].livenessProbe: accepted but not run by localjobs (probes are not supported)",
		"pod.yaml:12: status: ignored: status is set by localjobs, not read from files",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
	pod := res.Objects[0].Obj.(*Pod)
	if pod.Status.Phase != "" {
		t.Errorf("status from the file was kept: %+v", pod.Status)
	}
}

func TestDecode_ObjectPositions(t *testing.T) {
	in := "# leading comment\n" + goodPod + "---\n" + strings.Replace(goodPod, "good", "second", 1)
	res := Decode("two.yaml", []byte(in))
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	if len(res.Objects) != 2 {
		t.Fatalf("got %d objects", len(res.Objects))
	}
	for i, want := range []struct {
		line, doc int
		name      string
	}{{2, 0, "good"}, {12, 1, "second"}} {
		o := res.Objects[i]
		if o.Line != want.line || o.Doc != want.doc || o.File != "two.yaml" || o.Obj.(*Pod).Name != want.name {
			t.Errorf("object %d: got %s:%d doc %d %s, want line %d doc %d %s", i, o.File, o.Line, o.Doc, o.Obj.(*Pod).Name, want.line, want.doc, want.name)
		}
	}
}

func TestProblem_Error(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "a.yaml", Line: 3, Path: "spec", Msg: "Required value"}, "a.yaml:3: spec: Required value"},
		{Problem{File: "a.yaml", Path: "spec", Msg: "m"}, "a.yaml: spec: m"},
		{Problem{File: "a.yaml", Line: 2, Msg: "m"}, "a.yaml:2: m"},
		{Problem{Path: "spec", Msg: "m"}, "spec: m"},
	}
	for _, tt := range tests {
		if got := tt.p.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	res := Result{Errors: []Problem{tests[0].p, tests[1].p}}
	err := res.Err()
	var p Problem
	if !errors.As(err, &p) || p != tests[0].p {
		t.Errorf("errors.As on Result.Err() = %v", p)
	}
	if want := "a.yaml:3: spec: Required value\na.yaml: spec: m"; err.Error() != want {
		t.Errorf("Err() = %q, want %q", err, want)
	}
	if (Result{}).Err() != nil {
		t.Error("Err() of an empty result is not nil")
	}
}

func TestDecode_ExportedObjectWarnsOnlyWhereUseful(t *testing.T) {
	data, err := os.ReadFile("../testdata/manifests/exported-pod.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res := Decode("exported-pod.yaml", data)
	got := problemLines(res.Warnings)
	// priority 0, serviceAccountName default, seccompProfile RuntimeDefault
	// and the like are what localjobs does anyway: no warning.
	want := []string{
		"exported-pod.yaml:40: spec.tolerations: accepted but not run by localjobs (there is one node and no scheduler)",
		"exported-pod.yaml:45: status: ignored: status is set by localjobs, not read from files",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
	p := res.Objects[0].Obj.(*Pod)
	if p.UID != "" || p.ResourceVersion != "" || !p.CreationTimestamp.IsZero() || p.ManagedFields != nil || p.Status.Phase != "" {
		t.Errorf("server-set fields kept: %+v", p.ObjectMeta)
	}
}

func TestDecode_SubMinuteEveryWarns(t *testing.T) {
	in := lines(
		"apiVersion: batch/v1",
		"kind: CronJob",
		"metadata: {name: c}",
		"spec:",
		"  schedule: '@every 10s'", // 5
		"  jobTemplate:",
		"    spec:",
		"      template:",
		"        spec:",
		"          restartPolicy: Never",
		"          containers: [{name: c, image: busybox}]",
	)
	res := Decode("cron.yaml", []byte(in))
	if len(res.Errors) > 0 || len(res.Objects) != 1 {
		t.Fatalf("errors %v, %d objects", res.Errors, len(res.Objects))
	}
	want := `cron.yaml:5: spec.schedule: "@every 10s" runs at most once a minute: each run's Job is named after its minute`
	if len(res.Warnings) != 1 || res.Warnings[0].Error() != want {
		t.Errorf("warnings = %v, want %q", res.Warnings, want)
	}
}

// utf16Bytes encodes s as UTF-16 with a byte order mark.
func utf16Bytes(s string, bigEndian bool) []byte {
	b := []byte{0xff, 0xfe}
	if bigEndian {
		b = []byte{0xfe, 0xff}
	}
	for _, c := range utf16.Encode([]rune(s)) {
		if bigEndian {
			b = append(b, byte(c>>8), byte(c))
		} else {
			b = append(b, byte(c), byte(c>>8))
		}
	}
	return b
}

// TestDecode_UTF16: a UTF-16 file (PowerShell's > writes them) decodes
// like its UTF-8 text: every document, lines counted in the text. Found by
// FuzzDecode: the bytes were split at --- lines, so every document after
// the first was silently lost.
func TestDecode_UTF16(t *testing.T) {
	in := goodPod + "---\n" + strings.Replace(goodPod, "good", "😀", 1)
	for _, big := range []bool{false, true} {
		res := Decode("w.yaml", utf16Bytes(in, big))
		want := []string{`w.yaml:14: metadata.name: Invalid value: "😀": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`}
		if len(res.Objects) != 1 || len(res.Errors) != 1 || res.Errors[0].Error() != want[0] {
			t.Errorf("big endian %v: %d objects, errors %v; want 1 and %v", big, len(res.Objects), res.Errors, want)
		}
	}
	for _, bad := range [][]byte{{0xff, 0xfe, 'a'}, {0xff, 0xfe, 0x00, 0xd8, 'a', 0}} {
		res := Decode("w.yaml", bad)
		if len(res.Errors) != 1 || !strings.HasPrefix(res.Errors[0].Error(), "w.yaml: invalid UTF-16") {
			t.Errorf("%q: errors %v", bad, res.Errors)
		}
	}
}

// TestDecode_OddUnknownKeys: unknown fields whose keys are empty or hold
// '.' or '[' are named exactly. Found by FuzzDecode: an empty key at the
// top made Decode panic.
func TestDecode_OddUnknownKeys(t *testing.T) {
	tests := []struct{ in, want string }{
		{"apiVersion: v1\nkind: Pod\n\"\": 1\n", `p.yaml:3: unknown field ""`},
		{"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  \"\": 1\n", `p.yaml:5: metadata.: unknown field ""`},
		{"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  a.b: 1\n", `p.yaml:5: metadata.a.b: unknown field "a.b"`},
		{"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  a[0]: 1\n", `p.yaml:5: metadata.a[0]: unknown field "a[0]"`},
	}
	for _, tt := range tests {
		res := Decode("p.yaml", []byte(tt.in))
		got := problemLines(res.Errors)
		if len(got) == 0 || got[0] != tt.want {
			t.Errorf("Decode(%q): errors %q, want first %q", tt.in, got, tt.want)
		}
	}
}

// problemLines are problems as Decode's callers print them.
func problemLines(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Error())
	}
	return out
}
