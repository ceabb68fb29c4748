//go:build !xsync

// Stand-ins for golang.org/x/sync when it is not installed (run.sh builds
// with -tags xsync only if Debian's golang-golang-x-sync-dev is there):
// Go's idiomatic buffered-channel semaphore, and errgroup.Group written
// out (a sync.WaitGroup plus first-error capture, which is what errgroup
// does when no context is asked for).
package main

import "sync"

const syncPeers = "fallback (buffered-channel semaphore, WaitGroup + first error)"

// semAcquireRelease takes and returns one slot of a capacity-1 channel
// semaphore, n times; uncontended, so the send never blocks.
func semAcquireRelease(n int) {
	sem := make(chan struct{}, 1)
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		<-sem
	}
}

type group struct {
	wg   sync.WaitGroup
	once sync.Once
	err  error
}

func (g *group) Go(fn func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := fn(); err != nil {
			g.once.Do(func() { g.err = err })
		}
	}()
}

func (g *group) Wait() error {
	g.wg.Wait()
	return g.err
}

// runGroup runs k goroutines of fn in a group and waits for them.
func runGroup(k int, fn func() error) error {
	var g group
	for i := 0; i < k; i++ {
		g.Go(fn)
	}
	return g.Wait()
}
