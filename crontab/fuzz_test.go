package crontab

import (
	"testing"

	"github.com/localjobs/localjobs/manifest"
)

// FuzzConvert checks that no crontab makes Convert panic, and that what it
// prints always passes validation: every CronJob it returns comes back
// from manifest.Decode, without errors.
func FuzzConvert(f *testing.F) {
	for _, s := range []string{
		"@daily a\n", "SHELL=/bin/bash\n0 0 * * 7 b%c\\%d%\n", "CRON_TZ=UTC\n* * * * * x\n",
		"0 0 * * * root x\n", "A='b'\n@reboot x # y\n", "0 0 */2 * 1 x\n", "\x00\n", "a\u2028b\n",
		"1-7/2 * * * 5-7 $$(HOME) $(A)%$(B)\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, system bool) {
		r := Convert(data, Options{System: system})
		y, err := r.YAML("fuzz.crontab")
		if err != nil {
			t.Fatalf("YAML: %v", err)
		}
		res := manifest.Decode("out.yaml", y)
		if len(res.Errors) > 0 || len(res.Objects) != len(r.CronJobs) {
			t.Fatalf("%d CronJobs print as %d objects, errors %v:\n%s", len(r.CronJobs), len(res.Objects), res.Errors, y)
		}
		for _, p := range r.Problems {
			if p.Line < 1 || p.Msg == "" {
				t.Errorf("problem %+v", p)
			}
		}
	})
}
