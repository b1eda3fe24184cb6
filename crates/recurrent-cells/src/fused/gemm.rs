//! Matrix products on host slices through the `gemm` crate (the GEMM burn-flex uses).
//!
//! This is one of the crate's two modules of `unsafe` code (with [`super::pooled`]):
//! `gemm::gemm` takes raw pointers and strides. Every call goes through [`matmul`], which
//! checks the shapes agree and that every element each view can address lies inside its slice
//! before handing the pointers over.
#![allow(unsafe_code)]

use super::pool;

/// A read-only matrix view: element `(i, j)` is `data[offset + i * rs + j * cs]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MatRef<'a> {
    data: &'a [f32],
    offset: usize,
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major `rows x cols` matrix over `data`.
    pub(crate) fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            offset: 0,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose (no copy).
    pub(crate) fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    /// Columns `start..start + n`.
    pub(crate) fn cols(self, start: usize, n: usize) -> Self {
        assert!(
            start + n <= self.cols,
            "columns {start}..{} of {}",
            start + n,
            self.cols
        );
        Self {
            offset: self.offset + start * self.cs,
            cols: n,
            ..self
        }
    }

    /// Rows `start..start + n`.
    pub(crate) fn rows(self, start: usize, n: usize) -> Self {
        assert!(
            start + n <= self.rows,
            "rows {start}..{} of {}",
            start + n,
            self.rows
        );
        Self {
            offset: self.offset + start * self.rs,
            rows: n,
            ..self
        }
    }

    fn in_bounds(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || self.offset + (self.rows - 1) * self.rs + (self.cols - 1) * self.cs < self.data.len()
    }
}

/// A mutable row-major matrix view: element `(i, j)` is `data[offset + i * rs + j]`.
#[derive(Debug)]
pub(crate) struct MatMut<'a> {
    data: &'a mut [f32],
    offset: usize,
    rows: usize,
    cols: usize,
    rs: usize,
}

impl<'a> MatMut<'a> {
    /// A row-major `rows x cols` matrix over `data`.
    pub(crate) fn new(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            offset: 0,
            rows,
            cols,
            rs: cols,
        }
    }

    /// Columns `start..start + n`.
    pub(crate) fn cols(self, start: usize, n: usize) -> Self {
        assert!(
            start + n <= self.cols,
            "columns {start}..{} of {}",
            start + n,
            self.cols
        );
        Self {
            offset: self.offset + start,
            cols: n,
            ..self
        }
    }
}

/// `dst = a b` (or `dst += a b` when `accumulate`), for `a: m x k`, `b: k x n`, `dst: m x n`.
/// A large product splits among rayon's threads (see [`Threads`]).
///
/// # Panics
///
/// When the shapes disagree or a view reaches outside its slice.
pub(crate) fn matmul(dst: MatMut<'_>, a: MatRef<'_>, b: MatRef<'_>, accumulate: bool) {
    matmul_on(Threads::Pool, dst, a, b, accumulate);
}

/// Where a product runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Threads {
    /// A large product splits among rayon's threads (from [`PARALLEL_MACS`]).
    Pool,
    /// On the calling thread alone: the other threads have work of their own (a
    /// bidirectional layer's other direction), and a product split with them would wait for
    /// its pieces until they get round to them.
    Caller,
}

impl Threads {
    /// [`Threads::Caller`] on one of rayon's workers (the caller is one of several tasks
    /// that share the pool, as [`super::team::threads`] counts them), [`Threads::Pool`]
    /// otherwise.
    pub(crate) fn here() -> Self {
        if rayon::current_thread_index().is_some() {
            Self::Caller
        } else {
            Self::Pool
        }
    }
}

/// [`matmul`] on `threads`. How the product is split does not change its bits: every
/// element sums its `k` products in one thread, in the same order.
pub(crate) fn matmul_on(
    threads: Threads,
    dst: MatMut<'_>,
    a: MatRef<'_>,
    b: MatRef<'_>,
    accumulate: bool,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "matmul: inner dimensions {k} and {}", b.rows);
    assert_eq!((dst.rows, dst.cols), (m, n), "matmul: destination shape");
    assert!(
        a.in_bounds() && b.in_bounds(),
        "matmul: operand out of bounds"
    );
    // Rows of `dst` do not overlap (rs >= cols) and the last element is inside the slice.
    assert!(dst.rs >= n, "matmul: destination rows overlap");
    assert!(
        m == 0 || n == 0 || dst.offset + (m - 1) * dst.rs + n <= dst.data.len(),
        "matmul: destination out of bounds"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                let row = dst.offset + i * dst.rs;
                dst.data[row..row + n].fill(0.0);
            }
        }
        return;
    }
    let isize_of = |v: usize| isize::try_from(v).expect("stride fits in isize");
    // SAFETY: the asserts above prove that every element `gemm` reads, `a[offset + i * rs + p
    // * cs]` for `i < m, p < k` and `b[...]` for `p < k, j < n`, lies inside its slice, and
    // that every element it writes, `dst[offset + i * rs + j]` for `i < m, j < n`, lies inside
    // `dst.data`, with distinct `(i, j)` at distinct addresses (`rs >= n`). `dst.data` is a
    // unique borrow, so it aliases neither operand, and all three slices outlive the call.
    // `read_dst == accumulate`: with `false`, `gemm` overwrites `dst` without reading it.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.data.as_mut_ptr().add(dst.offset),
            1,
            isize_of(dst.rs),
            accumulate,
            a.data.as_ptr().add(a.offset),
            isize_of(a.cs),
            isize_of(a.rs),
            b.data.as_ptr().add(b.offset),
            isize_of(b.cs),
            isize_of(b.rs),
            1.0,
            1.0,
            false,
            false,
            false,
            match threads {
                Threads::Pool => parallelism(m, n, k),
                Threads::Caller => gemm::Parallelism::None,
            },
        );
    }
}

