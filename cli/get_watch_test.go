package cli

import (
	"bytes"
	"context"
	"github.com/localjobs/localjobs/daemon"
	"testing"
)

// TestGetWatchCronJobs: the daemon has no CronJob watch, so get cronjobs -w
// fails plainly (exit 1) instead of opening a watch that never delivers.
func TestGetWatchCronJobs(t *testing.T) {
	for _, args := range [][]string{{"cronjobs", "-w"}, {"cj", "nightly", "--watch"}, {"cronjob.batch", "--watch-only"}} {
		var out, errb bytes.Buffer
		e := &env{stdout: &out, stderr: &errb, stateDir: shortTempDir(t), starter: daemon.Starter{Version: Version}}
		code := e.report(e.get(context.Background(), args))
		const want = "error: watching cronjobs is not supported yet; use get jobs -w\n"
		if code != exitFailed || errb.String() != want || out.Len() != 0 {
			t.Errorf("get %q: exit %d, stdout %q, stderr %q; want 1 and %q", args, code, out.String(), errb.String(), want)
		}
	}
}
