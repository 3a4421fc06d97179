package manifest

import "testing"

// TestControllerRef: only a reference with controller: true and the kind
// asked for counts.
func TestControllerRef(t *testing.T) {
	yes, no := true, false
	m := ObjectMeta{OwnerReferences: []OwnerReference{
		{Kind: KindJob, Name: "not-controller", Controller: &no},
		{Kind: KindCronJob, Name: "cron", Controller: &yes},
		{Kind: KindJob, Name: "job", UID: "u1", Controller: &yes},
	}}
	if o := m.ControllerRef(KindJob); o == nil || o.Name != "job" || o.UID != "u1" {
		t.Errorf("ControllerRef(Job) = %+v, want job", o)
	}
	if o := m.ControllerRef(KindCronJob); o == nil || o.Name != "cron" {
		t.Errorf("ControllerRef(CronJob) = %+v, want cron", o)
	}
	if o := (&ObjectMeta{}).ControllerRef(KindJob); o != nil {
		t.Errorf("no owners: %+v, want nil", o)
	}
}
