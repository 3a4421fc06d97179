package controller

import (
	"testing"

	"github.com/localjobs/localjobs/runner"
)

func TestOrphanReason(t *testing.T) {
	rec := &runner.PodRecord{
		Sandbox: &runner.Run{ID: "sb", EngineName: "lj_pod_POD_0", Step: runner.StepStarted},
		Containers: []*runner.ContainerRecord{
			{Name: "main", Current: &runner.Run{ID: "c2", EngineName: "lj_pod_main_2", Step: runner.StepStarted},
				Last: &runner.Run{ID: "c1", EngineName: "lj_pod_main_1", Step: runner.StepExited}},
			{Name: "side", Current: &runner.Run{EngineName: "lj_pod_side_0", Step: runner.StepIntent}},
			{Name: "gone", Current: &runner.Run{ID: "c9", EngineName: "lj_pod_gone_0", Step: runner.StepExited}},
		},
	}
	running := func(id, name string) runner.ContainerInfo {
		return runner.ContainerInfo{ID: id, Name: name, Running: true, Status: "running"}
	}
	for _, tc := range []struct {
		name   string
		rec    *runner.PodRecord
		ci     runner.ContainerInfo
		orphan bool
	}{
		{"no record", nil, runner.ContainerInfo{ID: "x", Status: "exited"}, true},
		{"the sandbox", rec, running("sb", "lj_pod_POD_0"), false},
		{"current instance", rec, running("c2", "lj_pod_main_2"), false},
		{"intent, by name", rec, running("c5", "lj_pod_side_0"), false},
		{"created, named by nothing", rec, runner.ContainerInfo{ID: "c7", Name: "lj_pod_main_3", Status: "created"}, true},
		{"running beside the current one", rec, running("c8", "lj_pod_main_7"), true},
		{"running though recorded exited", rec, running("c9", "lj_pod_gone_0"), true},
		{"last instance, exited", rec, runner.ContainerInfo{ID: "c1", Name: "lj_pod_main_1", Status: "exited"}, false},
		{"older instance, exited: history", rec, runner.ContainerInfo{ID: "c0", Name: "lj_pod_main_0", Status: "exited"}, false},
		{"recorded exited, created (start error)", rec, runner.ContainerInfo{ID: "c9", Name: "lj_pod_gone_0", Status: "created"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			why := orphanReason(tc.rec, tc.ci)
			if got := why != ""; got != tc.orphan {
				t.Errorf("orphanReason = %q, want orphan %v", why, tc.orphan)
			}
		})
	}
}
