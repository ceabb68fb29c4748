// Peer benchmark: Go goroutines and channels on one OS thread
// (GOMAXPROCS=1), the reference libaq's aqbench is compared to.
//
// Usage:  gopeer WORKLOAD N
//
// Prints one line on stdout, "WORKLOAD N ns_per_item" (1 decimal), except
//
//	spawn N ns_cold ns_warm bytes_per_task
//	timers N ns_per_timer mean_lateness_us
//
// Unknown workload or bad N: message on stderr, exit 2. A failed result
// check: exit 1.
//
// The workloads mirror ../asyncio_bench.py one for one, plus select2 and
// selpingpong, which only aqbench and this peer have (asyncio has no
// select over queues), and the sync workloads lock, sem, lockhandoff and
// group1000 (lockhandoff prints a second field: the percentage of
// acquisitions that were hand-overs). Timing covers only
// the measured part (from starting the goroutines to the last one finishing).
// Differences from the asyncio peer that cannot be avoided:
//   - switch: a yield is runtime.Gosched() (asyncio: await asyncio.sleep(0)).
//   - fanout: Go channels have no join(); a sync.WaitGroup with Add(1) per
//     item sent and Done() per item received stands in for
//     Queue.join()/task_done().
//   - priority: no priority channel exists; container/heap over []int is the
//     same binary heap asyncio.PriorityQueue builds with heapq.
//   - spawn: Go has no unbounded channel. An unbuffered one is used: every
//     receiver is already parked when the sends start, so each send is a
//     direct handoff that never blocks, as a put on an unbounded queue
//     would be, and no buffer memory lands in the RSS figure.
//     runtime.GC() before each round mirrors gc.collect() in Python.
package main

import (
	"container/heap"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// lcg returns the shared pseudo-random sequence: x0=12345,
// x = (x*1103515245+12345) mod 2^31, the value after each step
// (identical in the asyncio peer). uint64 cannot overflow: x < 2^31.
func lcg(n int) []int {
	out := make([]int, n)
	x := uint64(12345)
	for i := range out {
		x = (x*1103515245 + 12345) % (1 << 31)
		out[i] = int(x)
	}
	return out
}

func check(ok bool, what string) {
	if !ok {
		fmt.Fprintln(os.Stderr, "check failed:", what)
		os.Exit(1)
	}
}

// vmRSS returns the current resident set size from /proc/self/status
// (VmRSS is in kB).
func vmRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					return kb * 1024
				}
			}
		}
	}
	fmt.Fprintln(os.Stderr, "VmRSS not found in /proc/self/status")
	os.Exit(1)
	return 0
}

func ns(d time.Duration) float64 { return float64(d.Nanoseconds()) }

// Each workload returns the line's fields after "WORKLOAD N".

