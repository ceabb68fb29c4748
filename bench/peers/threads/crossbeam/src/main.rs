//! Cross-thread peer benchmark: crossbeam-channel between two std threads.
//!
//! Usage: crossbeam-threads [N]   (else env N; default 2,000,000 items for
//! thread_bulk, 200,000 round trips for thread_pingpong; N sets both).
//! Prints "<row> crossbeam <ns>", the median of 3 runs per row:
//!
//!   thread_bulk      bounded(1024), one producer thread sends N u64, one
//!                    consumer thread receives them all; ns per item.
//!   thread_pingpong  two bounded(1) channels, one thread sends i and waits
//!                    for the echo from the other, N times; ns per round trip.
//!
//! A run is timed from spawning the threads to joining them.
//! Exit 1 if a result check fails, 2 on a bad N.
use crossbeam_channel::bounded;
use std::process::exit;
use std::thread;
use std::time::Instant;

fn check(ok: bool, what: &str) {
    if !ok {
        eprintln!("check failed: {what}");
        exit(1);
    }
}

/// ns per item through bounded(1024); checks the sum of received items.
fn bulk(n: u64) -> f64 {
    let (tx, rx) = bounded::<u64>(1024);
    let t0 = Instant::now();
    let prod = thread::spawn(move || {
        for i in 0..n {
            tx.send(i).unwrap();
        }
    });
    let cons = thread::spawn(move || (0..n).map(|_| rx.recv().unwrap()).sum::<u64>());
    prod.join().unwrap();
    let sum = cons.join().unwrap();
    let el = t0.elapsed();
    check(sum == n * (n - 1) / 2, "thread_bulk sum");
    el.as_nanos() as f64 / n as f64
}

/// ns per round trip over two bounded(1) channels; checks every echo.
fn pingpong(n: u64) -> f64 {
    let (ping_tx, ping_rx) = bounded::<u64>(1);
    let (pong_tx, pong_rx) = bounded::<u64>(1);
    let t0 = Instant::now();
    let echo = thread::spawn(move || {
        for _ in 0..n {
            pong_tx.send(ping_rx.recv().unwrap()).unwrap();
        }
    });
    let init = thread::spawn(move || {
        let mut bad = 0u64;
        for i in 0..n {
            ping_tx.send(i).unwrap();
            bad += (pong_rx.recv().unwrap() != i) as u64;
        }
        bad
    });
    let bad = init.join().unwrap();
    echo.join().unwrap();
    let el = t0.elapsed();
    check(bad == 0, "thread_pingpong echo");
    el.as_nanos() as f64 / n as f64
}

fn median3(f: fn(u64) -> f64, n: u64) -> f64 {
    let mut r = [f(n), f(n), f(n)];
    r.sort_by(|a, b| a.partial_cmp(b).unwrap());
    r[1]
}

fn main() {
    let (mut n_bulk, mut n_pp) = (2_000_000u64, 200_000u64);
    let s = std::env::args().nth(1).or_else(|| std::env::var("N").ok());
    if let Some(s) = s.filter(|s| !s.is_empty()) {
        match s.parse::<u64>() {
            Ok(v) if v > 0 && v <= 1_000_000_000 => (n_bulk, n_pp) = (v, v),
            _ => {
                eprintln!("usage: crossbeam-threads [N]  (0 < N <= 1e9)");
                exit(2);
            }
        }
    }
    println!("thread_bulk crossbeam {:.1}", median3(bulk, n_bulk));
    println!("thread_pingpong crossbeam {:.1}", median3(pingpong, n_pp));
}
