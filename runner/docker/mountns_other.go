//go:build !linux

package docker

// engineSharesMounts is false off Linux: the engine runs in a VM.
func engineSharesMounts(string) bool { return false }
