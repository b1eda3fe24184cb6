//! The per-step product of a recurrence, `state [batch, k] x W [k, n]`, with `W` packed once.
//!
//! Every step of a layer multiplies a small batch of states by the same weight matrix. A
//! general GEMM packs that matrix again on every call (a fifth of a step's time); here it is
//! packed once per layer call into panels of [`NR`] columns (row `p` of a panel holds those
//! columns of row `p` of `W`, zero padded), and a register-blocked kernel of up to [`MR`] rows
//! by [`NR`] columns runs over them: safe Rust on pulp's SIMD types, compiled for the best
//! instruction set the CPU has (AVX-512 or AVX2, with FMA). A wide product (an LSTM's or a
//! GRU's gates) also packs the small left operand, so that a block's values for one `p` lie
//! together (see [`pack_left`]). Large products split their panels between two rayon tasks.

/// Columns per panel (two AVX-512 registers, four AVX2 ones).
const NR: usize = 32;
/// Rows per block with the left operand packed (two with AVX2's 16 registers, see the
/// kernel). On AVX-512, twelve rows of two vectors keep 24 sums in 32 registers, read from one
/// place: against eight rows read in place (16 sums, eight row pointers), the kernel alone
/// went from about 152 to 175-181 GFLOP/s a core at 32 rows, 1024 columns and `k` 128 or
/// 256 (the Intel Xeon of 2026-12-07, two FMA units, which need eight sums in flight just to
/// cover their latency).
const MR: usize = 12;
/// Panel rows per chunk: 512 x 32 floats (64 KiB) stay in the L2 cache while every row
/// block of the left operand passes over them. Each chunk costs every row block a reload and
/// a store of its sums: 128-row chunks (16 KiB, L1-sized) made the per-step products of a
/// 512-wide input (config C's second layer) 4-8% slower.
const KC: usize = 512;
/// Panel rows per unrolled pass of the kernel's inner loop, left operand packed.
const UNROLL: usize = 2;
/// The same, left operand read in place.
const UNROLL_ROWS: usize = 8;
/// Rows per block with the left operand read in place (AVX-512): eight row pointers and 16
/// sums; 4-row blocks (8 sums) ran 3-10% slower on the Xeon, 12-row blocks 1-4% slower
/// (their row pointers no longer fit the general registers).
const MR_ROWS: usize = 8;
/// Columns of a product from which its left operand is packed: packing moves each value
/// once (0.2-0.4 ns) for its `n` multiply-adds. At 256 columns (RNN's per-step products, the
/// backward's `dgates W`) packing took what the wider blocks gave back: a config-C RNN
/// forward ran 5% slower packed. At 384 (a GRU's gates of 128 units, or a thread's half of
/// 768) it gains: config-A GRU forward 6-9% faster, config-C GRU 3%.
const PACK_MIN_COLS: usize = 384;
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
    /// Packs the `k x n` matrix whose entry `(row, col)` is `at(row, col)`, one element at a
    /// time: the tests' reference for [`PackedRhs::from_rows`] and [`PackedRhs::from_columns`].
    #[cfg(test)]
    pub(crate) fn from_fn(k: usize, n: usize, at: impl Fn(usize, usize) -> f32) -> Self {
        let n_panels = n.div_ceil(NR);
        let mut panels = vec![0.0; n_panels * k * NR];
        for (p, panel) in panels.chunks_exact_mut(k.max(1) * NR).enumerate() {
            for row in 0..k {
                for c in 0..NR.min(n - p * NR) {
                    panel[row * NR + c] = at(row, p * NR + c);
                }
            }
        }
        Self { k, n, panels }
    }
}

impl PackedRhs {
    /// Packs the `k x n` matrix whose row `row` `fill(row, dst)` writes into `dst` (`n`
    /// values): for sources whose rows are runs of contiguous values, copied as slices.
    pub(crate) fn from_rows(k: usize, n: usize, fill: impl Fn(usize, &mut [f32])) -> Self {
        let n_panels = n.div_ceil(NR);
        let mut panels = vec![0.0; n_panels * k * NR];
        let mut row_values = vec![0.0; n];
        for row in 0..k {
            fill(row, &mut row_values);
            for (p, chunk) in row_values.chunks(NR).enumerate() {
                panels[(p * k + row) * NR..][..chunk.len()].copy_from_slice(chunk);
            }
        }
        Self { k, n, panels }
    }

