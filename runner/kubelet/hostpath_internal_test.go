package kubelet

import (
	"slices"
	"testing"
)

// TestDefaultAllowHostPath is issue #8 item 4 at the unit level: no home of
// uid 0 (nor / or a folder above root's home) is allowed by default.
func TestDefaultAllowHostPath(t *testing.T) {
	tests := []struct {
		name    string
		folders []string
		uid     int
		home    string
		want    []string
	}{
		{"User", []string{"/srv/specs"}, 1000, "/home/u", []string{"/srv/specs", "/home/u"}},
		{"RootNoHome", []string{"/srv/specs"}, 0, "/root", []string{"/srv/specs"}},
		{"RootOtherHOME", nil, 0, "/home/u", []string{}},
		{"HomeIsSlash", nil, 1000, "/", []string{}},
		{"FolderIsRootHome", []string{"/root", "/", "/root/project"}, 1000, "", []string{"/root/project"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := defaultAllowHostPath(tt.folders, tt.uid, tt.home, "/root")
			if !slices.Equal(got, tt.want) {
				t.Errorf("defaultAllowHostPath(%q, uid %d, home %q) = %q, want %q", tt.folders, tt.uid, tt.home, got, tt.want)
			}
		})
	}
}
