//! Reuses the kernels' large buffers from one call to the next.
//!
//! A training step allocates the same workspaces (input projections, saved gates, gate
//! gradients: tens of MiB for a mid-sized layer) every time. Fresh allocations of that size
//! come from the operating system as untouched pages, and faulting them in costs as much as
//! the arithmetic of a small layer. The pool keeps buffers that calls give back and hands them
//! out again, up to [`MAX_FLOATS`] in all.

use std::sync::{Mutex, PoisonError};

/// Buffers smaller than this (in floats; 64 KiB) are left to the allocator.
const MIN_FLOATS: usize = 1 << 14;
/// The most the pool keeps (in floats; 1 GiB).
const MAX_FLOATS: usize = 1 << 28;
/// A request is served only by a buffer at most this many times its length. Some buffers
/// leave the kernels for good (a layer's output becomes the backend's tensor): one that took
/// a much larger pooled buffer would carry it off, and the next request of that larger size
/// would fault a fresh one in (a config-C GRU step did so for four 6 MiB and 18 MiB buffers
/// every call).
const MAX_SLACK: usize = 2;

/// Kept buffers, oldest first, and their total capacity.
static POOL: Mutex<(Vec<Vec<f32>>, usize)> = Mutex::new((Vec::new(), 0));

/// A buffer of `len` floats whose values are unspecified (left from an earlier use): for
/// callers that write every element before reading it.
pub(crate) fn take(len: usize) -> Vec<f32> {
    if len < MIN_FLOATS {
        return vec![0.0; len];
    }
    let reused = {
        let mut pool = POOL.lock().unwrap_or_else(PoisonError::into_inner);
        let (buffers, floats) = &mut *pool;
        // The smallest buffer that is large enough, and not too large.
        let fits = len..=len.saturating_mul(MAX_SLACK);
        let best = buffers
            .iter()
            .enumerate()
            .filter(|(_, b)| fits.contains(&b.capacity()))
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        best.map(|i| {
            let buffer = buffers.remove(i);
            *floats -= buffer.capacity();
            buffer
        })
    };
    match reused {
        Some(mut buffer) => {
            if buffer.len() >= len {
                buffer.truncate(len);
            } else {
                buffer.resize(len, 0.0);
            }
            buffer
        }
        None => vec![0.0; len],
    }
}

/// Floats from which [`zeros`] fills a buffer on rayon's threads (4 MiB).
const PARALLEL_ZEROS: usize = 1 << 20;

/// A buffer of `len` zeros for a value that leaves the kernels for good (an op's outputs or
/// input gradient, kept by the backend), so the pool never sees it again. A large one is
/// allocated without clearing and filled by all of rayon's threads: the allocator would
/// clear a reused block on the calling thread while the other cores wait (`perf`: a tenth of
/// a config-C RNN training step's wall time was the caller's thread alone, half of it
/// clearing the 13 MiB outputs and input gradient).
pub(crate) fn zeros(len: usize) -> Vec<f32> {
    use rayon::iter::{IndexedParallelIterator, repeat_n};
    if len < PARALLEL_ZEROS || rayon::current_num_threads() < 2 {
        return vec![0.0; len];
    }
    let mut buffer = Vec::with_capacity(len);
    repeat_n(0.0, len).collect_into_vec(&mut buffer);
    buffer
}

/// Gives a buffer back for later calls.
pub(crate) fn give(buffer: Vec<f32>) {
    let capacity = buffer.capacity();
    if !(MIN_FLOATS..=MAX_FLOATS).contains(&capacity) {
        return;
    }
    let mut pool = POOL.lock().unwrap_or_else(PoisonError::into_inner);
    let (buffers, floats) = &mut *pool;
    buffers.push(buffer);
    *floats += capacity;
    while *floats > MAX_FLOATS {
        let oldest = buffers.remove(0);
        *floats -= oldest.capacity();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_with_the_asked_length() {
        let n = MIN_FLOATS * 3;
        let mut a = take(n);
        assert_eq!(a.len(), n);
        a.fill(7.0);
        give(a);
        // Smaller and larger requests both get exactly their length.
        let b = take(n / 2);
        assert_eq!(b.len(), n / 2);
        let c = take(n * 2);
        assert_eq!(c.len(), n * 2);
        give(b);
        give(c);
        assert_eq!(take(10).len(), 10, "small buffers bypass the pool");
    }

    #[test]
    fn zeros_are_zeros_at_every_size() {
        for len in [
            0,
            5,
            PARALLEL_ZEROS - 1,
            PARALLEL_ZEROS,
            3 * PARALLEL_ZEROS + 17,
        ] {
            // A reused block first, so that stale values would show.
            drop(vec![1.0f32; len]);
            let z = zeros(len);
            assert_eq!(z.len(), len);
            assert!(z.iter().all(|&v| v == 0.0), "zeros({len})");
        }
    }

    #[test]
    fn a_small_request_leaves_a_much_larger_buffer_in_the_pool() {
        // Sizes no other test or kernel uses (the pool is shared by the whole process).
        let n = MIN_FLOATS * 64 + 7;
        give(vec![1.0; 3 * n]);
        let small = take(n);
        assert_eq!(small.len(), n);
        assert!(
            small.capacity() <= MAX_SLACK * n,
            "a request of {n} took a buffer of {}",
            small.capacity()
        );
        // The large one is still there: a request it fits gets it, not a fresh buffer.
        let large = take(2 * n);
        assert_eq!(large.len(), 2 * n);
        assert_eq!(
            large.capacity(),
            3 * n,
            "the pooled buffer serves a fitting request"
        );
    }
}
