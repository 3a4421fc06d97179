package manifest

import (
	"strings"
	"testing"
)

// TestNotifyAnnotations: a bad localjobs.io/notify-* annotation on a
// CronJob (or its jobTemplate) is an error naming the file, line and
// annotation.
func TestNotifyAnnotations(t *testing.T) {
	const doc = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: backup
  annotations:
    localjobs.io/notify-url: "ftp://example.com/hook"
    localjobs.io/notify-on: sometimes
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    metadata:
      annotations:
        localjobs.io/notify-format: teams
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: main, image: busybox}]
`
	res := Decode("backup.yaml", []byte(doc))
	got := problemLines(res.Errors)
	all := strings.Join(got, "\n")
	for _, want := range []string{
		`backup.yaml:6: metadata.annotations[localjobs.io/notify-url]: Invalid value: "ftp://example.com/hook": must be an http or https URL`,
		`backup.yaml:7: metadata.annotations[localjobs.io/notify-on]: Unsupported value: "sometimes": supported values: "failure", "always", "never"`,
		`spec.jobTemplate.metadata.annotations[localjobs.io/notify-format]: Unsupported value: "teams": supported values: "json", "slack"`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("problems lack %q:\n%s", want, all)
		}
	}
	for _, u := range []string{"https://hooks.slack.com/services/T/B/X", "http://127.0.0.1:8080/hook"} {
		if msg := CheckNotifyURL(u); msg != "" {
			t.Errorf("CheckNotifyURL(%q) = %q, want ok", u, msg)
		}
	}
	if msg := CheckNotifyURL("https:///nohost"); msg == "" {
		t.Error("a URL without a host passed")
	}
}
