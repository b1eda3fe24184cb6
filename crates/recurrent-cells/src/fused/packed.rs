//! The per-step product of a recurrence, `state [batch, k] x W [k, n]`, with `W` packed once.
//!
//! Every step of a layer multiplies a small batch of states by the same weight matrix. A
//! general GEMM packs that matrix again on every call (a fifth of a step's time); here it is
//! packed once per layer call into panels of [`NR`] columns (row `p` of a panel holds those
//! columns of row `p` of `W`, zero padded), and a register-blocked kernel of [`MR`] rows by
//! [`NR`] columns runs over them: safe Rust on pulp's SIMD types, compiled for the best
//! instruction set the CPU has (AVX-512 or AVX2, with FMA). Large products split their panels
//! between two rayon tasks.

use super::gemm::MatRef;

/// Columns per panel (two AVX-512 registers, four AVX2 ones).
const NR: usize = 32;
/// Rows per block.
const MR: usize = 4;
/// Multiply-adds above which a product runs on two threads.
const PARALLEL_MACS: usize = 4 << 20;

/// A `k x n` matrix packed into column panels.
#[derive(Debug, Clone)]
pub(crate) struct PackedRhs {
    k: usize,
    n: usize,
    panels: Vec<f32>,
}

impl PackedRhs {
    /// Packs `m` (`k x n`, any strides).
    pub(crate) fn new(m: MatRef<'_>) -> Self {
        let (k, n) = (m.n_rows(), m.n_cols());
        let n_panels = n.div_ceil(NR);
        let mut panels = vec![0.0; n_panels * k * NR];
        for (p, panel) in panels.chunks_exact_mut(k * NR).enumerate() {
            for row in 0..k {
                for c in 0..NR.min(n - p * NR) {
                    panel[row * NR + c] = m.at(row, p * NR + c);
                }
            }
        }
        Self { k, n, panels }
    }
}

/// `dst = a w` for `a: [m, k]` row-major and `dst: [m, n]` with row stride `dst_rs`.
///
/// # Panics
///
/// When the shapes disagree.
pub(crate) fn matmul_packed(dst: &mut [f32], dst_rs: usize, a: &[f32], m: usize, w: &PackedRhs) {
    let (k, n) = (w.k, w.n);
    assert_eq!(a.len(), m * k, "matmul_packed: left operand shape");
    assert!(dst_rs >= n, "matmul_packed: destination rows overlap");
    assert!(
        m == 0 || dst.len() >= (m - 1) * dst_rs + n,
        "matmul_packed: destination too small"
    );
    if m == 0 || n == 0 {
        return;
    }
    let n_panels = n.div_ceil(NR);
    if m * n * k < PARALLEL_MACS || n_panels < 2 {
        run_panels(dst, dst_rs, a, m, w, 0..n_panels);
        return;
    }
    // Two column halves on two threads: split each destination row at the same column.
    let half = n_panels / 2;
    let split = half * NR;
    let mut left: Vec<&mut [f32]> = Vec::with_capacity(m);
    let mut right: Vec<&mut [f32]> = Vec::with_capacity(m);
    for row in dst.chunks_mut(dst_rs).take(m) {
        let (l, r) = row[..n].split_at_mut(split);
        left.push(l);
        right.push(r);
    }
    rayon::join(
        || run_panels_rows(&mut left, a, m, w, 0..half, 0),
        || run_panels_rows(&mut right, a, m, w, half..n_panels, split),
    );
}

/// The panels `panels` of the product into a row-strided destination.
fn run_panels(
    dst: &mut [f32],
    dst_rs: usize,
    a: &[f32],
    m: usize,
    w: &PackedRhs,
    panels: std::ops::Range<usize>,
) {
    let mut rows: Vec<&mut [f32]> = dst
        .chunks_mut(dst_rs)
        .take(m)
        .map(|row| &mut row[..w.n])
        .collect();
    run_panels_rows(&mut rows, a, m, w, panels, 0);
}

/// The panels `panels` of the product into `rows` (row `i` of the destination, its column 0
/// being column `first_col` of the product).
fn run_panels_rows(
    rows: &mut [&mut [f32]],
    a: &[f32],
    m: usize,
    w: &PackedRhs,
    panels: std::ops::Range<usize>,
    first_col: usize,
) {
    pulp::Arch::new().dispatch(Kernel {
        rows,
        a,
        m,
        w,
        panels,
        first_col,
    });
}

/// The product over some panels as one pulp operation: its body is compiled once per
/// instruction set.
struct Kernel<'a, 'b> {
    rows: &'a mut [&'b mut [f32]],
    a: &'a [f32],
    m: usize,
    w: &'a PackedRhs,
    panels: std::ops::Range<usize>,
    first_col: usize,
}