/// `k` from which [`matmul_halves`] cuts it in two.
const HALVES_MIN_K: usize = 1024;

/// [`matmul`] for a long `k` (the weight gradients: `k` is every step of every sequence): the
/// two halves of `k` as two products, at once on two of rayon's threads, the second's added
/// to the first's afterwards.
///
/// The gemm crate splits a product among threads by blocks of `m` and `n`, and the weight
/// gradients have few of those: `dW_hh` of a config-B RNN (`256 x 6400 x 256`) ran no faster
/// on two threads than on one (138 against 144 GFLOP/s). Each half runs on one thread at the
/// speed of one. The cut does not depend on the number of threads, so neither do the sums'
/// bits: on [`Threads::Caller`] the halves run one after the other on the calling thread,
/// cut and added the same way.
///
/// # Panics
///
/// When the shapes disagree or a view reaches outside its slice.
pub(crate) fn matmul_halves(
    threads: Threads,
    dst: MatMut<'_>,
    a: MatRef<'_>,
    b: MatRef<'_>,
    accumulate: bool,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if k < HALVES_MIN_K || m * n * k < PARALLEL_MACS || m == 0 || n == 0 {
        matmul_on(threads, dst, a, b, accumulate);
        return;
    }
    assert_eq!(b.rows, k, "matmul: inner dimensions {k} and {}", b.rows);
    let half = k / 2;
    let mut second = pool::take(m * n);
    let MatMut {
        data,
        offset,
        rows,
        cols,
        rs,
    } = dst;
    let mut first_half = || {
        let first = MatMut {
            data: &mut *data,
            offset,
            rows,
            cols,
            rs,
        };
        matmul_on(threads, first, a.cols(0, half), b.rows(0, half), accumulate);
    };
    let mut second_half = || {
        let second = MatMut::new(&mut second, m, n);
        matmul_on(
            threads,
            second,
            a.cols(half, k - half),
            b.rows(half, k - half),
            false,
        );
    };
    match threads {
        Threads::Pool => {
            rayon::join(first_half, second_half);
        }
        Threads::Caller => {
            first_half();
            second_half();
        }
    }
    for (i, add) in second.chunks_exact(n).enumerate() {
        let row = &mut data[offset + i * rs..][..n];
        for (d, v) in row.iter_mut().zip(add) {
            *d += v;
        }
    }
    pool::give(second);
}

/// The transpose of a row-major `rows x cols` matrix, materialised (row-major `cols x rows`):
/// GEMM reads a row-major right operand several times faster than a transposed view.
pub(crate) fn transposed(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    assert_eq!(m.len(), rows * cols, "transposed: shape");
    let mut t = vec![0.0; m.len()];
    for (i, row) in m.chunks_exact(cols.max(1)).enumerate() {
        for (j, v) in row.iter().enumerate() {
            t[j * rows + i] = *v;
        }
    }
    t
}

/// Runs `work`, products that split among rayon's threads, on one of rayon's workers when
/// called from outside the pool (the caller waits). The gemm crate runs a parallel loop for
/// every block of `k`; started from outside the pool, each loop is handed to the pool while
/// the caller sleeps until it is done, so a product over a long `k` slept and woke the
/// threads dozens of times (`perf`: 80 context switches a config-B RNN training step). From a
/// worker, each loop is a join whose other half the other worker, still spinning from the
/// last one, takes at once.
pub(crate) fn in_pool<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        work()
    } else {
        rayon::scope(|_| work())
    }
}

/// Multiply-adds from which a product is split among threads.
const PARALLEL_MACS: usize = 4 << 20;