func switchBench(n int) []float64 {
	var wg sync.WaitGroup
	wg.Add(2)
	t0 := time.Now()
	for k := 0; k < 2; k++ {
		go func() {
			for i := 0; i < n; i++ {
				runtime.Gosched()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	return []float64{ns(time.Since(t0)) / float64(2*n)}
}

// transfer moves n ints from 1 producer to 1 consumer through a channel of
// the given capacity; shared by handoff and bulk.
func transfer(n, capacity int) []float64 {
	ch := make(chan int, capacity)
	total := make(chan int)
	t0 := time.Now()
	go func() {
		for i := 0; i < n; i++ {
			ch <- i
		}
	}()
	go func() {
		sum := 0
		for i := 0; i < n; i++ {
			sum += <-ch
		}
		total <- sum
	}()
	sum := <-total
	elapsed := time.Since(t0)
	check(sum == n*(n-1)/2, "sum")
	return []float64{ns(elapsed) / float64(n)}
}

func handoff(n int) []float64 { return transfer(n, 1) }
func bulk(n int) []float64    { return transfer(n, 1024) }

func pingpong(n int) []float64 {
	q1, q2 := make(chan int, 1), make(chan int, 1)
	done := make(chan struct{})
	t0 := time.Now()
	go func() { // A
		for i := 0; i < n; i++ {
			q1 <- i
			check(<-q2 == i, "pingpong order")
		}
		close(done)
	}()
	go func() { // B
		for i := 0; i < n; i++ {
			q2 <- <-q1
		}
	}()
	<-done
	return []float64{ns(time.Since(t0)) / float64(n)}
}

// recvOrIdle receives from ch in a 2-case select whose other case is ctl,
// an idle control channel that never receives. Small enough for Go to
// inline (go build -gcflags=-m: "can inline recvOrIdle").
func recvOrIdle(ch, ctl chan int) int {
	select {
	case v := <-ch:
		return v
	case <-ctl:
		check(false, "select on an idle control channel")
		return 0
	}
}

// selPingpong is pingpong with every receive a recvOrIdle select.
func selPingpong(n int) []float64 {
	q1, q2, ctl := make(chan int, 1), make(chan int, 1), make(chan int, 1)
	done := make(chan struct{})
	t0 := time.Now()
	go func() { // A
		for i := 0; i < n; i++ {
			q1 <- i
			check(recvOrIdle(q2, ctl) == i, "pingpong order")
		}
		close(done)
	}()
	go func() { // B
		for i := 0; i < n; i++ {
			q2 <- recvOrIdle(q1, ctl)
		}
	}()
	<-done
	return []float64{ns(time.Since(t0)) / float64(n)}
}

// select2: one goroutine sends into a, then selects over receives from a
// and b, b always empty: exactly one case is ready and the select never
// blocks. ns per send + select.
func select2(n int) []float64 {
	a, b := make(chan int, 1024), make(chan int, 1024)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		a <- i
		select {
		case v := <-a:
			check(v == i, "select2: the ready case")
		case <-b:
			check(false, "select2: the ready case")
		}
	}
	return []float64{ns(time.Since(t0)) / float64(n)}
}

func fanout(n int) []float64 {
	const consumers = 8
	ch := make(chan int, 64)
	sums := make([]int, consumers)
	var items, stopped sync.WaitGroup
	stopped.Add(consumers)
	t0 := time.Now()
	for k := 0; k < consumers; k++ {
		go func(k int) {
			for {
				v := <-ch
				if v < 0 { // sentinel
					break
				}
				sums[k] += v
				items.Done()
			}
			stopped.Done()
		}(k)
	}
	for i := 0; i < n; i++ {
		items.Add(1)
		ch <- i
	}
	items.Wait() // every item consumed
	for k := 0; k < consumers; k++ {
		ch <- -1
	}
	stopped.Wait()
	elapsed := time.Since(t0)
	total := 0
	for _, s := range sums {
		total += s
	}
	check(total == n*(n-1)/2, "sum")
	return []float64{ns(elapsed) / float64(n)}
}

// intHeap is a min-heap of ints for container/heap.
type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func priority(n int) []float64 {
	prios := lcg(n) // generated outside the timed part
	h := &intHeap{} // unbounded: grows like the list behind PriorityQueue
	t0 := time.Now()
	for _, p := range prios {
		heap.Push(h, p)
	}
	prev := -1
	for i := 0; i < n; i++ {
		p := heap.Pop(h).(int)
		check(p >= prev, "priority order")
		prev = p
	}
	return []float64{ns(time.Since(t0)) / float64(n)}
}

// spawnRound starts n goroutines all parked receiving from one shared
// channel, then feeds them. It returns the elapsed time excluding the RSS
// read, and VmRSS while all n are parked.
func spawnRound(n int) (time.Duration, int64) {
	runtime.GC()
	ch := make(chan int)
	var started, done sync.WaitGroup
	var total int64
	started.Add(n)
	done.Add(n)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		go func() {
			// With one P nothing runs between Done and the receive, so
			// when the last Done wakes main, all n are parked in <-ch.
			started.Done()
			atomic.AddInt64(&total, int64(<-ch))
			done.Done()
		}()
	}
	started.Wait()
	t1 := time.Now()
	rss := vmRSS()
	t2 := time.Now()
	for i := 0; i < n; i++ {
		ch <- i
	}
	done.Wait()
	t3 := time.Now()
	check(total == int64(n)*int64(n-1)/2, "sum")
	return t1.Sub(t0) + t3.Sub(t2), rss
}

func spawn(n int) []float64 {
	_, rss1000 := spawnRound(1000) // warm-up and memory baseline
	cold, rssN := spawnRound(n)
	warm, _ := spawnRound(n)
	return []float64{ns(cold) / float64(n), ns(warm) / float64(n),
		float64(rssN-rss1000) / float64(n)}
}

func timers(n int) []float64 {
	// Durations: x % 100000 microseconds, i.e. [0, 100) ms.
	durations := make([]time.Duration, n)
	for i, x := range lcg(n) {
		durations[i] = time.Duration(x%100000) * time.Microsecond
	}
	var lateness int64
	var wg sync.WaitGroup
	wg.Add(n)
	t0 := time.Now()
	for _, d := range durations {
		go func(d time.Duration) {
			// Intended wake = when this goroutine starts sleeping + d.
			start := time.Now()
			time.Sleep(d)
			atomic.AddInt64(&lateness, int64(time.Since(start)-d))
			wg.Done()
		}(d)
	}
	wg.Wait()
	elapsed := time.Since(t0)
	return []float64{ns(elapsed) / float64(n), float64(lateness) / float64(n) / 1000}
}

// lock: sync.Mutex Lock+Unlock in one goroutine, never contended: ns per
// pair.
func lockBench(n int) []float64 {
	var mu sync.Mutex
	t0 := time.Now()
	for i := 0; i < n; i++ {
		mu.Lock()
		mu.Unlock()
	}
	return []float64{ns(time.Since(t0)) / float64(n)}
}

// sem: one permit taken and returned, n times, never contended; the
// implementation (x/sync's semaphore.Weighted or a channel) is in
// sync_xsync.go or sync_fallback.go. ns per acquire + release.
func semBench(n int) []float64 {
	t0 := time.Now()
	semAcquireRelease(n)
	return []float64{ns(time.Since(t0)) / float64(n)}
}

// lockHandoff: two goroutines each loop Lock, Gosched (so the other finds
// the mutex held and blocks), Unlock; n acquisitions in all, (n+1)/2 by
// the first and n/2 by the second. Fields: ns per acquisition, and the
// percentage of acquisitions that took the mutex from the other goroutine
// (a hand-over). Go's Mutex lets the unlocker take it straight back
// (barging) until a waiter has waited 1 ms (starvation mode), so that
// percentage can be well below 100.
func lockHandoff(n int) []float64 {
	var mu sync.Mutex
	var wg sync.WaitGroup
	owner, handovers := -1, 0
	wg.Add(2)
	t0 := time.Now()
	for k := 0; k < 2; k++ {
		go func(me, iters int) {
			for i := 0; i < iters; i++ {
				mu.Lock()
				if owner != me && owner >= 0 {
					handovers++
				}
				owner = me
				runtime.Gosched()
				mu.Unlock()
			}
			wg.Done()
		}(k, (n+1-k)/2)
	}
	wg.Wait()
	elapsed := time.Since(t0)
	return []float64{ns(elapsed) / float64(n), 100 * float64(handovers) / float64(n)}
}

func noop() error { return nil }

// group1000: n rounds of a group of 1,000 goroutines that each return nil
// at once, spawned and waited for (errgroup.Group, or its written-out
// fallback): ns per group.
func group1000(n int) []float64 {
	t0 := time.Now()
	for i := 0; i < n; i++ {
		check(runGroup(1000, noop) == nil, "group1000: a goroutine failed")
	}
	return []float64{ns(time.Since(t0)) / float64(n)}
}

var workloads = map[string]func(int) []float64{
	"switch": switchBench, "handoff": handoff, "pingpong": pingpong,
	"bulk": bulk, "fanout": fanout, "priority": priority,
	"spawn": spawn, "timers": timers,
	"select2": select2, "selpingpong": selPingpong,
	"lock": lockBench, "sem": semBench, "lockhandoff": lockHandoff,
	"group1000": group1000,
}

func main() {
	runtime.GOMAXPROCS(1) // one thread, like an asyncio loop or a libaq loop
	// Which semaphore and group the sem and group1000 workloads use, for
	// run.py's header (as the asyncio peer reports its loop).
	fmt.Fprintln(os.Stderr, "syncpeers="+syncPeers)
	var run func(int) []float64
	n := 0
	if len(os.Args) == 3 {
		run = workloads[os.Args[1]]
		n, _ = strconv.Atoi(os.Args[2])
	}
	if run == nil || n < 1 {
		fmt.Fprintln(os.Stderr, "usage: gopeer WORKLOAD N  (N >= 1; WORKLOAD one of:"+
			" switch handoff pingpong bulk fanout priority spawn timers"+
			" select2 selpingpong lock sem lockhandoff group1000)")
		os.Exit(2)
	}
	out := []string{os.Args[1], strconv.Itoa(n)}
	for _, v := range run(n) {
		out = append(out, strconv.FormatFloat(v, 'f', 1, 64))
	}
	fmt.Println(strings.Join(out, " "))
}