impl pulp::WithSimd for Kernel<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        let Kernel {
            rows,
            a,
            m,
            w,
            panels,
            first_col,
        } = self;
        let (k, n) = (w.k, w.n);
        let vectors = if NR.is_multiple_of(S::F32_LANES) {
            NR / S::F32_LANES
        } else {
            0
        };
        for p in panels {
            let panel = &w.panels[p * k * NR..][..k * NR];
            let cols = NR.min(n - p * NR);
            let mut i = 0;
            while i < m {
                let r = MR.min(m - i);
                let a_block = &a[i * k..(i + r) * k];
                let acc = match vectors {
                    2 => block_rows::<S, 2>(simd, r, a_block, k, panel),
                    4 => block_rows::<S, 4>(simd, r, a_block, k, panel),
                    _ => block_scalar(a_block, r, k, panel),
                };
                for (row, values) in rows[i..i + r].iter_mut().zip(&acc) {
                    let start = p * NR - first_col;
                    row[start..start + cols].copy_from_slice(&values[..cols]);
                }
                i += r;
            }
        }
    }
}

/// `out[r][c] = sum_p a[r * k + p] * panel[p * NR + c]` for the `R` rows of `a`, with the
/// accumulators in vector registers: `V` vectors of `S` per panel row (`V * lanes == NR`).
#[inline(always)]
fn block<S: pulp::Simd, const R: usize, const V: usize>(
    simd: S,
    a: &[f32],
    k: usize,
    panel: &[f32],
) -> [[f32; NR]; MR] {
    let rows: [&[f32]; R] = std::array::from_fn(|r| &a[r * k..(r + 1) * k]);
    let (vectors, _) = S::as_simd_f32s(panel);
    let vectors = &vectors[..k * V];
    let zero = simd.splat_f32s(0.0);
    let mut sums = [[zero; V]; R];
    for (p, w) in vectors.chunks_exact(V).enumerate() {
        for r in 0..R {
            let x = simd.splat_f32s(rows[r][p]);
            for v in 0..V {
                sums[r][v] = simd.mul_add_e_f32s(x, w[v], sums[r][v]);
            }
        }
    }
    let mut out = [[0.0f32; NR]; MR];
    for r in 0..R {
        let values: &[f32] = pulp::bytemuck::cast_slice(&sums[r][..]);
        out[r].copy_from_slice(values);
    }
    out
}

/// [`block`] for any row count up to [`MR`], with `V` vectors per panel row.
#[inline(always)]
fn block_rows<S: pulp::Simd, const V: usize>(
    simd: S,
    rows: usize,
    a: &[f32],
    k: usize,
    panel: &[f32],
) -> [[f32; NR]; MR] {
    match rows {
        4 => block::<S, 4, V>(simd, a, k, panel),
        3 => block::<S, 3, V>(simd, a, k, panel),
        2 => block::<S, 2, V>(simd, a, k, panel),
        _ => block::<S, 1, V>(simd, a, k, panel),
    }
}

/// The same without SIMD registers (vector sizes that do not divide a panel).
fn block_scalar(a: &[f32], rows: usize, k: usize, panel: &[f32]) -> [[f32; NR]; MR] {
    let mut out = [[0.0f32; NR]; MR];
    for (r, out_row) in out.iter_mut().enumerate().take(rows) {
        for (p, w) in panel.chunks_exact(NR).enumerate() {
            let x = a[r * k + p];
            for (s, w) in out_row.iter_mut().zip(w) {
                *s = x.mul_add(*w, *s);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(m: usize, k: usize, n: usize) {
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i * 5) % 13) as f32 - 6.0).collect();
        let packed = PackedRhs::new(MatRef::new(&b, k, n));
        let stride = n + 3;
        let mut out = vec![f32::NAN; m * stride];
        matmul_packed(&mut out, stride, &a, m, &packed);
        for i in 0..m {
            for j in 0..n {
                // Small integers: every order of summation gives the same float.
                let expected: f32 = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
                assert_eq!(out[i * stride + j], expected, "({m}, {k}, {n}) at {i}, {j}");
            }
            if i + 1 < m {
                assert!(
                    out[i * stride + n].is_nan(),
                    "the row padding is left alone"
                );
            }
        }
    }

    #[test]
    fn packed_products_match_the_naive_product() {
        for &(m, k, n) in &[(1, 1, 1), (5, 7, 33), (4, 3, 64), (9, 16, 31), (3, 8, 100)] {
            check(m, k, n);
        }
        // Large enough to split between two threads.
        check(67, 129, 520);
    }

    #[test]
    fn a_transposed_view_packs_the_same_numbers() {
        let (k, n) = (6, 40);
        let b: Vec<f32> = (0..k * n).map(|i| i as f32).collect();
        let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        let packed = PackedRhs::new(MatRef::new(&b, k, n));
        let packed_t = PackedRhs::new(MatRef::new(&bt, n, k).t());
        assert_eq!(packed_t.panels, packed.panels);
    }
}
