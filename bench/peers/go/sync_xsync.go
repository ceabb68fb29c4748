//go:build xsync

// The semaphore and task-group peers from golang.org/x/sync, built when
// run.sh finds Debian's golang-golang-x-sync-dev installed (the module is
// then taken from /usr/share/gocode, never downloaded). Without it,
// sync_fallback.go stands in.
package main

import (
	"context"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
)

const syncPeers = "x/sync (semaphore.Weighted, errgroup.Group)"

// semAcquireRelease takes and returns one permit of a weight-1
// semaphore.Weighted, n times; uncontended, so Acquire never blocks.
func semAcquireRelease(n int) {
	s := semaphore.NewWeighted(1)
	ctx := context.Background()
	for i := 0; i < n; i++ {
		if err := s.Acquire(ctx, 1); err != nil {
			check(false, "semaphore acquire")
		}
		s.Release(1)
	}
}

// runGroup runs k goroutines of fn in an errgroup.Group and waits for them.
func runGroup(k int, fn func() error) error {
	var g errgroup.Group
	for i := 0; i < k; i++ {
		g.Go(fn)
	}
	return g.Wait()
}