    /// Packs the `k x n` matrix whose column `col` `fill(col, dst)` writes into `dst` (`k`
    /// values): for sources stored transposed.
    pub(crate) fn from_columns(k: usize, n: usize, fill: impl Fn(usize, &mut [f32])) -> Self {
        let n_panels = n.div_ceil(NR);
        let mut panels = vec![0.0; n_panels * k * NR];
        let mut column = vec![0.0; k];
        for col in 0..n {
            fill(col, &mut column);
            let panel = &mut panels[(col / NR) * k * NR..][..k * NR];
            for (row, value) in column.iter().enumerate() {
                panel[row * NR + col % NR] = *value;
            }
        }
        Self { k, n, panels }
    }
}

/// A block of columns of a left operand: columns `offset..offset + width` of a row-major
/// matrix with row stride `stride`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment<'a> {
    /// The matrix.
    pub(crate) data: &'a [f32],
    /// Its row stride.
    pub(crate) stride: usize,
    /// The block's first column.
    pub(crate) offset: usize,
    /// The block's number of columns.
    pub(crate) width: usize,
}

impl<'a> Segment<'a> {
    /// A whole row-major matrix of `width` columns.
    #[cfg(test)]
    pub(crate) fn whole(data: &'a [f32], width: usize) -> Self {
        Self {
            data,
            stride: width,
            offset: 0,
            width,
        }
    }

    /// Row `i` of the block.
    #[inline(always)]
    pub(crate) fn row(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.stride + self.offset..][..self.width]
    }
}

