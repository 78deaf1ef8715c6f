//! The tokio runtime the binary runs on: one worker per CPU, each worker pinned to a CPU of its
//! own when the process has those CPUs to itself.
//!
//! Why pin (issue #21): with the load generator and SQLite's checkpoint thread sharing the same
//! two cores, the kernel moved the workers between the cores, and each move left the worker's
//! caches behind — SQLite's B-tree and page-cache lookups (`pcache1Fetch` is mostly cache
//! misses) and the write connection's state, which a write request's hand-over keeps on one
//! worker. wrk with 32 clients, alternating, same build: creates 9,258–9,692/s at 147–154 µs
//! of CPU each pinned against 8,506–8,799 at 155–163 unpinned; PATCHes 9,526–9,938 against
//! 9,304–9,873, p99 7.9–8.3 ms against 9.0–10.5.
//!
//! When not to: a process limited by a CPU quota (a container's `cpu.max`) may run on every CPU
//! of the host but gets fewer workers; pinning them to the first CPUs would crowd every such
//! process onto the same cores. So `auto` pins only when the workers are exactly the CPUs the
//! process may run on (its affinity mask: the host's, or a cpuset's) and no quota lowers the
//! parallelism the standard library reports.

use std::io;

use clap::ValueEnum;
use tokio::runtime::{Builder, Runtime};

/// Whether `serve` pins its runtime's workers to CPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PinWorkers {
    /// Pin when the workers are exactly the CPUs the process may run on, each its own.
    Auto,
    /// Let the kernel place the workers.
    Off,
}

/// A multi-threaded runtime with every driver, its workers pinned as `pin` says.
pub fn build(pin: PinWorkers) -> io::Result<Runtime> {
    let parallelism = std::thread::available_parallelism().map_or(1, usize::from);
    let workers = configured_workers().unwrap_or(parallelism);
    let plan = match pin {
        PinWorkers::Auto => pin_plan(&allowed_cpus(), workers, parallelism),
        PinWorkers::Off => None,
    };
    let mut builder = Builder::new_multi_thread();
    builder.enable_all().worker_threads(workers);
    if let Some(cpus) = plan {
        let started = std::sync::atomic::AtomicUsize::new(0);
        // The runtime starts its workers first, when it is built, before any blocking thread:
        // the first `workers` threads it starts are the workers (a later blocking thread finds
        // no CPU left in the plan and stays where the kernel puts it).
        builder.on_thread_start(move || {
            let nth = started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if let Some(&cpu) = cpus.get(nth)
                && let Err(err) = pin_current_thread(cpu)
            {
                tracing::debug!(cpu, error = %err, "could not pin a runtime worker");
            }
        });
    }
    builder.build()
}

/// `TOKIO_WORKER_THREADS`, which tokio's own builder honours, if set to a number.
fn configured_workers() -> Option<usize> {
    std::env::var("TOKIO_WORKER_THREADS")
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|&workers| workers > 0)
}

/// The CPU for each worker, in order, or `None` when the workers should float: pinned only when
/// there is one worker for each CPU the process may run on (`allowed`) and the parallelism the
/// standard library reports (which counts a CPU quota) is that many too.
fn pin_plan(allowed: &[usize], workers: usize, parallelism: usize) -> Option<Vec<usize>> {
    (workers > 1 && allowed.len() == workers && parallelism == workers).then(|| allowed.to_vec())
}

/// The CPUs this process may run on (empty if the kernel would not say).
#[cfg(target_os = "linux")]
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: `cpu_set_t` is a plain bit set, valid zeroed; `sched_getaffinity` writes at most
    // `size_of::<cpu_set_t>()` bytes into it, and `CPU_ISSET` reads it within its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect()
    }
}

#[cfg(not(target_os = "linux"))]
fn allowed_cpus() -> Vec<usize> {
    Vec::new()
}

/// Keeps the calling thread on `cpu`.
#[cfg(target_os = "linux")]
fn pin_current_thread(cpu: usize) -> io::Result<()> {
    // SAFETY: as in `allowed_cpus`; `CPU_SET` writes one bit within the set (`cpu` comes from
    // the process's own mask, below `CPU_SETSIZE`), and pid 0 is the calling thread.
    let result = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn pin_current_thread(_cpu: usize) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_are_pinned_only_when_they_are_exactly_the_cpus_the_process_has() {
        // One worker per CPU of the machine, or of a cpuset: each its own.
        assert_eq!(pin_plan(&[0, 1], 2, 2), Some(vec![0, 1]));
        assert_eq!(pin_plan(&[4, 5, 6], 3, 3), Some(vec![4, 5, 6]));
        // A CPU quota: the host's CPUs, fewer workers.
        assert_eq!(pin_plan(&[0, 1, 2, 3], 2, 2), None);
        // Workers set by hand to more or fewer than the CPUs.
        assert_eq!(pin_plan(&[0, 1], 4, 2), None);
        assert_eq!(pin_plan(&[0, 1], 1, 2), None);
        // A quota the affinity mask does not show.
        assert_eq!(pin_plan(&[0, 1], 2, 1), None);
        // One CPU, or a mask the kernel would not give.
        assert_eq!(pin_plan(&[0], 1, 1), None);
        assert_eq!(pin_plan(&[], 2, 2), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_pinned_thread_runs_only_on_its_cpu() {
        let allowed = allowed_cpus();
        assert!(!allowed.is_empty());
        let cpu = allowed[allowed.len() - 1];
        let seen = std::thread::spawn(move || {
            pin_current_thread(cpu).unwrap();
            allowed_cpus()
        })
        .join()
        .unwrap();
        assert_eq!(seen, vec![cpu]);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_runtime_pins_its_workers_when_it_has_a_cpu_for_each() {
        let allowed = allowed_cpus();
        let parallelism = std::thread::available_parallelism().map_or(1, usize::from);
        let workers = configured_workers().unwrap_or(parallelism);
        let runtime = build(PinWorkers::Auto).unwrap();
        let mut seen: Vec<Vec<usize>> = runtime.block_on(async {
            let tasks: Vec<_> = (0..64)
                .map(|_| tokio::spawn(async { allowed_cpus() }))
                .collect();
            let mut seen = Vec::new();
            for task in tasks {
                seen.push(task.await.unwrap());
            }
            seen
        });
        seen.sort();
        seen.dedup();
        if pin_plan(&allowed, workers, parallelism).is_some() {
            // Every task ran on a worker held to one CPU.
            assert!(seen.iter().all(|mask| mask.len() == 1), "{seen:?}");
        } else {
            assert!(seen.iter().all(|mask| *mask == allowed), "{seen:?}");
        }
        let floating = build(PinWorkers::Off).unwrap();
        let mask = floating.block_on(async { tokio::spawn(async { allowed_cpus() }).await });
        assert_eq!(mask.unwrap(), allowed);
    }
}
