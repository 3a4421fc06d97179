package state

import (
	"bytes"
	"container/list"
	"encoding/json"
	"sync"
)

// decodeCacheBytes bounds the stored bytes of the records a decodeCache
// holds (about 1,400 pods or Jobs of 3 KB; the decoded records take about
// as much again).
const decodeCacheBytes = 4 << 20

// decodeCache keeps records decoded from the store with the exact bytes
// they were decoded from, for the readers that promise not to modify what
// they get (shared records). A Job's worker lists its pods after every
// change of one of them; decoding every record each time made a 200-pod
// Job cost 10 s of CPU (64 % of the daemon's time in make bench's
// throughput row), the engine's share on a small machine; `get cronjobs`
// decoded every CronJob and every Job at each call. An entry is used only
// when the stored bytes are still equal to its own, so it can never be
// stale; the least recently used entries go past decodeCacheBytes. The
// zero value is ready to use.
type decodeCache[T any] struct {
	mu    sync.Mutex
	size  int
	max   int       // 0 means decodeCacheBytes
	lru   list.List // of *cacheEntry[T], most recently used first
	byKey map[string]*list.Element
}

type cacheEntry[T any] struct {
	key string
	raw []byte
	rec *T
}

// decode returns the record stored as raw under key: the one decoded
// before when raw is unchanged, else a new decode it remembers.
func (c *decodeCache[T]) decode(key, raw []byte) (*T, error) {
	if rec := c.get(key, raw); rec != nil {
		return rec, nil
	}
	rec, err := decodeWith[T](nil, key, raw)
	if err != nil {
		return nil, err
	}
	c.put(key, raw, rec)
	return rec, nil
}

// decodeWith decodes raw, through cache when there is one (nil: a new
// record every time).
func decodeWith[T any](cache *decodeCache[T], key, raw []byte) (*T, error) {
	if cache != nil {
		return cache.decode(key, raw)
	}
	rec := new(T)
	if err := json.Unmarshal(raw, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// get returns the record decoded from raw under key, or nil.
func (c *decodeCache[T]) get(key []byte, raw []byte) *T {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.byKey[string(key)]
	if el == nil {
		return nil
	}
	e := el.Value.(*cacheEntry[T])
	if !bytes.Equal(e.raw, raw) {
		return nil
	}
	c.lru.MoveToFront(el)
	return e.rec
}

// put remembers rec as decoded from raw (copied: bbolt's bytes live only
// as long as the transaction).
func (c *decodeCache[T]) put(key []byte, raw []byte, rec *T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKey == nil {
		c.byKey = map[string]*list.Element{}
	}
	c.dropLocked(string(key))
	e := &cacheEntry[T]{key: string(key), raw: bytes.Clone(raw), rec: rec}
	c.byKey[e.key] = c.lru.PushFront(e)
	c.size += len(e.raw)
	limit := c.max
	if limit == 0 {
		limit = decodeCacheBytes
	}
	for c.size > limit && c.lru.Len() > 0 {
		c.dropLocked(c.lru.Back().Value.(*cacheEntry[T]).key)
	}
}

// drop forgets key (a deleted record).
func (c *decodeCache[T]) drop(key []byte) {
	c.mu.Lock()
	c.dropLocked(string(key))
	c.mu.Unlock()
}

func (c *decodeCache[T]) dropLocked(key string) {
	if el := c.byKey[key]; el != nil {
		c.size -= len(el.Value.(*cacheEntry[T]).raw)
		c.lru.Remove(el)
		delete(c.byKey, key)
	}
}

// len is the number of entries (tests).
func (c *decodeCache[T]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