/// `dst = a w` for `a: [m, k]` and `dst: [m, n]` with row stride `dst_rs`, the left operand
/// given as column blocks: `a = [a_0 | a_1 | ...]`, `sum width_s = k` (the parts of a state
/// that the members of a team computed). Each destination element sums its `k` products in
/// column order, however `a` is cut. With `parallel`, a large product splits its panels between two rayon
/// tasks (a team member, whose team already has the cores, passes false).
///
/// # Panics
///
/// When the shapes disagree.
pub(crate) fn matmul_segments(
    dst: &mut [f32],
    dst_rs: usize,
    a: &[Segment<'_>],
    m: usize,
    w: &PackedRhs,
    parallel: bool,
) {
    let (k, n) = (w.k, w.n);
    assert!(
        a.iter().all(|s| s.offset + s.width <= s.stride
            && (m == 0 || s.data.len() >= (m - 1) * s.stride + s.offset + s.width)),
        "matmul_segments: left operand blocks"
    );
    assert_eq!(
        a.iter().map(|s| s.width).sum::<usize>(),
        k,
        "matmul_segments: left operand shape"
    );
    assert!(dst_rs >= n, "matmul_segments: destination rows overlap");
    assert!(
        m == 0 || dst.len() >= (m - 1) * dst_rs + n,
        "matmul_segments: destination too small"
    );
    if m == 0 || n == 0 {
        return;
    }
    let n_panels = n.div_ceil(NR);
    if !parallel || m * n * k < PARALLEL_MACS || n_panels < 2 {
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
    a: &[Segment<'_>],
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
    a: &[Segment<'_>],
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
    a: &'a [Segment<'a>],
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
        // Four AVX2 vectors per panel row leave room for two rows of accumulators in the 16
        // vector registers (4 rows would need 16 for the sums alone and spill). The left
        // operand is packed when enough columns share the cost (see `PACK_MIN_COLS`);
        // AVX-512 then runs blocks of up to 12 rows (24 sums), otherwise 8.
        let packed = vectors != 0 && panels.len() * NR >= PACK_MIN_COLS;
        let block = match (vectors, packed) {
            (4, _) => 2,
            (_, true) => MR,
            (_, false) => MR_ROWS,
        };
        let mut left = LEFT.take();
        if packed {
            pack_left(&mut left, a, m, k, block);
        }
        for p in panels {
            let panel = &w.panels[p * k * NR..][..k * NR];
            let cols = NR.min(n - p * NR);
            let start = p * NR - first_col;
            // The panel is read in chunks of `KC` rows, each chunk once for every row block
            // while it sits in the L2 cache; the sums carry over from chunk to chunk, so
            // every output still adds its products in order (the same bits as one pass).
            let chunk = if vectors == 0 { k.max(1) } else { KC };
            let mut k0 = 0;
            loop {
                let k1 = (k0 + chunk).min(k);
                let mut i = 0;
                while i < m {
                    let r = block_rows_at(m, block, i);
                    let tile = Tile {
                        rows: &mut rows[i..i + r],
                        start,
                        cols,
                        carry: k0 > 0,
                    };
                    let ks = k0..k1;
                    let rows_left = if packed {
                        Left::Packed(&left[i * k..(i + r) * k])
                    } else {
                        Left::Rows(a, i)
                    };
                    match vectors {
                        2 => block_rows::<S, 2>(simd, rows_left, panel, ks, tile),
                        4 => block_rows::<S, 4>(simd, rows_left, panel, ks, tile),
                        _ => block_scalar(a, i, panel, tile),
                    }
                    i += r;
                }
                k0 = k1;
                if k0 >= k {
                    break;
                }
            }
        }
        LEFT.set(left);
    }
}

/// The number of rows of the row block that starts at row `i`, when `m` rows are cut into as
/// few blocks of at most `block` rows as they fill, as evenly as they go: 64 rows in blocks of
/// up to 12 are four of 11 and two of 10 (a short last block of 4 would run its 8 sums at
/// half the FMA units' rate).
fn block_rows_at(m: usize, block: usize, i: usize) -> usize {
    let count = m.div_ceil(block);
    let (base, extra) = (m / count, m % count);
    // The first `extra` blocks take one row more.
    let long = extra * (base + 1);
    if i < long { base + 1 } else { base }
}

/// The left operand `a` (`m x k`, as column blocks) packed for the kernel into `packed`
/// (resized to `m * k`): each block of rows (see [`block_rows_at`]) as `k` groups of its
/// rows' values, so that the kernel finds one block's values for one `p` together, at fixed
/// distances from one place: `packed[i * k + p * r + row]` for the block of `r` rows from
/// row `i`.
fn pack_left(packed: &mut Vec<f32>, a: &[Segment<'_>], m: usize, k: usize, block: usize) {
    // Every element used is written below: what an earlier call left is not read.
    if packed.len() < m * k {
        packed.resize(m * k, 0.0);
    }
    let mut i = 0;
    while i < m {
        let r = block_rows_at(m, block, i);
        let dst = &mut packed[i * k..(i + r) * k];
        match r {
            12 => pack_block::<12>(dst, a, i),
            11 => pack_block::<11>(dst, a, i),
            10 => pack_block::<10>(dst, a, i),
            9 => pack_block::<9>(dst, a, i),
            8 => pack_block::<8>(dst, a, i),
            7 => pack_block::<7>(dst, a, i),
            6 => pack_block::<6>(dst, a, i),
            5 => pack_block::<5>(dst, a, i),
            4 => pack_block::<4>(dst, a, i),
            3 => pack_block::<3>(dst, a, i),
            2 => pack_block::<2>(dst, a, i),
            _ => pack_block::<1>(dst, a, i),
        }
        i += r;
    }
}

/// [`pack_left`] for the block of `R` rows from row `first`, into `dst` (`R * k` values).
fn pack_block<const R: usize>(dst: &mut [f32], a: &[Segment<'_>], first: usize) {
    let mut p0 = 0;
    for segment in a {
        let width = segment.width;
        let rows: [&[f32]; R] = std::array::from_fn(|r| segment.row(first + r));
        let groups = dst[p0 * R..(p0 + width) * R].chunks_exact_mut(R);
        for (q, group) in groups.enumerate() {
            for r in 0..R {
                group[r] = rows[r][q];
            }
        }
        p0 += width;
    }
}

thread_local! {
    /// This thread's packed left operand (see [`pack_left`]), kept from call to call.
    static LEFT: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Where a block of the product goes: columns `start..start + cols` of `rows` (at most
/// [`NR`] columns, one panel's), which already hold the sums of earlier chunks of the panel
/// when `carry`.
struct Tile<'t, 'd> {
    rows: &'t mut [&'d mut [f32]],
    start: usize,
    cols: usize,
    carry: bool,
}

/// A block's rows of the left operand, as the kernel reads them.
#[derive(Clone, Copy)]
enum Left<'a> {
    /// Packed by [`pack_left`]: the block's `R * k` values.
    Packed(&'a [f32]),
    /// In place: the column blocks, and the block's first row.
    Rows(&'a [Segment<'a>], usize),
}

/// `tile[r][c] (+)= sum_p left[r][p] * panel[p * NR + c]` over the panel rows `ks`, for a block
/// of `R` rows of the left operand, with the accumulators in vector registers, `V` vectors of
/// `S` per panel row (`V * lanes == NR`), loaded from and stored to the destination directly.
#[inline(always)]
// Element by element on purpose: see the comment on `sums`.
#[allow(clippy::manual_memcpy)]
fn block<S: pulp::Simd, const R: usize, const V: usize>(
    simd: S,
    left: Left<'_>,
    panel: &[f32],
    ks: std::ops::Range<usize>,
    tile: Tile<'_, '_>,
) {
    let Tile {
        rows: dst,
        start,
        cols,
        carry,
    } = tile;
    let (vectors, _) = S::as_simd_f32s(panel);
    let zero = simd.splat_f32s(0.0);
    let mut sums = [[zero; V]; R];
    // Every access to `sums` has a fixed shape, in loops without calls, so that they stay in
    // registers: a slice of them with a variable length, or a loop that is not unrolled,
    // keeps them in memory, stored after every FMA. Partial rows pass through `spare`, made
    // only where needed (the workers' `memset` of it for every block: 2% of their samples).
    if carry {
        let mut spare = [[0.0f32; NR]; R];
        for (values, row) in spare.iter_mut().zip(dst.iter()) {
            values[..cols].copy_from_slice(&row[start..start + cols]);
        }
        for r in 0..R {
            let (loaded, _) = S::as_simd_f32s(&spare[r]);
            for v in 0..V {
                sums[r][v] = loaded[v];
            }
        }
    }
    match left {
        Left::Packed(left) => {
            let xs = &left[ks.start * R..ks.end * R];
            let ws = &vectors[ks.start * V..ks.end * V];
            // `UNROLL` panel rows at a time, each group cut to its fixed length so that the
            // body indexes without checks; then the rest one at a time. The products add in
            // `p` order.
            let mut x_groups = xs.chunks_exact(UNROLL * R);
            let mut w_groups = ws.chunks_exact(UNROLL * V);
            for (x, w) in (&mut x_groups).zip(&mut w_groups) {
                for u in 0..UNROLL {
                    for r in 0..R {
                        let xb = simd.splat_f32s(x[u * R + r]);
                        for v in 0..V {
                            sums[r][v] = simd.mul_add_e_f32s(xb, w[u * V + v], sums[r][v]);
                        }
                    }
                }
            }
            for (x, w) in x_groups
                .remainder()
                .chunks_exact(R)
                .zip(w_groups.remainder().chunks_exact(V))
            {
                for r in 0..R {
                    let xb = simd.splat_f32s(x[r]);
                    for v in 0..V {
                        sums[r][v] = simd.mul_add_e_f32s(xb, w[v], sums[r][v]);
                    }
                }
            }
        }
        Left::Rows(a, first) => {
            let mut k0 = 0;
            for segment in a {
                // The part of this column block inside the chunk `ks`.
                let (s0, s1) = (k0, k0 + segment.width);
                k0 = s1;
                let (lo, hi) = (s0.max(ks.start), s1.min(ks.end));
                if lo >= hi {
                    continue;
                }
                let rows: [&[f32]; R] =
                    std::array::from_fn(|r| &segment.row(first + r)[lo - s0..hi - s0]);
                let vectors = &vectors[lo * V..hi * V];
                // `UNROLL_ROWS` panel rows at a time, every operand cut to a fixed length
                // once, so the unrolled body indexes without checks or loop branches; the
                // rest one at a time. The products still add in `p` order.
                let n = hi - lo;
                let mut p = 0;
                while p + UNROLL_ROWS <= n {
                    let xs: [&[f32]; R] = std::array::from_fn(|r| &rows[r][p..][..UNROLL_ROWS]);
                    let ws = &vectors[p * V..][..UNROLL_ROWS * V];
                    for u in 0..UNROLL_ROWS {
                        for r in 0..R {
                            let xb = simd.splat_f32s(xs[r][u]);
                            for v in 0..V {
                                sums[r][v] = simd.mul_add_e_f32s(xb, ws[u * V + v], sums[r][v]);
                            }
                        }
                    }
                    p += UNROLL_ROWS;
                }
                for (q, w) in vectors[p * V..].chunks_exact(V).enumerate() {
                    for r in 0..R {
                        let xb = simd.splat_f32s(rows[r][p + q]);
                        for v in 0..V {
                            sums[r][v] = simd.mul_add_e_f32s(xb, w[v], sums[r][v]);
                        }
                    }
                }
            }
        }
    }
    if cols == NR {
        for r in 0..R {
            let (out, _) = S::as_mut_simd_f32s(&mut dst[r][start..start + NR]);
            for v in 0..V {
                out[v] = sums[r][v];
            }
        }
    } else {
        let mut spare = [[0.0f32; NR]; R];
        for r in 0..R {
            let (out, _) = S::as_mut_simd_f32s(&mut spare[r]);
            for v in 0..V {
                out[v] = sums[r][v];
            }
        }
        for (values, row) in spare.iter().zip(dst.iter_mut()) {
            row[start..start + cols].copy_from_slice(&values[..cols]);
        }
    }
}

/// [`block`] for the tile's number of rows (up to [`MR`]), with `V` vectors per panel row.
#[inline(always)]
fn block_rows<S: pulp::Simd, const V: usize>(
    simd: S,
    left: Left<'_>,
    panel: &[f32],
    ks: std::ops::Range<usize>,
    tile: Tile<'_, '_>,
) {
    match tile.rows.len() {
        12 => block::<S, 12, V>(simd, left, panel, ks, tile),
        11 => block::<S, 11, V>(simd, left, panel, ks, tile),
        10 => block::<S, 10, V>(simd, left, panel, ks, tile),
        9 => block::<S, 9, V>(simd, left, panel, ks, tile),
        8 => block::<S, 8, V>(simd, left, panel, ks, tile),
        7 => block::<S, 7, V>(simd, left, panel, ks, tile),
        6 => block::<S, 6, V>(simd, left, panel, ks, tile),
        5 => block::<S, 5, V>(simd, left, panel, ks, tile),
        4 => block::<S, 4, V>(simd, left, panel, ks, tile),
        3 => block::<S, 3, V>(simd, left, panel, ks, tile),
        2 => block::<S, 2, V>(simd, left, panel, ks, tile),
        _ => block::<S, 1, V>(simd, left, panel, ks, tile),
    }
}

/// The same without SIMD registers (vector sizes that do not divide a panel), over the whole
/// panel at once.
fn block_scalar(a: &[Segment<'_>], first: usize, panel: &[f32], tile: Tile<'_, '_>) {
    let Tile {
        rows, start, cols, ..
    } = tile;
    for (r, row) in rows.iter_mut().enumerate() {
        let mut sums = [0.0f32; NR];
        let mut p = 0;
        for segment in a {
            for &x in segment.row(first + r) {
                for (s, w) in sums.iter_mut().zip(&panel[p * NR..(p + 1) * NR]) {
                    *s = x.mul_add(*w, *s);
                }
                p += 1;
            }
        }
        row[start..start + cols].copy_from_slice(&sums[..cols]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(m: usize, k: usize, n: usize, widths: &[usize], parallel: bool) {
        assert_eq!(widths.iter().sum::<usize>(), k);
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i * 5) % 13) as f32 - 6.0).collect();
        // The left operand cut into column blocks of the given widths, each a view of `a`.
        let mut segments = Vec::new();
        let mut start = 0;
        for &width in widths {
            segments.push(Segment {
                data: &a,
                stride: k,
                offset: start,
                width,
            });
            start += width;
        }
        let packed = PackedRhs::from_fn(k, n, |row, col| b[row * n + col]);
        let stride = n + 3;
        let mut out = vec![f32::NAN; m * stride];
        matmul_segments(&mut out, stride, &segments, m, &packed, parallel);
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
    fn rows_and_columns_pack_as_elements_do() {
        for &(k, n) in &[(1, 1), (5, 33), (7, 64), (3, 100)] {
            let b: Vec<f32> = (0..k * n).map(|i| i as f32).collect();
            let by_element = PackedRhs::from_fn(k, n, |row, col| b[row * n + col]);
            let by_rows = PackedRhs::from_rows(k, n, |row, dst| {
                dst.copy_from_slice(&b[row * n..][..n]);
            });
            let by_columns = PackedRhs::from_columns(k, n, |col, dst| {
                for (row, v) in dst.iter_mut().enumerate() {
                    *v = b[row * n + col];
                }
            });
            assert_eq!(by_rows.panels, by_element.panels, "rows, {k}x{n}");
            assert_eq!(by_columns.panels, by_element.panels, "columns, {k}x{n}");
        }
    }

    #[test]
    fn packed_products_match_the_naive_product() {
        for &(m, k, n) in &[(1, 1, 1), (5, 7, 33), (4, 3, 64), (9, 16, 31), (3, 8, 100)] {
            check(m, k, n, &[k], false);
        }
        // Large enough to split between two threads.
        check(67, 129, 520, &[129], true);
        // Wide enough to pack the left operand (`PACK_MIN_COLS`), in blocks of every size.
        for m in [1, 5, 12, 13, 24, 32, 64] {
            check(m, 37, PACK_MIN_COLS + 33, &[37], false);
        }
        check(67, 129, 2 * PACK_MIN_COLS + 100, &[129], true);
    }

    #[test]
    fn row_blocks_cover_the_rows_as_evenly_as_they_go() {
        for m in 1..100 {
            let mut sizes = Vec::new();
            let mut i = 0;
            while i < m {
                let r = block_rows_at(m, MR, i);
                sizes.push(r);
                i += r;
            }
            assert_eq!(i, m, "{m} rows");
            assert_eq!(sizes.len(), m.div_ceil(MR), "{m} rows in {sizes:?}");
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(*max <= MR && max - min <= 1, "{m} rows in {sizes:?}");
        }
        // 64 rows: no short last block.
        assert_eq!(block_rows_at(64, 12, 0), 11);
        assert_eq!(block_rows_at(64, 12, 55), 10);
    }

    #[test]
    fn a_left_operand_in_column_blocks_gives_the_same_product() {
        check(5, 7, 33, &[3, 4], false);
        check(9, 40, 70, &[16, 16, 8], false);
        check(67, 129, 520, &[64, 1, 64], true);
        check(29, 40, PACK_MIN_COLS + 7, &[16, 3, 21], false);
        check(67, 129, 2 * PACK_MIN_COLS + 100, &[64, 1, 64], true);
    }

    #[test]
    fn chunks_of_the_panel_add_in_order_bit_for_bit() {
        // Real-valued operands over three chunks of KC rows: each output must be the fused
        // multiply-adds in order from 0, exactly, as one pass over k would give; with the left
        // operand read in place (40 columns) and packed (wide, 19 rows: blocks of 10 and 9).
        for (m, n) in [(7, 40), (19, PACK_MIN_COLS + 40)] {
            chunks_add_in_order(m, n);
        }
    }

    fn chunks_add_in_order(m: usize, n: usize) {
        let k = 2 * KC + 45;
        let value = |i: usize| ((i * 2654435761) % 1000) as f32 / 997.0 - 0.5;
        let a: Vec<f32> = (0..m * k).map(value).collect();
        let b: Vec<f32> = (0..k * n).map(|i| value(i + 17)).collect();
        let segments = [
            Segment {
                data: &a,
                stride: k,
                offset: 0,
                width: 100,
            },
            Segment {
                data: &a,
                stride: k,
                offset: 100,
                width: k - 100,
            },
        ];
        let packed = PackedRhs::from_fn(k, n, |row, col| b[row * n + col]);
        let mut out = vec![0.0; m * n];
        matmul_segments(&mut out, n, &segments, m, &packed, false);
        for i in 0..m {
            for j in 0..n {
                let expected =
                    (0..k).fold(0.0f32, |acc, p| a[i * k + p].mul_add(b[p * n + j], acc));
                assert_eq!(out[i * n + j].to_bits(), expected.to_bits(), "at {i}, {j}");
            }
        }
    }
}
