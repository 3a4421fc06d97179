package notify

// FallbackRootsSet reports whether the fallback CA roots were handed over.
func FallbackRootsSet() bool { return fallbackRootsSet.Load() }