/// One thread for products too small to amortise waking rayon's (a step of a small layer),
/// rayon's pool (one thread per core) above that.
fn parallelism(m: usize, n: usize, k: usize) -> gemm::Parallelism {
    if m * n * k >= PARALLEL_MACS {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        out
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    #[test]
    fn products_transposes_and_blocks_match_the_naive_product() {
        let (m, k, n) = (7, 5, 9);
        let a = values(m * k, 1);
        let b = values(k * n, 2);
        let expected = naive(&a, &b, m, k, n);
        let mut out = vec![0.0; m * n];
        matmul(
            MatMut::new(&mut out, m, n),
            MatRef::new(&a, m, k),
            MatRef::new(&b, k, n),
            false,
        );
        for (x, y) in out.iter().zip(&expected) {
            assert!((x - y).abs() < 1e-5);
        }
        // Accumulating adds the product again.
        matmul(
            MatMut::new(&mut out, m, n),
            MatRef::new(&a, m, k),
            MatRef::new(&b, k, n),
            true,
        );
        for (x, y) in out.iter().zip(&expected) {
            assert!((x - 2.0 * y).abs() < 1e-5);
        }
        // (b^T a^T)^T = a b: read through transposed views.
        let mut out_t = vec![0.0; n * m];
        matmul(
            MatMut::new(&mut out_t, n, m),
            MatRef::new(&b, k, n).t(),
            MatRef::new(&a, m, k).t(),
            false,
        );
        for i in 0..m {
            for j in 0..n {
                assert!((out_t[j * m + i] - expected[i * n + j]).abs() < 1e-5);
            }
        }
        // A column block of b into a column block of a wider destination.
        let mut wide = vec![7.0; m * (n + 2)];
        matmul(
            MatMut::new(&mut wide, m, n + 2).cols(1, 3),
            MatRef::new(&a, m, k),
            MatRef::new(&b, k, n).cols(2, 3),
            false,
        );
        for i in 0..m {
            assert_eq!(wide[i * (n + 2)], 7.0);
            for j in 0..3 {
                assert!((wide[i * (n + 2) + 1 + j] - expected[i * n + 2 + j]).abs() < 1e-5);
            }
            assert_eq!(wide[i * (n + 2) + 4], 7.0);
        }
    }

    #[test]
    fn halves_of_a_long_product_add_up_to_it_on_any_number_of_threads() {
        // A weight gradient's shape: a transposed left operand over a long k, into a column
        // block of a wider destination, first overwritten and then accumulated.
        let (m, k, n) = (40, 2 * HALVES_MIN_K + 37, 72);
        assert!(m * n * k >= PARALLEL_MACS, "large enough to be cut");
        let a_t = values(k * m, 3);
        let b = values(k * n, 4);
        let a: Vec<f32> = (0..m * k).map(|i| a_t[(i % k) * m + i / k]).collect();
        let expected = naive(&a, &b, m, k, n);
        let run_on = |threads: Threads, accumulate: bool, out: &mut Vec<f32>| {
            matmul_halves(
                threads,
                MatMut::new(out, m, n + 5).cols(2, n),
                MatRef::new(&a_t, k, m).t(),
                MatRef::new(&b, k, n),
                accumulate,
            );
        };
        let run = |accumulate: bool, out: &mut Vec<f32>| run_on(Threads::Pool, accumulate, out);
        let mut out = vec![3.0; m * (n + 5)];
        run(false, &mut out);
        for i in 0..m {
            let row = &out[i * (n + 5)..][..n + 5];
            assert_eq!((row[0], row[1], row[n + 2]), (3.0, 3.0, 3.0), "row {i}");
            for j in 0..n {
                let (x, y) = (row[2 + j], expected[i * n + j]);
                assert!(
                    (x - y).abs() < 1e-3 * (1.0 + y.abs()),
                    "({i}, {j}): {x} {y}"
                );
            }
        }
        let once = out.clone();
        run(true, &mut out);
        for (x, y) in out.iter().zip(&once) {
            assert!(x == y && *y == 3.0 || (x - 2.0 * y).abs() < 1e-4 * (1.0 + y.abs()));
        }
        // The same bits on one thread as on all of them.
        let mut alone = vec![3.0; m * (n + 5)];
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("a one-thread pool");
        pool.install(|| run(false, &mut alone));
        assert_eq!(alone, once);
        // And on the calling thread alone, the halves one after the other.
        let mut caller = vec![3.0; m * (n + 5)];
        run_on(Threads::Caller, false, &mut caller);
        assert_eq!(caller, once);
    }

    #[test]
    #[should_panic(expected = "inner dimensions")]
    fn mismatched_shapes_are_refused() {
        let a = vec![0.0; 6];
        let mut out = vec![0.0; 4];
        matmul(
            MatMut::new(&mut out, 2, 2),
            MatRef::new(&a, 2, 3),
            MatRef::new(&a, 2, 3),
            false,
        );
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn views_past_their_slice_are_refused() {
        let a = vec![0.0; 5];
        let mut out = vec![0.0; 4];
        matmul(
            MatMut::new(&mut out, 2, 2),
            MatRef::new(&a, 2, 3),
            MatRef::new(&a, 3, 2),
            false,
        );
    }
}
