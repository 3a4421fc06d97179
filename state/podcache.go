package state

import (
	"bytes"
	"container/list"
	"sync"

	"github.com/localjobs/localjobs/runner"
)

// podCacheBytes bounds the stored bytes of the records podCache holds
// (about 1,400 pods of 3 KB; the decoded records take about as much again).
const podCacheBytes = 4 << 20

// podCache keeps pod records decoded by PodsOfJob with the exact bytes
// they were decoded from. A Job's worker lists its pods after every change
// of one of them; decoding every record each time made a 200-pod Job cost
// 10 s of CPU (64 % of the daemon's time in make bench's throughput row),
// the engine's share on a small machine. An entry is used only when the
// stored bytes are still equal to its own, so it can never be stale; the
// least recently used entries go past podCacheBytes. The zero value is
// ready to use.
type podCache struct {
	mu    sync.Mutex
	size  int
	max   int       // 0 means podCacheBytes
	lru   list.List // of *podEntry, most recently used first
	byKey map[string]*list.Element
}

type podEntry struct {
	key string
	raw []byte
	rec *runner.PodRecord
}

// get returns the record decoded from raw under key, or nil.
func (c *podCache) get(key []byte, raw []byte) *runner.PodRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.byKey[string(key)]
	if el == nil {
		return nil
	}
	e := el.Value.(*podEntry)
	if !bytes.Equal(e.raw, raw) {
		return nil
	}
	c.lru.MoveToFront(el)
	return e.rec
}

// put remembers rec as decoded from raw (copied: bbolt's bytes live only
// as long as the transaction).
func (c *podCache) put(key []byte, raw []byte, rec *runner.PodRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKey == nil {
		c.byKey = map[string]*list.Element{}
	}
	c.dropLocked(string(key))
	e := &podEntry{key: string(key), raw: bytes.Clone(raw), rec: rec}
	c.byKey[e.key] = c.lru.PushFront(e)
	c.size += len(e.raw)
	limit := c.max
	if limit == 0 {
		limit = podCacheBytes
	}
	for c.size > limit && c.lru.Len() > 0 {
		c.dropLocked(c.lru.Back().Value.(*podEntry).key)
	}
}

// drop forgets key (a deleted pod).
func (c *podCache) drop(key []byte) {
	c.mu.Lock()
	c.dropLocked(string(key))
	c.mu.Unlock()
}

func (c *podCache) dropLocked(key string) {
	if el := c.byKey[key]; el != nil {
		c.size -= len(el.Value.(*podEntry).raw)
		c.lru.Remove(el)
		delete(c.byKey, key)
	}
}

// len is the number of entries (tests).
func (c *podCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
