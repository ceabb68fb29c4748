//! Peer benchmark: Rust's async channels on one thread, beside libaq's
//! aqbench, the Go peer and the asyncio peer in `make bench`.
//!
//! Usage:  rustpeer IMPL WORKLOAD N
//!
//!   IMPL  tokio          tokio::sync::mpsc
//!         async-channel  async_channel (smol's MPMC channel)
//!
//! Both run on tokio's current-thread runtime (one thread, as a libaq or
//! asyncio loop, or Go with GOMAXPROCS=1), tasks made with tokio::spawn.
//! Prints one line, "WORKLOAD N ns_per_item" (1 decimal), or
//! "spawn N ns_cold ns_warm bytes_per_task", the format of aqbench and
//! the other peers. Unknown IMPL or WORKLOAD, or a bad N: usage on
//! stderr, exit 2. A failed result check: exit 1.
//!
//! The workloads repeat ../go/main.go's, with items of i64 (Go's int):
//! switch (tokio only: a yield is the runtime's, whatever the channel),
//! handoff, pingpong, bulk, fanout and spawn. Differences that cannot be
//! avoided:
//!   - tokio's mpsc has one receiver. Where several tasks receive (fanout,
//!     spawn) they share it through a tokio::sync::Mutex, the way tokio's
//!     documentation gives for several consumers; async-channel's receiver
//!     is cloned.
//!   - Neither has an unbounded channel with the bounded one's types: for
//!     spawn, tokio's bounded channel gets a capacity no run reaches
//!     (unbounded_channel's receiver is another type), async-channel its
//!     unbounded channel.
//!   - fanout: no join()/task_done(); the 8 sentinels follow every item in
//!     FIFO order, so awaiting the consumers covers every item (Go counts
//!     items with a WaitGroup, libaq and asyncio join the queue).
//!   - No priority row: neither crate has a priority channel (Go's row is
//!     container/heap, without a runtime).

use std::time::Instant;

/// The calls the workloads make on a channel, for tokio's mpsc.
mod tokio_chan {
    use std::sync::Arc;
    use tokio::sync::{mpsc, Mutex, Semaphore};

    pub type Tx = mpsc::Sender<i64>;
    pub type Rx = mpsc::Receiver<i64>;
    pub type SharedRx = Arc<Mutex<Rx>>;

    /// cap 0: unbounded, as far as any run goes.
    pub fn channel(cap: usize) -> (Tx, Rx) {
        mpsc::channel(if cap == 0 { Semaphore::MAX_PERMITS } else { cap })
    }

    pub async fn send(tx: &Tx, v: i64) {
        tx.send(v).await.expect("send on a closed channel");
    }

    pub async fn recv(rx: &mut Rx) -> i64 {
        rx.recv().await.expect("recv on a closed channel")
    }

    pub fn share(rx: Rx) -> SharedRx {
        Arc::new(Mutex::new(rx))
    }

    pub async fn recv_shared(rx: &SharedRx) -> i64 {
        rx.lock().await.recv().await.expect("recv on a closed channel")
    }
}

/// The same calls for async-channel.
mod async_chan {
    pub type Tx = async_channel::Sender<i64>;
    pub type Rx = async_channel::Receiver<i64>;
    pub type SharedRx = Rx;

    /// cap 0: unbounded.
    pub fn channel(cap: usize) -> (Tx, Rx) {
        if cap == 0 {
            async_channel::unbounded()
        } else {
            async_channel::bounded(cap)
        }
    }

    pub async fn send(tx: &Tx, v: i64) {
        tx.send(v).await.expect("send on a closed channel");
    }

    pub async fn recv(rx: &mut Rx) -> i64 {
        rx.recv().await.expect("recv on a closed channel")
    }

    pub fn share(rx: Rx) -> SharedRx {
        rx
    }

    pub async fn recv_shared(rx: &SharedRx) -> i64 {
        rx.recv().await.expect("recv on a closed channel")
    }
}

// One copy of the workloads per channel, each compiled against its own
// `chan`, so neither pays for a trait object or a boxed future.
mod tokio_peer {
    use crate::tokio_chan as chan;
    include!("workloads.rs");
}

mod async_peer {
    use crate::async_chan as chan;
    include!("workloads.rs");
}

pub fn ns_since(t0: Instant) -> f64 {
    t0.elapsed().as_nanos() as f64
}

pub fn check(ok: bool, what: &str) {
    if !ok {
        eprintln!("check failed: {}", what);
        std::process::exit(1);
    }
}

/// The current resident set size from /proc/self/status (VmRSS, in kB).
pub fn vm_rss_bytes() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in status.lines() {
        let mut f = line.split_whitespace();
        if f.next() == Some("VmRSS:") {
            if let Some(Ok(kb)) = f.next().map(str::parse::<i64>) {
                return kb * 1024;
            }
        }
    }
    eprintln!("VmRSS not found in /proc/self/status");
    std::process::exit(1);
}

/// Two tasks that only yield, n times each: ns per switch.
async fn switch(n: usize) -> Vec<f64> {
    let t0 = Instant::now();
    let yielder = move || {
        tokio::spawn(async move {
            for _ in 0..n {
                tokio::task::yield_now().await;
            }
        })
    };
    let (a, b) = (yielder(), yielder());
    a.await.unwrap();
    b.await.unwrap();
    vec![ns_since(t0) / (2 * n) as f64]
}

const USAGE: &str = "usage: rustpeer IMPL WORKLOAD N  (N >= 1; IMPL tokio: \
switch handoff pingpong bulk fanout spawn; IMPL async-channel: handoff \
pingpong bulk fanout spawn)";

fn usage() -> ! {
    eprintln!("{}", USAGE);
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        usage();
    }
    // Digits only, as the other programs accept.
    let n: usize = match args[3].parse() {
        Ok(n) if n >= 1 && args[3].bytes().all(|b| b.is_ascii_digit()) => n,
        _ => usage(),
    };
    let (imp, work) = (args[1].as_str(), args[2].as_str());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    let out = rt.block_on(async move {
        match (imp, work) {
            ("tokio", "switch") => Some(switch(n).await),
            ("tokio", w) => tokio_peer::run(w, n).await,
            ("async-channel", w) => async_peer::run(w, n).await,
            _ => None,
        }
        .unwrap_or_else(|| usage())
    });
    let fields: Vec<String> = out.iter().map(|v| format!("{:.1}", v)).collect();
    println!("{} {} {}", work, n, fields.join(" "));
}
