//! A team of threads that runs one recurrence together, meeting at a barrier every step.
//!
//! A step of a recurrence is too short (tens of microseconds) to hand to a thread pool: waking
//! a sleeping worker costs about as much as the step. A team instead gathers its threads once
//! per layer call (rayon's workers, through `rayon::broadcast`: the threads that are already
//! there, so the team never competes with them for the cores), gives each member a share of
//! the hidden units for the whole sequence, and synchronises with a [`SpinBarrier`] between
//! steps. The
//! members trade their parts of each step's state through an [`Exchange`]: locks that the
//! barrier keeps uncontended, so sharing costs a few atomic operations and no `unsafe`.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Spins before a waiting member starts yielding its core (a few microseconds).
const SPINS: usize = 4096;

/// One member of a running team.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Member<'a> {
    /// This member's number, `0..count`.
    pub(crate) index: usize,
    barrier: &'a SpinBarrier,
}

impl Member<'_> {
    /// Waits until every member has called `wait` as often as this one.
    ///
    /// # Panics
    ///
    /// When another member panicked (so that no member waits forever).
    pub(crate) fn wait(&self) {
        self.barrier.wait();
    }
}

/// The number of threads a team may use: rayon's (one per core unless configured otherwise),
/// or 1 on one of rayon's own threads (a team there could wait on workers that are busy
/// waiting on teams of their own).
pub(crate) fn threads() -> usize {
    if rayon::current_thread_index().is_some() {
        1
    } else {
        rayon::current_num_threads().max(1)
    }
}

/// Runs `work` on `count` members at once and returns their results in member order: on
/// rayon's workers when the pool has enough of them, otherwise on the calling thread and
/// `count - 1` scoped threads. A panic in any member is raised again here.
pub(crate) fn run<T: Send>(count: usize, work: impl Fn(Member<'_>) -> T + Sync) -> Vec<T> {
    let barrier = SpinBarrier::new(count.max(1));
    let guarded = |index: usize| {
        let member = Member {
            index,
            barrier: &barrier,
        };
        match catch_unwind(AssertUnwindSafe(|| work(member))) {
            Ok(value) => value,
            Err(payload) => {
                barrier.poison();
                resume_unwind(payload)
            }
        }
    };
    if count <= 1 {
        return vec![guarded(0)];
    }
    if count <= threads() {
        let results: Vec<Mutex<Option<T>>> = (0..count).map(|_| Mutex::new(None)).collect();
        rayon::broadcast(|context| {
            let index = context.index();
            if index < count {
                let value = guarded(index);
                *results[index]
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(value);
            }
        });
        return results
            .into_iter()
            .map(|slot| {
                slot.into_inner()
                    .unwrap_or_else(PoisonError::into_inner)
                    .expect("every member of the team ran")
            })
            .collect();
    }
    std::thread::scope(|scope| {
        let others: Vec<_> = (1..count)
            .map(|index| {
                let guarded = &guarded;
                scope.spawn(move || guarded(index))
            })
            .collect();
        let mut results = vec![guarded(0)];
        for handle in others {
            results.push(
                handle
                    .join()
                    .unwrap_or_else(|payload| resume_unwind(payload)),
            );
        }
        results
    })
}

/// A reusable barrier for a fixed number of threads that spins, then yields, while it waits.
#[derive(Debug)]
struct SpinBarrier {
    count: usize,
    arrived: AtomicUsize,
    generation: AtomicUsize,
    poisoned: AtomicBool,
}

impl SpinBarrier {
    fn new(count: usize) -> Self {
        Self {
            count,
            arrived: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
            poisoned: AtomicBool::new(false),
        }
    }

    fn poison(&self) {
        self.poisoned.store(true, Ordering::Release);
    }

    fn wait(&self) {
        if self.count == 1 {
            return;
        }
        let generation = self.generation.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.count {
            // The last to arrive opens the barrier for this generation.
            self.arrived.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Release);
            return;
        }
        let mut spins = 0;
        while self.generation.load(Ordering::Acquire) == generation {
            assert!(
                !self.poisoned.load(Ordering::Acquire),
                "another member of the team panicked"
            );
            if spins < SPINS {
                spins += 1;
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// Double-buffered parts of a per-step value (a state, a gradient) that every member writes
/// its own part of and every member reads whole.
///
/// Step `i` writes buffer `i % 2` and, after a barrier, reads it; the barrier of step `i + 1`
/// keeps step `i + 2` from overwriting it while a slow member still reads. The locks are thus
/// never contended; they are what makes the sharing safe.
#[derive(Debug)]
pub(crate) struct Exchange {
    slots: [Vec<RwLock<Vec<f32>>>; 2],
}

impl Exchange {
    /// Buffers of `sizes[m]` zeros for each member `m`.
    pub(crate) fn new(sizes: &[usize]) -> Self {
        let slot = || sizes.iter().map(|&n| RwLock::new(vec![0.0; n])).collect();
        Self {
            slots: [slot(), slot()],
        }
    }

    /// Every member's part of buffer `parity % 2`, in member order.
    pub(crate) fn read(&self, parity: usize) -> Vec<RwLockReadGuard<'_, Vec<f32>>> {
        self.slots[parity % 2]
            .iter()
            .map(|lock| lock.read().unwrap_or_else(PoisonError::into_inner))
            .collect()
    }

    /// Member `member`'s part of buffer `parity % 2`, to write.
    pub(crate) fn write(&self, parity: usize, member: usize) -> RwLockWriteGuard<'_, Vec<f32>> {
        self.slots[parity % 2][member]
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_see_each_others_parts_after_every_barrier() {
        let count = 3;
        let steps = 200;
        let exchange = Exchange::new(&[2, 2, 2]);
        let sums = run(count, |member| {
            let mut seen = Vec::new();
            for step in 0..steps {
                {
                    let mut part = exchange.write(step, member.index);
                    part.fill((step * 10 + member.index) as f32);
                }
                member.wait();
                let parts = exchange.read(step);
                let total: f32 = parts.iter().map(|p| p[0] + p[1]).sum();
                seen.push(total);
            }
            seen
        });
        for seen in sums {
            for (step, total) in seen.into_iter().enumerate() {
                // Every member wrote 2 * (10 * step + index) in this step.
                let expected = (0..count).map(|m| 2 * (10 * step + m)).sum::<usize>();
                assert_eq!(total, expected as f32, "step {step}");
            }
        }
    }

    #[test]
    fn a_team_on_the_pool_threads_returns_every_result() {
        let count = threads();
        let indices = run(count, |member| {
            member.wait();
            member.index
        });
        assert_eq!(indices, (0..count).collect::<Vec<_>>());
    }

    #[test]
    fn a_panicking_member_releases_the_others() {
        let result = catch_unwind(|| {
            run(2, |member| {
                if member.index == 1 {
                    panic!("member 1 fails");
                }
                for _ in 0..3 {
                    member.wait();
                }
            })
        });
        assert!(result.is_err());
    }
}
