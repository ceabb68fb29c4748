// The channel workloads of the Rust peers (see main.rs), included once per
// channel into a module where `chan` names that channel's calls. Each
// returns the line's fields after "WORKLOAD N"; timing covers only the
// measured part, from spawning the tasks to the last one finishing.

use crate::{check, ns_since, vm_rss_bytes};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub async fn run(work: &str, n: usize) -> Option<Vec<f64>> {
    Some(match work {
        "handoff" => transfer(n, 1).await,
        "bulk" => transfer(n, 1024).await,
        "pingpong" => pingpong(n).await,
        "fanout" => fanout(n).await,
        "spawn" => spawn(n).await,
        _ => return None,
    })
}

fn triangle(n: usize) -> i64 {
    (n as i64) * (n as i64 - 1) / 2
}

/// 1 producer -> 1 consumer through a channel of capacity cap: ns per item.
async fn transfer(n: usize, cap: usize) -> Vec<f64> {
    let (tx, mut rx) = chan::channel(cap);
    let t0 = Instant::now();
    let producer = tokio::spawn(async move {
        for i in 0..n as i64 {
            chan::send(&tx, i).await;
        }
    });
    let consumer = tokio::spawn(async move {
        let mut sum = 0i64;
        for _ in 0..n {
            sum += chan::recv(&mut rx).await;
        }
        sum
    });
    producer.await.unwrap();
    let sum = consumer.await.unwrap();
    let elapsed = ns_since(t0);
    check(sum == triangle(n), "sum");
    vec![elapsed / n as f64]
}

/// A sends i on one capacity-1 channel, B echoes it on another, A checks
/// it: ns per round trip.
async fn pingpong(n: usize) -> Vec<f64> {
    let (tx1, mut rx1) = chan::channel(1);
    let (tx2, mut rx2) = chan::channel(1);
    let t0 = Instant::now();
    let a = tokio::spawn(async move {
        for i in 0..n as i64 {
            chan::send(&tx1, i).await;
            check(chan::recv(&mut rx2).await == i, "pingpong order");
        }
    });
    let b = tokio::spawn(async move {
        for _ in 0..n {
            let v = chan::recv(&mut rx1).await;
            chan::send(&tx2, v).await;
        }
    });
    a.await.unwrap();
    b.await.unwrap();
    vec![ns_since(t0) / n as f64]
}

const FANOUT_CONSUMERS: usize = 8;

/// The main task feeds 8 consumers through a capacity-64 channel, then
/// sends each a sentinel (-1): ns per item.
async fn fanout(n: usize) -> Vec<f64> {
    let (tx, rx) = chan::channel(64);
    let rx = chan::share(rx);
    let t0 = Instant::now();
    let consumers: Vec<_> = (0..FANOUT_CONSUMERS)
        .map(|_| {
            let rx = rx.clone();
            tokio::spawn(async move {
                let mut sum = 0i64;
                loop {
                    let v = chan::recv_shared(&rx).await;
                    if v < 0 {
                        break sum;
                    }
                    sum += v;
                }
            })
        })
        .collect();
    for i in 0..n as i64 {
        chan::send(&tx, i).await;
    }
    for _ in 0..FANOUT_CONSUMERS {
        chan::send(&tx, -1).await;
    }
    let mut total = 0i64;
    for c in consumers {
        total += c.await.unwrap();
    }
    let elapsed = ns_since(t0);
    check(total == triangle(n), "sum");
    vec![elapsed / n as f64]
}

/// Spawns n tasks all parked in a receive on one unbounded channel, then
/// feeds them and awaits each. Returns the time excluding the RSS read,
/// and VmRSS while all n are parked.
async fn spawn_round(n: usize) -> (Duration, i64) {
    let (tx, rx) = chan::channel(0);
    let rx = chan::share(rx);
    // Each task counts itself before its first receive, so once the count
    // is n, every task has been polled once and is parked.
    let started = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (rx, started) = (rx.clone(), started.clone());
            tokio::spawn(async move {
                started.fetch_add(1, Ordering::Relaxed);
                chan::recv_shared(&rx).await
            })
        })
        .collect();
    while started.load(Ordering::Relaxed) < n {
        tokio::task::yield_now().await;
    }
    let t1 = Instant::now();
    let rss = vm_rss_bytes();
    let t2 = Instant::now();
    for i in 0..n as i64 {
        chan::send(&tx, i).await;
    }
    let mut total = 0i64;
    for t in tasks {
        total += t.await.unwrap();
    }
    let t3 = Instant::now();
    check(total == triangle(n), "sum");
    ((t1 - t0) + (t3 - t2), rss)
}

/// A round of 1000 (warm-up and memory baseline), then a cold and a warm
/// round of n: ns per task cold and warm, bytes per parked task.
async fn spawn(n: usize) -> Vec<f64> {
    let (_, rss_1000) = spawn_round(1000).await;
    let (cold, rss_n) = spawn_round(n).await;
    let (warm, _) = spawn_round(n).await;
    vec![
        cold.as_nanos() as f64 / n as f64,
        warm.as_nanos() as f64 / n as f64,
        (rss_n - rss_1000) as f64 / n as f64,
    ]
}
