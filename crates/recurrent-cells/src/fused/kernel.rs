//! One direction of one layer of RNN, LSTM or GRU over a whole sequence, forward and backward
//! (BPTT), on host slices.
//!
//! Forward: per step one product projects the step's input (`x_t W_ih`, computed right before
//! use, so it is still in cache; biases folded in), one product with `W_hh`, and one
//! vectorised pass of the gate arithmetic. It saves what the backward needs (activated gates,
//! previous states) in a [`Saved`] workspace. Backward: per
//! step (last to first) one vectorised pass of the gate derivatives and one GEMM for the
//! gradient of the previous hidden state; then `dX`, `dW_ih` and `dW_hh` are one GEMM each over
//! all steps, and the biases column sums.
//!
//! Layouts are row-major; sequences are time-major (`x: [seq, batch, d_input]`) or, for a
//! batch-first layer, batch-major (`[batch, seq, d_input]`), read and written in place with
//! every per-step buffer in the same row order (see [`Problem::row`]); states `[batch, H]`,
//! weights in the cells' internal layout (`W_ih: [d_input, G * H]`, `W_hh: [H, G * H]`, gate
//! blocks in the cell's order: LSTM `i, f, o, g`; GRU `r, z, n`). With lengths, a step at or
//! past a sequence's length keeps its state, outputs 0 and gets no gradient.
//!
//! The recurrence runs on a [team](super::team) when a step is large enough: each member owns
//! a block of hidden units (a [`Split`]) for the whole sequence — its columns of `W_hh` packed
//! once, its gates, its part of the state — and the members trade their parts of each step's
//! state (backward: of its gate gradients) through an exchange, meeting at a barrier once a
//! step (twice for GRU with the reset gate before the product). Every member sums each
//! product in the same order as a single thread would, so a team's results are bit-identical
//! to one thread's. Each member writes its columns of the outputs, of the saved previous
//! states and of the gate gradients straight into the joined matrices ([`ColumnPieces`]), so
//! nothing is joined by a copy afterwards.
//!
//! A batch-major problem with enough sequences for every thread runs differently (see
//! [`Plan`]): its batch is cut into parts of whole sequences, whose rows lie together in that
//! layout, and each thread runs its part alone with every unit, with no barrier at all. A
//! row's values do not depend on the other rows, the GEMMs after the recurrence still run
//! over all rows, and the bias gradients are summed afterwards in one thread's order, so the
//! results are again the same bits as one thread's.

use std::borrow::Cow;
use std::ops::{Deref, Range};
use std::sync::Mutex;

use super::gemm::{MatMut, MatRef, Threads, in_pool, matmul, matmul_halves, matmul_on, transposed};
use super::packed::{PackedRhs, Segment, matmul_segments};
use super::pieces;
use super::pool;
use super::simd::{dispatch, sigmoid_in_place, tanh_in_place};
use super::team::{self, Exchange, Member};

/// Hidden units are shared among the members of a team in blocks of this many.
const UNIT: usize = 16;
/// Multiply-adds of a step's hidden product per member below which a team stops growing.
const MEMBER_MACS: usize = 1 << 17;
/// The fewest sequences a thread takes when a batch-major problem's batch is cut into parts
/// (see [`Plan::Rows`]).
const MIN_PART_ROWS: usize = 8;
/// The widest input whose projection [`Problem::projects_ahead`] computes as one product: the
/// `gemm` crate's blocks of `k` are never shorter than 512, so up to 512 each value is one
/// chain of multiply-adds, as in the per-step kernel (whose chunks carry their sums over).
const PROJECT_AHEAD_MAX_INPUT: usize = 512;

/// The recurrence a kernel runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// Elman RNN, `h' = act(x W_ih + b_ih + h W_hh + b_hh)`, tanh or relu.
    Rnn {
        /// relu instead of tanh.
        relu: bool,
    },
    /// LSTM (PyTorch's), gate blocks `i, f, o, g`.
    Lstm,
    /// GRU, gate blocks `r, z, n`; `reset_after` is PyTorch's formulation.
    Gru {
        /// Whether the reset gate multiplies `h W_hn + b_hn` (true) or `h` before its matmul.
        reset_after: bool,
    },
}

impl CellKind {
    /// Number of gate blocks.
    pub fn n_gates(self) -> usize {
        match self {
            CellKind::Rnn { .. } => 1,
            CellKind::Lstm => 4,
            CellKind::Gru { .. } => 3,
        }
    }

    /// Whether the state has a cell part `c`.
    pub fn has_cell(self) -> bool {
        self == CellKind::Lstm
    }
}

/// Sizes of one problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// Number of steps.
    pub seq: usize,
    /// Number of sequences.
    pub batch: usize,
    /// Input features.
    pub d_input: usize,
    /// Hidden size `H`.
    pub d_hidden: usize,
}

/// One layer and direction: the inputs of a forward pass.
#[derive(Debug, Clone, Copy)]
pub struct Problem<'a> {
    /// The recurrence.
    pub kind: CellKind,
    /// Sizes.
    pub dims: Dims,
    /// `[seq, batch, d_input]`.
    pub x: &'a [f32],
    /// `[d_input, G * H]`.
    pub w_ih: &'a [f32],
    /// `[H, G * H]`.
    pub w_hh: &'a [f32],
    /// `[G * H]`, if the cell has biases.
    pub b_ih: Option<&'a [f32]>,
    /// `[G * H]`, if the cell has biases.
    pub b_hh: Option<&'a [f32]>,
    /// Initial hidden state `[batch, H]`.
    pub h0: &'a [f32],
    /// Initial cell state `[batch, H]` (LSTM only; empty otherwise).
    pub c0: &'a [f32],
    /// Valid steps of each sequence (`[batch]`, each `<= seq`), or every step.
    pub lengths: Option<&'a [usize]>,
    /// Whether to run from the last valid step to the first.
    pub reverse: bool,
    /// Whether `x`, the outputs and their gradients are batch-major (`[batch, seq, ·]`, a
    /// batch-first layer's own layout) rather than time-major (`[seq, batch, ·]`).
    pub batch_major: bool,
}

/// The results of a forward pass.
#[derive(Debug, Clone, Default)]
pub struct Forward {
    /// `[seq + 2, batch, H]`: every output `h_t` (0 at padding), then the final hidden state,
    /// then the final cell state (LSTM; zeros otherwise). Without the outputs (`[2, batch,
    /// H]`) when they went into the caller's rows ([`Problem::forward_into`]).
    pub packed: Vec<f32>,
    /// What the backward pass needs, when asked for.
    pub saved: Option<Saved>,
}

/// The forward workspace the backward pass reads: each team member's part.
#[derive(Debug, Clone)]
pub struct Saved {
    /// How the hidden units were shared (the backward shares them the same way).
    split: Split,
    /// The hidden state each step started from, `[seq, batch, H]` (rows as the outputs'),
    /// every member's columns written in place.
    h_prev: Vec<f32>,
    /// The activated gates of every step, `[seq, batch, G * H]` (RNN: the outputs), every
    /// member's columns written in place. The backward overwrites them with the gradients
    /// of the pre-activations, step by step, as it reads them.
    gates: Vec<f32>,
    /// Member `m`'s workspace for its units; with `parts`, part `p`'s for every unit.
    members: Vec<MemberSaved>,
    /// The parts of the batch that ran on their own (see [`Plan::Rows`]); empty when one team
    /// shared the units.
    parts: Vec<Range<usize>>,
}

impl Saved {
    /// What each member of the forward pass holds of a `[rows, blocks * H]` matrix, joined: a
    /// team's members hold column blocks ([`interleave`]), parts of the batch whole rows, one
    /// part after another.
    fn join<'a>(
        &self,
        parts: impl Iterator<Item = &'a [f32]>,
        rows: usize,
        blocks: usize,
    ) -> Cow<'a, [f32]> {
        if self.parts.is_empty() {
            return interleave(parts, &self.split, rows, blocks);
        }
        let mut joined = pool::take(rows * blocks * self.split.total());
        let mut start = 0;
        for part in parts {
            joined[start..][..part.len()].copy_from_slice(part);
            start += part.len();
        }
        Cow::Owned(joined)
    }
}

/// How one forward pass shares its work among threads.
#[derive(Debug)]
enum Plan {
    /// One team shares the hidden units, meeting at a barrier every step.
    Units(Split),
    /// The batch is cut into these parts (whole sequences; batch-major problems only, where a
    /// part's rows lie together), each run by one thread on its own with every unit: no
    /// barrier, and a step's products only half as tall. Every value is computed as one thread
    /// would compute it, so the results are the same bits.
    Rows(Vec<Range<usize>>),
}

/// A thread's share of the joined results of a forward pass.
#[derive(Debug, Default)]
struct Buffers<'a> {
    /// Its rows of the outputs, one slice of `H` each.
    output: Vec<&'a mut [f32]>,
    /// Its rows of the saved previous states (empty without `save`).
    h_prev: &'a mut [f32],
    /// Its rows of the saved gates (empty without `save`).
    gates: &'a mut [f32],
    /// Its rows of the final hidden state.
    h_n: &'a mut [f32],
    /// Its rows of the final cell state (zeros unless LSTM).
    c_n: &'a mut [f32],
}

/// The first `len` values of `rest`, which keeps the others.
fn split_front<'a>(rest: &mut &'a mut [f32], len: usize) -> &'a mut [f32] {
    let (front, back) = std::mem::take(rest).split_at_mut(len);
    *rest = back;
    front
}

/// The bounds of `0..n` cut into at most `count` contiguous parts, as evenly as whole blocks
/// of `block` allow (the last block may be short); no part is empty unless `n` is 0.
fn even_bounds(n: usize, count: usize, block: usize) -> Vec<usize> {
    let blocks = n.div_ceil(block);
    let count = count.min(blocks).max(1);
    (0..=count)
        .map(|p| (blocks * p / count * block).min(n))
        .collect()
}

/// `0..n` in at most `count` contiguous parts, none empty, as even as blocks of 4 (the
/// products' row blocks) allow.
fn even_parts(n: usize, count: usize) -> Vec<Range<usize>> {
    even_bounds(n, count, 4)
        .windows(2)
        .map(|w| w[0]..w[1])
        .filter(|part| !part.is_empty())
        .collect()
}

impl Drop for Saved {
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.h_prev));
        pool::give(std::mem::take(&mut self.gates));
    }
}

/// One member's forward workspace, for its `w` hidden units.
/// Its buffers go back to the [pool](super::pool) when it is dropped.
#[derive(Debug, Clone, Default)]
struct MemberSaved {
    /// Per kind: LSTM the previous cell state; GRU (reset after) `h W_hn + b_hn`; GRU (reset
    /// before) `r * h_prev`; `[seq, batch, w]` (RNN: empty, its gates are its output).
    /// (LSTM's `tanh(c_t)` is not kept: the backward recomputes it from the saved gates and
    /// previous cell state, bit for bit, which costs less than the memory.)
    extra: Vec<f32>,
}

impl Drop for MemberSaved {
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.extra));
    }
}

/// How the hidden units are shared among the members of a team: member `m` owns units
/// `bounds[m]..bounds[m + 1]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Split {
    bounds: Vec<usize>,
    /// Whether a team of one runs its products on its own thread instead of two (it is one
    /// of several running side by side).
    serial: bool,
}

impl Split {
    /// As many members as the threads allow and the step's size is worth, each with a whole
    /// number of [`UNIT`]s (but the last).
    fn new(kind: CellKind, dims: Dims, threads: usize) -> Self {
        let h = dims.d_hidden;
        let macs = dims.batch * kind.n_gates() * h * h;
        Self::even(h, (macs / MEMBER_MACS).clamp(1, threads.max(1)))
    }

    /// `h` units over at most `count` members, as evenly as whole [`UNIT`]s allow.
    fn even(h: usize, count: usize) -> Self {
        Self {
            bounds: even_bounds(h, count, UNIT),
            serial: false,
        }
    }

    /// One member with every unit, its products on its own thread.
    fn serial(h: usize) -> Self {
        Self {
            serial: true,
            ..Self::even(h, 1)
        }
    }

    /// Number of members.
    fn count(&self) -> usize {
        self.bounds.len() - 1
    }

    /// Member `m`'s first unit and number of units.
    fn range(&self, m: usize) -> (usize, usize) {
        (self.bounds[m], self.bounds[m + 1] - self.bounds[m])
    }

    /// All units.
    fn total(&self) -> usize {
        self.bounds[self.count()]
    }
}

/// What one member's forward returns (its outputs went into the joined ones in place).
struct MemberForward {
    /// `[batch, w]` (LSTM; empty otherwise).
    c_n: Vec<f32>,
    /// The workspace (empty unless saved).
    saved: MemberSaved,
}

/// What one member's backward returns (its gate gradients went into the joined ones in
/// place).
struct MemberGrads {
    /// The input-side bias gradient of its units, `[G * w]` (empty without biases).
    db_x: Vec<f32>,
    /// The hidden-side one of the candidate block, `[w]` (GRU reset after; empty otherwise:
    /// the other blocks' equal the input side's).
    db_h: Vec<f32>,
    /// `[batch, w]`.
    dh0: Vec<f32>,
    /// `[batch, w]` (LSTM; empty otherwise).
    dc0: Vec<f32>,
}

/// What [`Problem::backward`] does about the gradient of the layer's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputGrad {
    /// None is needed (a first layer whose `x` does not require one, as PyTorch's backward
    /// skips it): no product.
    Skip,
    /// `dX` into [`Grads::dx`].
    Compute,
    /// The gradients of the input-side pre-activations are handed back in
    /// [`Grads::dx_pre`] for the caller to multiply with [`Problem::add_input_grad`]: a
    /// bidirectional layer adds both directions' products into one `dX` after both, each
    /// product on every core, rather than two `dX` buffers summed afterwards.
    Defer,
}

/// Gradients of one layer and direction.
#[derive(Debug, Clone)]
pub struct Grads {
    /// `[seq, batch, d_input]` (empty unless [`InputGrad::Compute`]).
    pub dx: Vec<f32>,
    /// The gradients of the input-side pre-activations, `[seq * batch, G * H]` in the
    /// outputs' row order (empty unless [`InputGrad::Defer`]; a pooled buffer: give it back
    /// with [`Grads::recycle`]).
    pub dx_pre: Vec<f32>,
    /// `[d_input, G * H]`.
    pub dw_ih: Vec<f32>,
    /// `[H, G * H]`.
    pub dw_hh: Vec<f32>,
    /// `[G * H]` (present when the cell has biases).
    pub db_ih: Option<Vec<f32>>,
    /// `[G * H]` (present when the cell has biases).
    pub db_hh: Option<Vec<f32>>,
    /// `[batch, H]`.
    pub dh0: Vec<f32>,
    /// `[batch, H]` (LSTM; empty otherwise).
    pub dc0: Vec<f32>,
}

impl Grads {
    /// Gives [`Grads::dx_pre`]'s buffer back to the kernels' pool.
    pub fn recycle(&mut self) {
        pool::give(std::mem::take(&mut self.dx_pre));
    }
}

impl<'a> Problem<'a> {
    /// Sequences `part` of a batch-major problem as a problem of their own (their rows of
    /// every per-sequence input lie together).
    fn rows(&self, part: Range<usize>) -> Problem<'a> {
        debug_assert!(self.batch_major, "rows of a batch-major problem");
        let Dims {
            seq,
            d_input,
            d_hidden: h,
            ..
        } = self.dims;
        let c = if self.kind.has_cell() { h } else { 0 };
        Problem {
            dims: Dims {
                batch: part.len(),
                ..self.dims
            },
            x: &self.x[part.start * seq * d_input..part.end * seq * d_input],
            h0: &self.h0[part.start * h..part.end * h],
            c0: &self.c0[part.start * c..part.end * c],
            lengths: self.lengths.map(|l| &l[part.clone()]),
            ..*self
        }
    }
}

impl Problem<'_> {
    /// Panics unless every slice has the length its shape needs.
    fn check(&self) {
        let Dims {
            seq,
            batch,
            d_input,
            d_hidden: h,
        } = self.dims;
        let gh = self.kind.n_gates() * h;
        assert_eq!(self.x.len(), seq * batch * d_input, "x");
        assert_eq!(self.w_ih.len(), d_input * gh, "w_ih");
        assert_eq!(self.w_hh.len(), h * gh, "w_hh");
        assert_eq!(
            self.b_ih.is_some(),
            self.b_hh.is_some(),
            "both biases or none"
        );
        for b in [self.b_ih, self.b_hh].into_iter().flatten() {
            assert_eq!(b.len(), gh, "bias");
        }
        assert_eq!(self.h0.len(), batch * h, "h0");
        let c_len = if self.kind.has_cell() { batch * h } else { 0 };
        assert_eq!(self.c0.len(), c_len, "c0");
        if let Some(lengths) = self.lengths {
            assert_eq!(lengths.len(), batch, "lengths");
            assert!(lengths.iter().all(|&l| l <= seq), "lengths <= seq");
        }
    }

    /// The step processed at position `s` of the recurrence.
    fn step(&self, s: usize) -> usize {
        if self.reverse {
            self.dims.seq - 1 - s
        } else {
            s
        }
    }

    /// Whether step `t` of sequence `b` is a real step (not padding).
    fn active(&self, t: usize, b: usize) -> bool {
        self.lengths.is_none_or(|l| t < l[b])
    }

    /// The row of step `t` of sequence `b` in `x`, the outputs, their gradients and the saved
    /// per-step buffers: `t * batch + b` time-major, `b * seq + t` batch-major.
    fn row(&self, t: usize, b: usize) -> usize {
        if self.batch_major {
            b * self.dims.seq + t
        } else {
            t * self.dims.batch + b
        }
    }

    /// Step `t`'s rows of `x` (`[batch, d_input]`) as a left operand, read in place.
    fn x_step(&self, t: usize) -> Segment<'_> {
        let Dims {
            seq,
            batch,
            d_input,
            ..
        } = self.dims;
        let (start, stride) = if self.batch_major {
            (t * d_input, seq * d_input)
        } else {
            (t * batch * d_input, d_input)
        };
        Segment {
            data: &self.x[start..],
            stride,
            offset: 0,
            width: d_input,
        }
    }

    /// Whether a training forward pass on one thread computes every step's input projection
    /// as one product before the recurrence (the `gemm` crate's, into the saved gates), rather
    /// than step by step.
    ///
    /// RNN only: its gates are its outputs, `[rows, H]`, too narrow for the per-step kernel to
    /// pack its left operand (see `packed::PACK_MIN_COLS`), where one product over every row
    /// runs at the `gemm` crate's full speed. A config-C RNN training step's forward ran 3.4%
    /// faster (34.3 → 33.2 ms), its second layer's (512 inputs) 5%. LSTM and GRU gates are
    /// wide enough for the packed per-step kernel.
    ///
    /// Only where the result is the same bits as the per-step product, so that a team (which
    /// projects step by step) and one thread agree: each value one chain of `d_input`
    /// multiply-adds from zero, in order. The `gemm` crate's kernel sums `k` in blocks of at
    /// least 512 ([`PROJECT_AHEAD_MAX_INPUT`]), and takes other paths for products with a
    /// dimension of one or two or fewer than 16 x 16 outputs.
    fn projects_ahead(&self) -> bool {
        let Dims {
            seq,
            batch,
            d_input,
            d_hidden: h,
        } = self.dims;
        matches!(self.kind, CellKind::Rnn { .. })
            && (3..=PROJECT_AHEAD_MAX_INPUT).contains(&d_input)
            && seq * batch >= 16
            && h >= 16
    }

    /// Whether this is GRU with the reset gate applied before the hidden product.
    fn reset_before(&self) -> bool {
        self.kind == (CellKind::Gru { reset_after: false })
    }

    /// Member `m`'s columns of `W_hh` for the gate blocks `blocks`, packed:
    /// `[H, blocks.len() * w]`, block-major.
    fn pack_columns(&self, split: &Split, m: usize, blocks: Range<usize>) -> PackedRhs {
        let h = self.dims.d_hidden;
        let gh = self.kind.n_gates() * h;
        let (u0, w) = split.range(m);
        PackedRhs::from_rows(h, blocks.len() * w, |row, dst| {
            for (k, block) in blocks.clone().enumerate() {
                dst[k * w..][..w].copy_from_slice(&self.w_hh[row * gh + block * h + u0..][..w]);
            }
        })
    }

    /// Member `m`'s columns of `W_ih` (every gate block): `[d_input, G * w]`, block-major.
    fn pack_input_columns(&self, split: &Split, m: usize) -> PackedRhs {
        let Dims {
            d_input,
            d_hidden: h,
            ..
        } = self.dims;
        let n_gates = self.kind.n_gates();
        let gh = n_gates * h;
        let (u0, w) = split.range(m);
        PackedRhs::from_rows(d_input, n_gates * w, |row, dst| {
            for k in 0..n_gates {
                dst[k * w..][..w].copy_from_slice(&self.w_ih[row * gh + k * h + u0..][..w]);
            }
        })
    }

    /// `W_hh^T` for the backward of member `m`: the rows of gate blocks `blocks` (`[blocks.len()
    /// * H, w]`) and the columns of `m`'s units.
    fn pack_rows(&self, split: &Split, m: usize, blocks: Range<usize>) -> PackedRhs {
        let h = self.dims.d_hidden;
        let gh = self.kind.n_gates() * h;
        let (u0, w) = split.range(m);
        // Column `col` of `W_hh^T`'s part is row `u0 + col` of `W_hh`, contiguous.
        PackedRhs::from_columns(blocks.len() * h, w, |col, dst| {
            dst.copy_from_slice(&self.w_hh[(u0 + col) * gh + blocks.start * h..][..dst.len()]);
        })
    }

    /// Runs the recurrence; with `save`, keeps the workspace for [`Problem::backward`].
    pub fn forward(&self, save: bool) -> Forward {
        self.forward_run(save, self.plan(), None)
    }

    /// [`Problem::forward`] writing the outputs into `output` (one slice of `H` values per
    /// row, in the outputs' row order: a direction's columns of a bidirectional layer's
    /// output) instead of [`Forward::packed`], which then holds the final state alone.
    ///
    /// `beside`: another recurrence (the layer's other direction) runs at the same time on
    /// the other threads, so this one keeps its products on its own thread. Splitting each
    /// step's products between the two directions' threads as well made both wait on each
    /// other's halves every step: config-C forwards ran 1-3% slower.
    pub fn forward_into(&self, save: bool, output: Vec<&mut [f32]>, beside: bool) -> Forward {
        let plan = if beside {
            Plan::Units(Split::serial(self.dims.d_hidden))
        } else {
            self.plan()
        };
        self.forward_run(save, plan, Some(output))
    }

    /// How this problem shares its work among the threads a team may use: a batch-major
    /// batch with enough sequences for every thread is cut into parts, otherwise a team shares
    /// the units (when a step is large enough to be worth one).
    fn plan(&self) -> Plan {
        self.plan_for(team::threads())
    }

    /// [`Problem::plan`] for `threads` threads.
    fn plan_for(&self, threads: usize) -> Plan {
        let split = Split::new(self.kind, self.dims, threads);
        let count = split.count();
        let batch = self.dims.batch;
        if self.batch_major && count > 1 && batch >= count * MIN_PART_ROWS {
            Plan::Rows(even_parts(batch, count))
        } else {
            Plan::Units(split)
        }
    }

    /// [`Problem::forward`] on a team sharing the units as `split` says.
    #[cfg(test)]
    fn forward_split(&self, save: bool, split: Split) -> Forward {
        self.forward_run(save, Plan::Units(split), None)
    }

    /// [`Problem::forward`] as `plan` says, the outputs into `output`'s rows when given.
    fn forward_run(&self, save: bool, plan: Plan, output: Option<Vec<&mut [f32]>>) -> Forward {
        self.check();
        let Dims {
            seq,
            batch,
            d_hidden: h,
            ..
        } = self.dims;
        let gh = self.kind.n_gates() * h;
        let rows = seq * batch;
        // The members write their columns of the outputs (and of the saved previous states)
        // into the joined matrices in place.
        let own_rows = if output.is_some() { 0 } else { rows };
        // With the outputs, the pack leaves as the backend's tensor. Every value of it is
        // written (padding's outputs as zeros, a cell-free final cell state as zeros), so
        // without `save` (inference) it is a buffer as the pool has it, which the backend
        // gives back (see `pooled`). In training it is cleared on rayon's threads (see
        // `pool::zeros`) and left to the allocator: pooled there, a config-B RNN training step
        // ran 5% slower (see `pooled`).
        let pack_len = (own_rows + 2 * batch) * h;
        let mut packed = if own_rows > 0 && save {
            pool::zeros(pack_len)
        } else {
            pool::take(pack_len)
        };
        let mut h_prev = if save {
            pool::take(rows * h)
        } else {
            Vec::new()
        };
        let mut gates = if save {
            pool::take(rows * gh)
        } else {
            Vec::new()
        };
        let (own_output, finals) = packed.split_at_mut(own_rows * h);
        let output = match output {
            Some(rows_of) => {
                assert!(
                    rows_of.len() == rows && rows_of.iter().all(|r| r.len() == h),
                    "output: {rows} rows of {h}"
                );
                rows_of
            }
            None if h == 0 => Vec::new(),
            None => own_output.chunks_exact_mut(h).collect(),
        };
        let (h_n, c_n) = finals.split_at_mut(batch * h);
        let buffers = Buffers {
            output,
            h_prev: &mut h_prev,
            gates: &mut gates,
            h_n,
            c_n,
        };
        let (split, members, parts) = match plan {
            Plan::Units(split) => {
                let members = self.forward_team(save, &split, buffers);
                (split, members, Vec::new())
            }
            Plan::Rows(parts) => {
                let members = self.forward_rows(save, &parts, buffers);
                (Split::serial(h), members, parts)
            }
        };
        let saved = save.then(|| Saved {
            members,
            h_prev,
            gates,
            split,
            parts,
        });
        Forward { packed, saved }
    }

    /// The forward pass of the batch's `parts`, each on its own thread (see [`Plan::Rows`]),
    /// into `buffers`; returns each part's workspace.
    fn forward_rows(
        &self,
        save: bool,
        parts: &[Range<usize>],
        buffers: Buffers<'_>,
    ) -> Vec<MemberSaved> {
        let Dims {
            seq, d_hidden: h, ..
        } = self.dims;
        let gh = self.kind.n_gates() * h;
        let Buffers {
            output,
            mut h_prev,
            mut gates,
            mut h_n,
            mut c_n,
        } = buffers;
        let mut output = output.into_iter();
        let saved_rows = |n: usize| if save { n * seq } else { 0 };
        let jobs: Vec<Option<(Problem<'_>, Buffers<'_>)>> = parts
            .iter()
            .map(|part| {
                let n = part.len();
                let share = Buffers {
                    output: output.by_ref().take(n * seq).collect(),
                    h_prev: split_front(&mut h_prev, saved_rows(n) * h),
                    gates: split_front(&mut gates, saved_rows(n) * gh),
                    h_n: split_front(&mut h_n, n * h),
                    c_n: split_front(&mut c_n, n * h),
                };
                Some((self.rows(part.clone()), share))
            })
            .collect();
        let jobs = pieces::handout(jobs);
        let alone = Split::serial(h);
        team::run(parts.len(), |member| {
            let (problem, share) = pieces::take(&jobs, member.index).expect("a part per member");
            let mut saved = problem.forward_team(save, &alone, share);
            saved.pop().expect("one member")
        })
    }

    /// The forward pass on a team sharing the units as `split` says, into `buffers`; returns
    /// each member's workspace.
    fn forward_team(&self, save: bool, split: &Split, buffers: Buffers<'_>) -> Vec<MemberSaved> {
        let Dims {
            seq,
            batch,
            d_hidden: h,
            ..
        } = self.dims;
        let kind = self.kind;
        let gh = kind.n_gates() * h;
        let Buffers {
            output,
            h_prev,
            gates,
            h_n,
            c_n,
        } = buffers;

        // Every bias that sits outside the recurrence joins the input projection; GRU (reset
        // after) keeps b_hn inside it: r * (h W_hn + b_hn).
        let folded = gh
            - if kind == (CellKind::Gru { reset_after: true }) {
                h
            } else {
                0
            };
        let bias = match (self.b_ih, self.b_hh) {
            (Some(b_ih), Some(b_hh)) => {
                let mut bias = b_ih.to_vec();
                for (b, hh) in bias[..folded].iter_mut().zip(b_hh) {
                    *b += hh;
                }
                bias
            }
            _ => vec![0.0; gh],
        };
        let b_hn: Vec<f32> = match self.b_hh {
            Some(b) if folded < gh => b[folded..].to_vec(),
            _ => vec![0.0; h],
        };

        let count = split.count();
        let state_sizes: Vec<usize> = (0..count).map(|m| batch * split.range(m).1).collect();
        let states = Exchange::new(&state_sizes);
        for m in 0..count {
            let (u0, w) = split.range(m);
            states
                .write(0, m)
                .copy_from_slice(&columns(self.h0, h, u0, w));
        }
        let resets = self.reset_before().then(|| Exchange::new(&state_sizes));
        let projected = save && count == 1 && self.projects_ahead();
        if projected {
            let (rows, d_input) = (seq * batch, self.dims.d_input);
            let threads = Threads::here();
            in_pool(|| {
                matmul_on(
                    threads,
                    MatMut::new(gates, rows, gh),
                    MatRef::new(self.x, rows, d_input),
                    MatRef::new(self.w_ih, d_input, gh),
                    false,
                );
            });
        }
        let outputs = ColumnPieces::cut_rows(output, split, 1);
        let previous = ColumnPieces::cut(h_prev, split, 1);
        let gate_pieces = ColumnPieces::cut(gates, split, kind.n_gates());
        let parts = team::run(count, |member| {
            let mut output = ColumnPieces::take(&outputs, member.index);
            let mut h_prev = ColumnPieces::take(&previous, member.index);
            let mut gates = ColumnPieces::take(&gate_pieces, member.index);
            let places = Places {
                output: &mut output,
                h_prev: &mut h_prev,
                gates: &mut gates,
            };
            self.forward_member(
                member,
                split,
                (&bias, &b_hn),
                (&states, resets.as_ref()),
                places,
                (save, projected),
            )
        });

        interleave_into(h_n, states.read(seq).iter().map(|p| &p[..]), split, 1);
        if kind.has_cell() {
            interleave_into(c_n, parts.iter().map(|p| &p.c_n[..]), split, 1);
        } else {
            c_n.fill(0.0);
        }
        parts.into_iter().map(|part| part.saved).collect()
    }

    /// One member's forward: its units over the whole sequence, from the folded biases and
    /// `b_hn` (GRU reset-after's, inside the reset). It trades its part of each
    /// step's state through `states` (GRU reset-before: `r * h` through `resets`) and writes
    /// its columns of the outputs and of the saved previous states in `places`.
    fn forward_member(
        &self,
        member: Member<'_>,
        split: &Split,
        (bias, b_hn): (&[f32], &[f32]),
        (states, resets): (&Exchange, Option<&Exchange>),
        places: Places<'_, '_>,
        (save, projected): (bool, bool),
    ) -> MemberForward {
        let Places {
            output,
            h_prev,
            gates: saved_gates,
        } = places;
        let Dims {
            seq,
            batch,
            d_hidden: h,
            ..
        } = self.dims;
        let kind = self.kind;
        let n_gates = kind.n_gates();
        let m = member.index;
        let (u0, w) = split.range(m);
        let gw = n_gates * w;
        let parallel = split.count() == 1 && !split.serial;

        // This member's columns of W_ih (unless the saved gates already hold every step's
        // input projection) and W_hh, packed once (GRU reset-before: W_hh's r, z blocks apart
        // from its n block), and of the folded biases.
        let w_input = (!projected).then(|| self.pack_input_columns(split, m));
        let hidden_blocks = if resets.is_some() { 2 } else { n_gates };
        let w_hidden = self.pack_columns(split, m, 0..hidden_blocks);
        let w_n = resets.map(|_| self.pack_columns(split, m, 2..3));
        let bias: Vec<f32> = (0..gw).map(|c| bias[(c / w) * h + u0 + c % w]).collect();
        let b_hn = &b_hn[u0..u0 + w];
        // This step's input projection (without the biases).
        let mut xs = vec![0.0; batch * gw];

        // Without `save` the workspace holds one step, overwritten by the next.
        // Every element of these is written before it is read (padding is never read).
        let kept_steps = if save { seq } else { 1 };
        let mut gates = vec![0.0; batch * gw];
        // (Without `save`, only GRU reset-after reads it back: `h W_hn + b_hn` within a step.)
        let needs_extra = match kind {
            CellKind::Rnn { .. } => false,
            CellKind::Gru { reset_after: true } => true,
            CellKind::Lstm | CellKind::Gru { .. } => save,
        };
        let mut extra = if needs_extra {
            pool::take(kept_steps * batch * w)
        } else {
            Vec::new()
        };
        // LSTM: this step's tanh(c_t).
        let mut tanh_c = vec![0.0; if kind.has_cell() { batch * w } else { 0 }];
        let mut c = if kind.has_cell() {
            columns(self.c0, h, u0, w)
        } else {
            Vec::new()
        };
        let mut hp = vec![0.0; batch * hidden_blocks * w];
        let mut hp_n = vec![0.0; if resets.is_some() { batch * w } else { 0 }];

        for s in 0..seq {
            let t = self.step(s);
            // Where sequence `b`'s step goes in the saved buffers (without `save`, they hold
            // this step alone); in the output it is always `self.row(t, b)`.
            let slot = |b: usize| if save { self.row(t, b) } else { b };
            if let Some(w_input) = &w_input {
                matmul_segments(&mut xs, gw, &[self.x_step(t)], batch, w_input, parallel);
            }
            {
                let prev = states.read(s);
                let segments = segments(&prev, split, 1);
                matmul_segments(
                    &mut hp,
                    hidden_blocks * w,
                    &segments,
                    batch,
                    &w_hidden,
                    parallel,
                );
                let own = &prev[m][..];
                if save {
                    for b in 0..batch {
                        h_prev
                            .block(self.row(t, b), 0)
                            .copy_from_slice(&own[b * w..][..w]);
                    }
                }
                if let Some(resets) = resets {
                    // First phase: r and z, and r * h for the candidate's product.
                    let mut rh = resets.write(s, m);
                    dispatch(
                        #[inline(always)]
                        || {
                            for b in 0..batch {
                                let rh_b = &mut rh[b * w..][..w];
                                if !self.active(t, b) {
                                    rh_b.fill(0.0);
                                    continue;
                                }
                                let xs_row = &xs[b * gw..][..gw];
                                let hp_row = &hp[b * 2 * w..][..2 * w];
                                let [r, z] = gate_blocks::<2>(
                                    saved_gates,
                                    &mut gates[b * gw..][..gw],
                                    (save, self.row(t, b)),
                                    w,
                                );
                                pre_activate(
                                    [&mut *r, &mut *z],
                                    (xs_row, &bias, hp_row),
                                    |_, g| sigmoid_in_place(g),
                                );
                                let own_b = &own[b * w..][..w];
                                for j in 0..w {
                                    rh_b[j] = r[j] * own_b[j];
                                }
                            }
                        },
                    );
                } else {
                    let mut next = states.write(s + 1, m);
                    dispatch(
                        #[inline(always)]
                        || {
                            for b in 0..batch {
                                let own_b = &own[b * w..][..w];
                                let next_b = &mut next[b * w..][..w];
                                let out = output.block(self.row(t, b), 0);
                                if !self.active(t, b) {
                                    next_b.copy_from_slice(own_b);
                                    out.fill(0.0);
                                    continue;
                                }
                                let xs_row = &xs[b * gw..][..gw];
                                let hp_row = &hp[b * gw..][..gw];
                                let place = (save, self.row(t, b));
                                match kind {
                                    CellKind::Rnn { relu } => {
                                        let [g] = gate_blocks::<1>(
                                            saved_gates,
                                            &mut gates[b * gw..][..gw],
                                            place,
                                            w,
                                        );
                                        if projected {
                                            // `g` holds this row's input projection.
                                            add_in_place(g, &bias[..gw], hp_row);
                                        } else {
                                            add3(g, xs_row, &bias[..gw], hp_row);
                                        }
                                        if relu {
                                            for v in g.iter_mut() {
                                                *v = v.max(0.0);
                                            }
                                        } else {
                                            tanh_in_place(g);
                                        }
                                        next_b.copy_from_slice(g);
                                        out.copy_from_slice(g);
                                    }
                                    CellKind::Lstm => {
                                        let [gi, gf, go, gg] = gate_blocks::<4>(
                                            saved_gates,
                                            &mut gates[b * gw..][..gw],
                                            place,
                                            w,
                                        );
                                        pre_activate(
                                            [&mut *gi, &mut *gf, &mut *go, &mut *gg],
                                            (xs_row, &bias, hp_row),
                                            // i, f, o through the sigmoid, the candidate through tanh.
                                            |k, g| {
                                                if k < 3 {
                                                    sigmoid_in_place(g)
                                                } else {
                                                    tanh_in_place(g)
                                                }
                                            },
                                        );
                                        let cb = &mut c[b * w..][..w];
                                        if save {
                                            extra[slot(b) * w..][..w].copy_from_slice(cb);
                                        }
                                        let tc = &mut tanh_c[b * w..][..w];
                                        for j in 0..w {
                                            cb[j] = gf[j] * cb[j] + gi[j] * gg[j];
                                            tc[j] = cb[j];
                                        }
                                        tanh_in_place(tc);
                                        for j in 0..w {
                                            let v = go[j] * tc[j];
                                            next_b[j] = v;
                                            out[j] = v;
                                        }
                                    }
                                    CellKind::Gru { .. } => {
                                        // Reset after: r * (h W_hn + b_hn) replaces the n block.
                                        let [r, z, n] = gate_blocks::<3>(
                                            saved_gates,
                                            &mut gates[b * gw..][..gw],
                                            place,
                                            w,
                                        );
                                        pre_activate(
                                            [&mut *r, &mut *z],
                                            (xs_row, &bias, hp_row),
                                            |_, g| sigmoid_in_place(g),
                                        );
                                        let hn = &mut extra[slot(b) * w..][..w];
                                        add2(hn, &hp_row[2 * w..], b_hn);
                                        add3(n, &xs_row[2 * w..], &bias[2 * w..gw], &[]);
                                        for ((n, r), hn) in n.iter_mut().zip(&*r).zip(&*hn) {
                                            *n += r * hn;
                                        }
                                        tanh_in_place(n);
                                        gru_update([r, z, n], own_b, next_b, out);
                                    }
                                }
                            }
                        },
                    );
                }
            }
            if let (Some(resets), Some(w_n)) = (resets, &w_n) {
                member.wait();
                let rh = resets.read(s);
                let segments = segments(&rh, split, 1);
                matmul_segments(&mut hp_n, w, &segments, batch, w_n, parallel);
                let prev = states.read(s);
                let own = &prev[m][..];
                let own_rh = &rh[m][..];
                let mut next = states.write(s + 1, m);
                dispatch(
                    #[inline(always)]
                    || {
                        for b in 0..batch {
                            let own_b = &own[b * w..][..w];
                            let next_b = &mut next[b * w..][..w];
                            let out = output.block(self.row(t, b), 0);
                            if !self.active(t, b) {
                                next_b.copy_from_slice(own_b);
                                out.fill(0.0);
                                continue;
                            }
                            let xs_row = &xs[b * gw..][..gw];
                            let [r, z, n] = gate_blocks::<3>(
                                saved_gates,
                                &mut gates[b * gw..][..gw],
                                (save, self.row(t, b)),
                                w,
                            );
                            add3(n, &xs_row[2 * w..], &bias[2 * w..gw], &hp_n[b * w..][..w]);
                            tanh_in_place(n);
                            if save {
                                extra[slot(b) * w..][..w].copy_from_slice(&own_rh[b * w..][..w]);
                            }
                            gru_update([r, z, n], own_b, next_b, out);
                        }
                    },
                );
            }
            member.wait();
        }
        let saved = if save {
            MemberSaved { extra }
        } else {
            MemberSaved::default()
        };
        MemberForward { c_n: c, saved }
    }

    /// Backpropagation through time from the gradients of the outputs (`dy: [seq, batch,
    /// H]`, in the outputs' row order, read in place: a bidirectional layer's are one
    /// direction's columns of both) and of the final state (`dh_n`, `dc_n: [batch, H]`; `dc_n` empty unless LSTM).
    ///
    /// `forward` is this problem's forward pass run with `save`, consumed: its saved gates
    /// become the gradients of the pre-activations in place. `input` says what becomes of
    /// the input's gradient (see [`InputGrad`]).
    pub fn backward(
        &self,
        mut forward: Forward,
        dy: Segment<'_>,
        dh_n: &[f32],
        dc_n: &[f32],
        input: InputGrad,
    ) -> Grads {
        self.check();
        let saved = forward
            .saved
            .as_mut()
            .expect("the forward pass saved its workspace");
        // The gradients of the pre-activations on the input side take the saved gates' place,
        // row by row as the members read them.
        let mut dxp = std::mem::take(&mut saved.gates);
        let saved = &*saved;
        let Dims {
            seq,
            batch,
            d_input,
            d_hidden: h,
        } = self.dims;
        let kind = self.kind;
        let gh = kind.n_gates() * h;
        let rows = seq * batch;
        assert!(
            dy.width == h
                && dy.offset + h <= dy.stride
                && (rows == 0 || dy.data.len() >= (rows - 1) * dy.stride + dy.offset + h),
            "dy"
        );
        assert_eq!(dh_n.len(), batch * h, "dh_n");
        assert_eq!(
            dc_n.len(),
            if kind.has_cell() { batch * h } else { 0 },
            "dc_n"
        );
        let split = &saved.split;
        // Gradients of the pre-activations on the input side (over the saved gates); on the
        // hidden side they differ only for GRU (reset after), and only in the candidate's
        // block, which sees r * (h W_hn + b_hn): that block alone is kept apart (`dhn`,
        // `[rows, H]`). The members write their columns of both in place. Written for every
        // row: padding's are zeros.
        let n_gates = kind.n_gates();
        let separate_hidden = kind == (CellKind::Gru { reset_after: true });
        assert_eq!(dxp.len(), rows * gh, "saved gates");
        let mut dhn = if separate_hidden {
            pool::take(rows * h)
        } else {
            Vec::new()
        };
        let grads = if saved.parts.is_empty() {
            self.backward_team(
                split,
                &saved.members,
                &saved.h_prev,
                (dy, dh_n, dc_n),
                (&mut dxp, &mut dhn),
            )
        } else {
            self.backward_rows(saved, (dy, dh_n, dc_n), (&mut dxp, &mut dhn))
        };
        let h_prev = &saved.h_prev;
        // The weight (and input) gradients: products over every row, each split among
        // rayon's threads, started from one of its workers (see `in_pool`); called from one of
        // those workers (a bidirectional layer's direction, beside the other), on this thread
        // alone (see `Threads`).
        let threads = Threads::here();
        let (dx, dw_ih, dw_hh) = in_pool(|| {
            let mut dx = Vec::new();
            if input == InputGrad::Compute {
                dx = pool::zeros(rows * d_input);
                self.add_input_grad(&mut dx, &dxp, false);
            }
            let mut dw_ih = vec![0.0; d_input * gh];
            matmul_halves(
                threads,
                MatMut::new(&mut dw_ih, d_input, gh),
                MatRef::new(self.x, rows, d_input).t(),
                MatRef::new(&dxp, rows, gh),
                false,
            );
            let mut dw_hh = vec![0.0; h * gh];
            if matches!(kind, CellKind::Gru { .. }) {
                // r's and z's blocks from the shared gradients; the candidate's from `r * h_prev`
                // (reset before) or from its own hidden-side gradient (reset after).
                matmul_halves(
                    threads,
                    MatMut::new(&mut dw_hh, h, gh).cols(0, 2 * h),
                    MatRef::new(h_prev, rows, h).t(),
                    MatRef::new(&dxp, rows, gh).cols(0, 2 * h),
                    false,
                );
                let (lhs, rhs) = if self.reset_before() {
                    let rh = saved.join(saved.members.iter().map(|p| &p.extra[..]), rows, 1);
                    (rh, MatRef::new(&dxp, rows, gh).cols(2 * h, h))
                } else {
                    (Cow::Borrowed(&h_prev[..]), MatRef::new(&dhn, rows, h))
                };
                matmul_halves(
                    threads,
                    MatMut::new(&mut dw_hh, h, gh).cols(2 * h, h),
                    MatRef::new(&lhs, rows, h).t(),
                    rhs,
                    false,
                );
                recycle(lhs);
            } else {
                matmul_halves(
                    threads,
                    MatMut::new(&mut dw_hh, h, gh),
                    MatRef::new(h_prev, rows, h).t(),
                    MatRef::new(&dxp, rows, gh),
                    false,
                );
            }
            (dx, dw_ih, dw_hh)
        });
        let (db_ih, db_hh) = if self.b_ih.is_some() {
            // A team summed its columns step by step; parts of the batch did not (see
            // `backward_rows`): their sums are taken here, in the order one thread adds them.
            let (db_ih, db_hn) = if saved.parts.is_empty() {
                let joined = |part: fn(&MemberGrads) -> &[f32], blocks: usize| {
                    interleave(grads.iter().map(part), split, 1, blocks).into_owned()
                };
                (
                    joined(|p| &p.db_x, n_gates),
                    separate_hidden.then(|| joined(|p| &p.db_h, 1)),
                )
            } else {
                (
                    self.column_sums(&dxp, gh),
                    separate_hidden.then(|| self.column_sums(&dhn, h)),
                )
            };
            let mut db_hh = db_ih.clone();
            if let Some(db_hn) = db_hn {
                db_hh[2 * h..].copy_from_slice(&db_hn);
            }
            (Some(db_ih), Some(db_hh))
        } else {
            (None, None)
        };
        let dh0 = saved
            .join(grads.iter().map(|p| &p.dh0[..]), batch, 1)
            .into_owned();
        let dc0 = if kind.has_cell() {
            saved
                .join(grads.iter().map(|p| &p.dc0[..]), batch, 1)
                .into_owned()
        } else {
            Vec::new()
        };
        pool::give(dhn);
        let dx_pre = if input == InputGrad::Defer {
            dxp
        } else {
            pool::give(dxp);
            Vec::new()
        };
        Grads {
            dx,
            dx_pre,
            dw_ih,
            dw_hh,
            db_ih,
            db_hh,
            dh0,
            dc0,
        }
    }

    /// The recurrence of the backward pass on a team sharing the units as `split` says (the
    /// forward's members' workspaces `members`, the joined previous states `h_prev`): the
    /// members write their columns of the pre-activations' gradients `dxp` (and GRU
    /// reset-after's `dhn`) in place and return the rest of their gradients.
    fn backward_team(
        &self,
        split: &Split,
        members: &[MemberSaved],
        h_prev: &[f32],
        (dy, dh_n, dc_n): (Segment<'_>, &[f32], &[f32]),
        (dxp, dhn): (&mut [f32], &mut [f32]),
    ) -> Vec<MemberGrads> {
        let batch = self.dims.batch;
        let count = split.count();
        let reset_before = self.reset_before();
        // What the members trade each step: the hidden-side gate gradients (GRU reset-before:
        // first the candidate's, then r's and z's).
        let traded = |blocks: usize| -> Vec<usize> {
            (0..count)
                .map(|m| batch * blocks * split.range(m).1)
                .collect()
        };
        let first = Exchange::new(&traded(if reset_before { 1 } else { self.kind.n_gates() }));
        let second = reset_before.then(|| Exchange::new(&traded(2)));
        let dxp_pieces = ColumnPieces::cut(dxp, split, self.kind.n_gates());
        let dhn_pieces = ColumnPieces::cut(dhn, split, 1);
        team::run(count, |member| {
            let mut dxp = ColumnPieces::take(&dxp_pieces, member.index);
            let mut dhn = ColumnPieces::take(&dhn_pieces, member.index);
            self.backward_member(
                member,
                split,
                (&members[member.index], h_prev),
                (dy, dh_n, dc_n),
                (&first, second.as_ref()),
                (&mut dxp, &mut dhn),
            )
        })
    }

    /// The recurrence of the backward pass for a forward pass that cut the batch into parts
    /// ([`Plan::Rows`]): each part on its own thread, writing its rows of `dxp` (and `dhn`).
    /// The parts leave the bias gradients to the caller.
    fn backward_rows(
        &self,
        saved: &Saved,
        (dy, dh_n, dc_n): (Segment<'_>, &[f32], &[f32]),
        (dxp, dhn): (&mut [f32], &mut [f32]),
    ) -> Vec<MemberGrads> {
        let Dims {
            seq, d_hidden: h, ..
        } = self.dims;
        let gh = self.kind.n_gates() * h;
        let c = if self.kind.has_cell() { h } else { 0 };
        let hn = if dhn.is_empty() { 0 } else { h };
        let (mut dxp, mut dhn) = (dxp, dhn);
        let jobs: Vec<Option<_>> = saved
            .parts
            .iter()
            .enumerate()
            .map(|(p, part)| {
                let (start, n) = (part.start, part.len());
                let mut problem = self.rows(part.clone());
                // Summed afterwards over the whole batch (`column_sums`), in one thread's order.
                problem.b_ih = None;
                problem.b_hh = None;
                let dy = Segment {
                    data: &dy.data[(start * seq * dy.stride).min(dy.data.len())..],
                    ..dy
                };
                Some((
                    p,
                    problem,
                    &saved.h_prev[start * seq * h..(start + n) * seq * h],
                    (
                        dy,
                        &dh_n[start * h..(start + n) * h],
                        &dc_n[start * c..(start + n) * c],
                    ),
                    (
                        split_front(&mut dxp, n * seq * gh),
                        split_front(&mut dhn, n * seq * hn),
                    ),
                ))
            })
            .collect();
        let jobs = pieces::handout(jobs);
        team::run(saved.parts.len(), |member| {
            let (p, problem, h_prev, outer, inner) =
                pieces::take(&jobs, member.index).expect("a part per member");
            let members = std::slice::from_ref(&saved.members[p]);
            let mut grads = problem.backward_team(&saved.split, members, h_prev, outer, inner);
            grads.pop().expect("one member")
        })
    }

    /// The sums of the columns of `m` (`[rows, cols]`, in the outputs' row order) over the
    /// real steps, added as a single thread's backward adds the bias gradients: last step
    /// first, each step's sequences in batch order.
    fn column_sums(&self, m: &[f32], cols: usize) -> Vec<f32> {
        let mut sums = vec![0.0; cols];
        dispatch(
            #[inline(always)]
            || {
                for s in (0..self.dims.seq).rev() {
                    let t = self.step(s);
                    for b in 0..self.dims.batch {
                        if self.active(t, b) {
                            add_into(&mut sums, &m[self.row(t, b) * cols..][..cols]);
                        }
                    }
                }
            },
        );
        sums
    }

    /// `dx = dx_pre W_ih^T` (`dx += ...` when `accumulate`): the input's gradient from the
    /// gradients of the input-side pre-activations (`[seq * batch, G * H]`), one GEMM.
    pub fn add_input_grad(&self, dx: &mut [f32], dx_pre: &[f32], accumulate: bool) {
        let Dims {
            seq,
            batch,
            d_input,
            d_hidden: h,
        } = self.dims;
        let (rows, gh) = (seq * batch, self.kind.n_gates() * h);
        matmul(
            MatMut::new(dx, rows, d_input),
            MatRef::new(dx_pre, rows, gh),
            MatRef::new(&transposed(self.w_ih, d_input, gh), gh, d_input),
            accumulate,
        );
    }

    /// One member's backward: the gate gradients of its units over the whole sequence, last
    /// step first (written into its columns of `dxp` and, GRU reset-after, of the candidate's
    /// hidden-side block `dhn`), and the
    /// gradient of its part of the initial state. It reads its forward workspace and the
    /// joined previous states, and trades each step's hidden-side gradients through `first`
    /// (GRU reset-before: then r's and z's through `second`).
    fn backward_member(
        &self,
        member: Member<'_>,
        split: &Split,
        (saved, h_prev): (&MemberSaved, &[f32]),
        (dy, dh_n, dc_n): (Segment<'_>, &[f32], &[f32]),
        (first, second): (&Exchange, Option<&Exchange>),
        (dxp, dhn): (&mut ColumnPieces<'_>, &mut ColumnPieces<'_>),
    ) -> MemberGrads {
        let Dims {
            seq,
            batch,
            d_hidden: h,
            ..
        } = self.dims;
        let kind = self.kind;
        let n_gates = kind.n_gates();
        let m = member.index;
        let (u0, w) = split.range(m);
        let gw = n_gates * w;
        let parallel = split.count() == 1 && !split.serial;
        let reset_after = kind == (CellKind::Gru { reset_after: true });

        // W_hh^T's rows for what the members trade, and this member's columns.
        let (w_back, w_n_back) = if second.is_some() {
            (
                self.pack_rows(split, m, 0..2),
                Some(self.pack_rows(split, m, 2..3)),
            )
        } else {
            (self.pack_rows(split, m, 0..n_gates), None)
        };
        let traded = if second.is_some() { w } else { gw };

        let mut dh = columns(dh_n, h, u0, w);
        let mut dc = if kind.has_cell() {
            columns(dc_n, h, u0, w)
        } else {
            Vec::new()
        };
        // The bias gradients, summed step by step (last first), rows in batch order: the
        // same order whatever the team's size or the sequences' layout.
        let biased = self.b_ih.is_some();
        let mut db_x = vec![0.0; if biased { gw } else { 0 }];
        let mut db_h = vec![0.0; if biased && reset_after { w } else { 0 }];
        // Gate blocks whose gradient is final after the first phase (GRU reset-before: r's
        // comes in the second).
        let first_final = usize::from(second.is_some());
        let mut direct = vec![0.0; batch * w];
        let mut through = vec![0.0; batch * w];
        // LSTM: a row's tanh(c_t), recomputed.
        let mut tanh_c = vec![0.0; if kind.has_cell() { w } else { 0 }];
        let mut drh = vec![0.0; if second.is_some() { batch * w } else { 0 }];

        for (i, s) in (0..seq).rev().enumerate() {
            let t = self.step(s);
            {
                let mut shared = first.write(i, m);
                dispatch(
                    #[inline(always)]
                    || {
                        for b in 0..batch {
                            let row = self.row(t, b);
                            let shared_b = &mut shared[b * traded..][..traded];
                            if !self.active(t, b) {
                                shared_b.fill(0.0);
                                dxp.fill_row(row);
                                if reset_after {
                                    dhn.fill_row(row);
                                }
                                continue;
                            }
                            // Each gate block is read where it lies and its gradient written
                            // over it, value by value.
                            let dh_b = &dh[b * w..][..w];
                            let dy_b = &dy.row(row)[u0..][..w];
                            let direct_b = &mut direct[b * w..][..w];
                            match kind {
                                CellKind::Rnn { relu } => {
                                    let [d] = dxp.row_blocks::<1>(row);
                                    for j in 0..w {
                                        let y = d[j];
                                        let dht = dh_b[j] + dy_b[j];
                                        let slope = if relu {
                                            if y > 0.0 { 1.0 } else { 0.0 }
                                        } else {
                                            1.0 - y * y
                                        };
                                        d[j] = dht * slope;
                                        direct_b[j] = 0.0;
                                    }
                                    shared_b.copy_from_slice(d);
                                }
                                CellKind::Lstm => {
                                    let c_prev = &saved.extra[row * w..][..w];
                                    let dc_b = &mut dc[b * w..][..w];
                                    let [di, df, d_o, dg] = dxp.row_blocks::<4>(row);
                                    // tanh(c_t) as the forward computed it: the same
                                    // operations in the same order, so the same bits.
                                    let tc = &mut tanh_c[..w];
                                    for j in 0..w {
                                        tc[j] = df[j] * c_prev[j] + di[j] * dg[j];
                                    }
                                    tanh_in_place(tc);
                                    for j in 0..w {
                                        let (i, f, o, gg) = (di[j], df[j], d_o[j], dg[j]);
                                        let dht = dh_b[j] + dy_b[j];
                                        let dct = dc_b[j] + dht * o * (1.0 - tc[j] * tc[j]);
                                        di[j] = dct * gg * i * (1.0 - i);
                                        df[j] = dct * c_prev[j] * f * (1.0 - f);
                                        d_o[j] = dht * tc[j] * o * (1.0 - o);
                                        dg[j] = dct * i * (1.0 - gg * gg);
                                        dc_b[j] = dct * f;
                                        direct_b[j] = 0.0;
                                    }
                                    concat_into(shared_b, [&*di, &*df, &*d_o, &*dg]);
                                }
                                CellKind::Gru { reset_after } => {
                                    let hp = &h_prev[row * h + u0..][..w];
                                    let [dr, dz, dn] = dxp.row_blocks::<3>(row);
                                    for j in 0..w {
                                        let (z, n) = (dz[j], dn[j]);
                                        let dht = dh_b[j] + dy_b[j];
                                        let dan = dht * (1.0 - z) * (1.0 - n * n);
                                        dz[j] = dht * (hp[j] - n) * z * (1.0 - z);
                                        dn[j] = dan;
                                        direct_b[j] = dht * z;
                                    }
                                    if reset_after {
                                        let hn = &saved.extra[row * w..][..w];
                                        let [dhn_b] = dhn.row_blocks::<1>(row);
                                        for j in 0..w {
                                            let r = dr[j];
                                            let dan = dn[j];
                                            dr[j] = dan * hn[j] * r * (1.0 - r);
                                            dhn_b[j] = dan * r;
                                        }
                                        concat_into(shared_b, [&*dr, &*dz, &*dhn_b]);
                                    } else {
                                        shared_b.copy_from_slice(dn);
                                    }
                                }
                            }
                            if biased {
                                for k in first_final..n_gates {
                                    add_into(&mut db_x[k * w..][..w], dxp.block(row, k));
                                }
                                if reset_after {
                                    add_into(&mut db_h, dhn.block(row, 0));
                                }
                            }
                        }
                    },
                );
            }
            member.wait();
            match (second, &w_n_back) {
                (Some(second), Some(w_n_back)) => {
                    // d(r * h_prev) = dn_pre W_hn^T, then r's gradient, then the r, z blocks.
                    {
                        let parts = first.read(i);
                        let segments = segments(&parts, split, 1);
                        matmul_segments(&mut drh, w, &segments, batch, w_n_back, parallel);
                    }
                    {
                        let mut shared = second.write(i, m);
                        dispatch(
                            #[inline(always)]
                            || {
                                for b in 0..batch {
                                    let row = self.row(t, b);
                                    let shared_b = &mut shared[b * 2 * w..][..2 * w];
                                    if !self.active(t, b) {
                                        shared_b.fill(0.0);
                                        continue;
                                    }
                                    let hp = &h_prev[row * h + u0..][..w];
                                    // r's block still holds r: the first phase left it.
                                    let [dr, dz] = dxp.row_blocks::<2>(row);
                                    let drh_b = &drh[b * w..][..w];
                                    let direct_b = &mut direct[b * w..][..w];
                                    for j in 0..w {
                                        let r = dr[j];
                                        let x = drh_b[j];
                                        dr[j] = x * hp[j] * r * (1.0 - r);
                                        direct_b[j] += x * r;
                                    }
                                    if biased {
                                        add_into(&mut db_x[..w], dr);
                                    }
                                    concat_into(shared_b, [&*dr, &*dz]);
                                }
                            },
                        );
                    }
                    member.wait();
                    let parts = second.read(i);
                    let segments = segments(&parts, split, 2);
                    matmul_segments(&mut through, w, &segments, batch, &w_back, parallel);
                }
                _ => {
                    let parts = first.read(i);
                    let segments = segments(&parts, split, n_gates);
                    matmul_segments(&mut through, w, &segments, batch, &w_back, parallel);
                }
            }
            dispatch(
                #[inline(always)]
                || {
                    for b in 0..batch {
                        if self.active(t, b) {
                            let range = b * w..(b + 1) * w;
                            add2(
                                &mut dh[range.clone()],
                                &through[range.clone()],
                                &direct[range],
                            );
                        }
                    }
                },
            );
        }
        MemberGrads {
            db_x,
            db_h,
            dh0: dh,
            dc0: dc,
        }
    }
}

/// Where a member's forward writes its columns of the joined results.
struct Places<'p, 'a> {
    /// The outputs, `[seq, batch, H]`.
    output: &'p mut ColumnPieces<'a>,
    /// The saved previous states, `[seq, batch, H]` (no pieces without `save`).
    h_prev: &'p mut ColumnPieces<'a>,
    /// The saved activated gates, `[seq, batch, G * H]` (no pieces without `save`).
    gates: &'p mut ColumnPieces<'a>,
}

/// One member's columns of a joined `[rows, blocks * H]` matrix (gate block `k` of the member
/// that owns units `start..start + w` at columns `k * H + start`, as [`interleave`] lays them
/// out), cut into disjoint mutable pieces so that every member writes its own in place.
#[derive(Debug, Default)]
struct ColumnPieces<'a> {
    /// Row `r`'s block `k` at `pieces[r * blocks + k]`.
    pieces: Vec<&'a mut [f32]>,
    blocks: usize,
}

impl<'a> ColumnPieces<'a> {
    /// Every member's pieces of `joined` (empty pieces for an empty `joined`), each behind a
    /// lock that its member [takes](ColumnPieces::take) them from.
    fn cut(joined: &'a mut [f32], split: &Split, blocks: usize) -> Vec<Mutex<ColumnPieces<'a>>> {
        let cols = blocks * split.total();
        let rows = if cols == 0 {
            Vec::new()
        } else {
            joined.chunks_exact_mut(cols).collect()
        };
        Self::cut_rows(rows, split, blocks)
    }

    /// [`ColumnPieces::cut`] for a matrix given as its rows (each `blocks * H` values).
    fn cut_rows(
        rows: Vec<&'a mut [f32]>,
        split: &Split,
        blocks: usize,
    ) -> Vec<Mutex<ColumnPieces<'a>>> {
        let widths: Vec<usize> = (0..split.count()).map(|m| split.range(m).1).collect();
        pieces::handout(
            pieces::deal(rows, &widths, blocks)
                .into_iter()
                .map(|pieces| ColumnPieces { pieces, blocks })
                .collect(),
        )
    }

    /// Member `m`'s pieces, out of what [`ColumnPieces::cut`] gave.
    fn take(cut: &[Mutex<ColumnPieces<'a>>], m: usize) -> Self {
        pieces::take(cut, m)
    }

    /// Block `k` of row `row`.
    #[inline(always)]
    fn block(&mut self, row: usize, k: usize) -> &mut [f32] {
        &mut *self.pieces[row * self.blocks + k]
    }

    /// The first `N` blocks of row `row`.
    #[inline(always)]
    fn row_blocks<const N: usize>(&mut self, row: usize) -> [&mut [f32]; N] {
        let mut pieces = self.pieces[row * self.blocks..][..N].iter_mut();
        std::array::from_fn(|_| &mut **pieces.next().expect("N blocks"))
    }

    /// Zeros in every block of row `row`.
    fn fill_row(&mut self, row: usize) {
        for piece in &mut self.pieces[row * self.blocks..][..self.blocks] {
            piece.fill(0.0);
        }
    }
}

/// `dst` = the `parts` one after another (their lengths sum to `dst`'s).
#[inline(always)]
fn concat_into<const N: usize>(dst: &mut [f32], parts: [&[f32]; N]) {
    let mut start = 0;
    for part in parts {
        dst[start..][..part.len()].copy_from_slice(part);
        start += part.len();
    }
}

/// `dst[i] = a[i] + b[i] + c[i]` (`c` may be empty: then `a[i] + b[i]`), summed left to right.
/// Every slice has `dst`'s length, which lets the loop vectorise.
#[inline(always)]
fn add3(dst: &mut [f32], a: &[f32], b: &[f32], c: &[f32]) {
    let n = dst.len();
    let (a, b) = (&a[..n], &b[..n]);
    if c.is_empty() {
        for ((d, a), b) in dst.iter_mut().zip(a).zip(b) {
            *d = a + b;
        }
    } else {
        for (((d, a), b), c) in dst.iter_mut().zip(a).zip(b).zip(&c[..n]) {
            *d = a + b + c;
        }
    }
}

/// `dst[i] = dst[i] + b[i] + c[i]`, summed left to right (as [`add3`] with `a` = `dst`).
#[inline(always)]
fn add_in_place(dst: &mut [f32], b: &[f32], c: &[f32]) {
    let n = dst.len();
    for ((d, b), c) in dst.iter_mut().zip(&b[..n]).zip(&c[..n]) {
        *d = *d + b + c;
    }
}

/// `dst[i] = a[i] + b[i]`.
#[inline(always)]
fn add2(dst: &mut [f32], a: &[f32], b: &[f32]) {
    add3(dst, a, b, &[]);
}

/// Gate blocks `0..N` of a row (`blocks`, each `w` long): the input projection, the folded
/// bias and the hidden product added block by block (`(xs_row, bias, hp_row)`, the blocks
/// side by side in each), then `activate(k, block)` in place.
#[inline(always)]
fn pre_activate<const N: usize>(
    blocks: [&mut [f32]; N],
    (xs_row, bias, hp_row): (&[f32], &[f32], &[f32]),
    activate: impl Fn(usize, &mut [f32]),
) {
    for (k, g) in blocks.into_iter().enumerate() {
        let cols = k * g.len()..(k + 1) * g.len();
        add3(g, &xs_row[cols.clone()], &bias[cols.clone()], &hp_row[cols]);
        activate(k, g);
    }
}

/// The GRU state update of one row, `h' = n + z * (h - n)`, from its activated gates `g`
/// (`r, z, n` blocks of `h.len()`): written to the new state and the step's output.
#[inline(always)]
fn gru_update(g: [&mut [f32]; 3], h: &[f32], next: &mut [f32], out: &mut [f32]) {
    let [_, z, n] = g;
    let d = h.len();
    let (z, n) = (&z[..d], &n[..d]);
    for j in 0..d {
        let v = n[j] + z[j] * (h[j] - n[j]);
        next[j] = v;
        out[j] = v;
    }
}

/// The first `N` gate blocks (of `w` values) of a row of this step: where the workspace keeps
/// them (`(save, row)` with `save`: the member's pieces of row `row` of the joined gates) or
/// in the member's one-step buffer (`step_row`, the blocks side by side).
#[inline(always)]
fn gate_blocks<'g, const N: usize>(
    saved: &'g mut ColumnPieces<'_>,
    step_row: &'g mut [f32],
    (save, row): (bool, usize),
    w: usize,
) -> [&'g mut [f32]; N] {
    if save {
        saved.row_blocks::<N>(row)
    } else {
        let mut blocks = step_row.chunks_exact_mut(w);
        std::array::from_fn(|_| blocks.next().expect("N blocks"))
    }
}

/// The members' parts of a traded value (member `u`: `[batch, blocks * w_u]`, block-major) as
/// the column blocks of one `[batch, blocks * H]` left operand in its natural column order
/// (block by block, then unit by unit), so that products sum in the order one thread would.
fn segments<'a, P: Deref<Target = Vec<f32>>>(
    parts: &'a [P],
    split: &Split,
    blocks: usize,
) -> Vec<Segment<'a>> {
    let mut segments = Vec::with_capacity(blocks * parts.len());
    for k in 0..blocks {
        for (u, part) in parts.iter().enumerate() {
            let width = split.range(u).1;
            segments.push(Segment {
                data: &part[..],
                stride: blocks * width,
                offset: k * width,
                width,
            });
        }
    }
    segments
}

/// Columns `start..start + width` of a row-major matrix with `cols` columns, contiguous.
fn columns(m: &[f32], cols: usize, start: usize, width: usize) -> Vec<f32> {
    if cols == 0 {
        return Vec::new();
    }
    m.chunks_exact(cols)
        .flat_map(|row| &row[start..start + width])
        .copied()
        .collect()
}

/// The members' parts (member `m`: `[rows, blocks * w_m]`, block-major) joined into one
/// `[rows, blocks * H]` matrix, gate block `k` of member `m` at columns `k * H + start_m`.
/// A team of one already has that layout and is borrowed.
fn interleave<'a>(
    parts: impl Iterator<Item = &'a [f32]>,
    split: &Split,
    rows: usize,
    blocks: usize,
) -> Cow<'a, [f32]> {
    let parts: Vec<&[f32]> = parts.collect();
    if parts.len() == 1 {
        return Cow::Borrowed(parts[0]);
    }
    let mut joined = pool::take(rows * blocks * split.total());
    interleave_into(&mut joined, parts.into_iter(), split, blocks);
    Cow::Owned(joined)
}

/// [`interleave`] into `dst` (`[rows, blocks * H]`), which it overwrites.
fn interleave_into<'a>(
    dst: &mut [f32],
    parts: impl Iterator<Item = &'a [f32]>,
    split: &Split,
    blocks: usize,
) {
    let h = split.total();
    let cols = blocks * h;
    if cols == 0 {
        return;
    }
    for (m, part) in parts.enumerate() {
        let (start, width) = split.range(m);
        for (row, src) in dst
            .chunks_exact_mut(cols)
            .zip(part.chunks_exact(blocks * width))
        {
            for k in 0..blocks {
                row[k * h + start..][..width].copy_from_slice(&src[k * width..][..width]);
            }
        }
    }
}

/// Gives a joined buffer back to the pool (a borrowed one belongs to someone else).
fn recycle(buffer: Cow<'_, [f32]>) {
    if let Cow::Owned(buffer) = buffer {
        pool::give(buffer);
    }
}

/// `sums[i] += values[i]`.
#[inline(always)]
fn add_into(sums: &mut [f32], values: &[f32]) {
    let values = &values[..sums.len()];
    for (s, v) in sums.iter_mut().zip(values) {
        *s += v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random sequence in `[-1, 1)`.
    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    /// Forward and backward of one problem on teams of 1 to 4 members: every result must be
    /// bit-identical to the single thread's.
    fn teams_agree(kind: CellKind, dims: Dims, lengths: Option<&[usize]>, reverse: bool) {
        let Dims {
            seq,
            batch,
            d_input,
            d_hidden: h,
        } = dims;
        let gh = kind.n_gates() * h;
        let x = noise(seq * batch * d_input, 1);
        let w_ih = noise(d_input * gh, 2);
        let w_hh = noise(h * gh, 3);
        let b_ih = noise(gh, 4);
        let b_hh = noise(gh, 5);
        let h0 = noise(batch * h, 6);
        let c0 = if kind.has_cell() {
            noise(batch * h, 7)
        } else {
            Vec::new()
        };
        let dy = noise(seq * batch * h, 8);
        let dh_n = noise(batch * h, 9);
        let dc_n = if kind.has_cell() {
            noise(batch * h, 10)
        } else {
            Vec::new()
        };
        let problem = Problem {
            kind,
            dims,
            x: &x,
            w_ih: &w_ih,
            w_hh: &w_hh,
            b_ih: Some(&b_ih),
            b_hh: Some(&b_hh),
            h0: &h0,
            c0: &c0,
            lengths,
            reverse,
            batch_major: false,
        };
        let (alone, alone_grads) = on_one_thread(&problem, (&dy, &dh_n, &dc_n));
        for count in 2..=4 {
            let split = Split::even(h, count);
            assert!(split.count() > 1, "{kind:?} with {h} units splits");
            let team = problem.forward_split(true, split);
            let what = format!("{kind:?}, {count} members");
            assert_eq!(team.packed, alone.packed, "outputs and final state, {what}");
            // Three members are asked for no dX (none comes back), four for the pre-activation
            // gradients instead (their product is the same dX); the rest is the same.
            let input = match count {
                3 => InputGrad::Skip,
                4 => InputGrad::Defer,
                _ => InputGrad::Compute,
            };
            let mut grads =
                problem.backward(team.clone(), Segment::whole(&dy, h), &dh_n, &dc_n, input);
            match input {
                InputGrad::Compute => assert_eq!(grads.dx, alone_grads.dx, "dx, {what}"),
                InputGrad::Skip => {
                    assert!(
                        grads.dx.is_empty() && grads.dx_pre.is_empty(),
                        "no dx, {what}"
                    )
                }
                InputGrad::Defer => {
                    assert!(grads.dx.is_empty(), "dx deferred, {what}");
                    let mut dx = vec![f32::NAN; alone_grads.dx.len()];
                    problem.add_input_grad(&mut dx, &grads.dx_pre, false);
                    assert_eq!(dx, alone_grads.dx, "deferred dx, {what}");
                    // Accumulating adds the same product again.
                    problem.add_input_grad(&mut dx, &grads.dx_pre, true);
                    let doubled: Vec<f32> = alone_grads.dx.iter().map(|v| v + v).collect();
                    assert_eq!(dx, doubled, "accumulated dx, {what}");
                    grads.recycle();
                }
            }
            same_grads(&grads, &alone_grads, &what);
        }
        // A forward without the workspace gives the same outputs.
        let plain = problem.forward_split(false, Split::even(h, 3));
        assert_eq!(plain.packed, alone.packed, "{kind:?} without saving");
        // Outputs written into the caller's rows (the second half of rows twice as wide, as a
        // bidirectional layer's second direction): the same values there, the first half
        // left alone, and the final state alone in the pack.
        // Beside another direction, the products stay on one thread: the same values too.
        let rows = seq * batch;
        for beside in [false, true] {
            let mut wide = vec![f32::NAN; rows * 2 * h];
            let into = problem.forward_into(
                false,
                wide.chunks_exact_mut(2 * h).map(|r| &mut r[h..]).collect(),
                beside,
            );
            for (r, row) in wide.chunks_exact(2 * h).enumerate() {
                assert!(
                    row[..h].iter().all(|v| v.is_nan()),
                    "{kind:?}: row {r}'s other half (beside: {beside})"
                );
                assert_eq!(
                    row[h..],
                    alone.packed[r * h..][..h],
                    "{kind:?}: row {r} written in place (beside: {beside})"
                );
            }
            assert_eq!(
                into.packed,
                alone.packed[rows * h..],
                "{kind:?}: final state (beside: {beside})"
            );
        }

        // The same sequences batch-major (a batch-first layer's layout, read in place): the
        // same outputs, rows reordered, on one thread and on a team; the same gradients, up to
        // the order in which the weight gradients sum their rows.
        let x_bm = swap_seq_batch(&x, seq, batch, d_input);
        let dy_bm = swap_seq_batch(&dy, seq, batch, h);
        let batch_major = Problem {
            x: &x_bm,
            batch_major: true,
            ..problem
        };
        for count in [1, 3] {
            let what = format!("{kind:?} batch-major, {count} members");
            let forward = batch_major.forward_split(true, Split::even(h, count));
            let rows = seq * batch * h;
            assert_eq!(
                swap_seq_batch(&forward.packed[..rows], batch, seq, h),
                alone.packed[..rows],
                "outputs, {what}"
            );
            assert_eq!(
                forward.packed[rows..],
                alone.packed[rows..],
                "final state, {what}"
            );
            let grads = batch_major.backward(
                forward.clone(),
                Segment::whole(&dy_bm, h),
                &dh_n,
                &dc_n,
                InputGrad::Compute,
            );
            assert_eq!(
                swap_seq_batch(&grads.dx, batch, seq, d_input),
                alone_grads.dx,
                "dx, {what}"
            );
            assert_eq!(grads.dh0, alone_grads.dh0, "dh0, {what}");
            assert_eq!(grads.dc0, alone_grads.dc0, "dc0, {what}");
            let close = |a: &[f32], b: &[f32], name: &str| {
                assert_eq!(a.len(), b.len());
                // Sums of products whose order changed: errors scale with the largest values.
                let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
                for (i, (a, b)) in a.iter().zip(b).enumerate() {
                    assert!(
                        (a - b).abs() <= 2e-6 * scale,
                        "{name}[{i}]: {a} vs {b} (largest {scale}), {what}"
                    );
                }
            };
            close(&grads.dw_ih, &alone_grads.dw_ih, "dw_ih");
            close(&grads.dw_hh, &alone_grads.dw_hh, "dw_hh");
            close(
                grads.db_ih.as_deref().unwrap(),
                alone_grads.db_ih.as_deref().unwrap(),
                "db_ih",
            );
            close(
                grads.db_hh.as_deref().unwrap(),
                alone_grads.db_hh.as_deref().unwrap(),
                "db_hh",
            );
        }

        // Batch-major sequences in parts, each part on its own thread: the same bits as one
        // thread running them all, the outputs written in place too.
        let (bm_alone, bm_grads) = on_one_thread(&batch_major, (&dy_bm, &dh_n, &dc_n));
        let plans = [
            vec![0..1, 1..batch],
            vec![0..2, 2..3, 3..batch],
            even_parts(batch, 2),
        ];
        for parts in plans {
            let what = format!("{kind:?} batch-major in parts {parts:?}");
            let forward = batch_major.forward_run(true, Plan::Rows(parts.clone()), None);
            assert_eq!(forward.packed, bm_alone.packed, "outputs, {what}");
            let grads = batch_major.backward(
                forward,
                Segment::whole(&dy_bm, h),
                &dh_n,
                &dc_n,
                InputGrad::Compute,
            );
            assert_eq!(grads.dx, bm_grads.dx, "dx, {what}");
            same_grads(&grads, &bm_grads, &what);

            let mut wide = vec![f32::NAN; rows * 2 * h];
            let into = batch_major.forward_run(
                false,
                Plan::Rows(parts),
                Some(wide.chunks_exact_mut(2 * h).map(|r| &mut r[h..]).collect()),
            );
            for (r, row) in wide.chunks_exact(2 * h).enumerate() {
                assert!(row[..h].iter().all(|v| v.is_nan()), "row {r}, {what}");
                assert_eq!(row[h..], bm_alone.packed[r * h..][..h], "row {r}, {what}");
            }
            assert_eq!(
                into.packed,
                bm_alone.packed[rows * h..],
                "final state, {what}"
            );
        }
    }

    /// `problem`'s forward and backward (from the gradients of the outputs and of the final
    /// state) on one thread.
    fn on_one_thread(
        problem: &Problem<'_>,
        (dy, dh_n, dc_n): (&[f32], &[f32], &[f32]),
    ) -> (Forward, Grads) {
        let forward = problem.forward_split(true, Split::even(problem.dims.d_hidden, 1));
        let grads = problem.backward(
            forward.clone(),
            Segment::whole(dy, problem.dims.d_hidden),
            dh_n,
            dc_n,
            InputGrad::Compute,
        );
        (forward, grads)
    }

    /// The gradients of the weights, the biases and the initial state: the same bits.
    fn same_grads(a: &Grads, b: &Grads, what: &str) {
        assert_eq!(a.dw_ih, b.dw_ih, "dw_ih, {what}");
        assert_eq!(a.dw_hh, b.dw_hh, "dw_hh, {what}");
        assert_eq!(a.db_ih, b.db_ih, "db_ih, {what}");
        assert_eq!(a.db_hh, b.db_hh, "db_hh, {what}");
        assert_eq!(a.dh0, b.dh0, "dh0, {what}");
        assert_eq!(a.dc0, b.dc0, "dc0, {what}");
    }

    /// `[a, b, d]` → `[b, a, d]`.
    fn swap_seq_batch(m: &[f32], a: usize, b: usize, d: usize) -> Vec<f32> {
        assert_eq!(m.len(), a * b * d);
        let mut out = vec![0.0; m.len()];
        for i in 0..a {
            for j in 0..b {
                out[(j * a + i) * d..][..d].copy_from_slice(&m[(i * b + j) * d..][..d]);
            }
        }
        out
    }

    const KINDS: [CellKind; 5] = [
        CellKind::Rnn { relu: false },
        CellKind::Rnn { relu: true },
        CellKind::Lstm,
        CellKind::Gru { reset_after: true },
        CellKind::Gru { reset_after: false },
    ];

    #[test]
    fn a_team_computes_what_one_thread_computes() {
        // 40 units: blocks of 16, 16 and 8, so the last member is narrower.
        let dims = Dims {
            seq: 6,
            batch: 5,
            d_input: 7,
            d_hidden: 40,
        };
        for kind in KINDS {
            teams_agree(kind, dims, None, false);
        }
    }

    #[test]
    fn a_team_handles_lengths_and_reverse() {
        let dims = Dims {
            seq: 5,
            batch: 4,
            d_input: 3,
            d_hidden: 64,
        };
        let lengths = [5, 0, 2, 4];
        for kind in KINDS {
            teams_agree(kind, dims, Some(&lengths), true);
            teams_agree(kind, dims, Some(&lengths), false);
        }
    }

    #[test]
    fn an_rnn_projected_ahead_computes_what_a_team_computes() {
        // What `projects_ahead` reads of a problem: its cell and sizes.
        let shape_of = |kind, dims| Problem {
            kind,
            dims,
            x: &[],
            w_ih: &[],
            w_hh: &[],
            b_ih: None,
            b_hh: None,
            h0: &[],
            c0: &[],
            lengths: None,
            reverse: false,
            batch_major: false,
        };
        // One thread projects every step's input as one `gemm` product, a team step by step:
        // the same bits, also where `gemm` runs its general blocked path (more than 64 rows
        // and columns) and at the widest input it is used for.
        for d_input in [300, PROJECT_AHEAD_MAX_INPUT] {
            let dims = Dims {
                seq: 9,
                batch: 12,
                d_input,
                d_hidden: 80,
            };
            for kind in [CellKind::Rnn { relu: false }, CellKind::Rnn { relu: true }] {
                assert!(shape_of(kind, dims).projects_ahead(), "{d_input} inputs");
                teams_agree(kind, dims, None, false);
                teams_agree(
                    kind,
                    dims,
                    Some(&[9, 0, 3, 8, 9, 1, 2, 9, 4, 5, 6, 7]),
                    true,
                );
            }
        }
        // Wider inputs, and other cells, project step by step.
        let wide = Dims {
            seq: 9,
            batch: 12,
            d_input: PROJECT_AHEAD_MAX_INPUT + 1,
            d_hidden: 80,
        };
        assert!(!shape_of(CellKind::Rnn { relu: false }, wide).projects_ahead());
        let narrow = Dims {
            d_input: 300,
            ..wide
        };
        assert!(!shape_of(CellKind::Lstm, narrow).projects_ahead());
        assert!(!shape_of(CellKind::Gru { reset_after: true }, narrow).projects_ahead());
    }

    #[test]
    fn splits_cover_the_units_in_whole_blocks() {
        let split = Split::even(40, 3);
        assert_eq!(split.bounds, vec![0, 16, 32, 40]);
        assert_eq!(Split::even(40, 8).count(), 3, "no member without units");
        assert_eq!(Split::even(7, 4).bounds, vec![0, 7]);
        // A small step runs alone; a large one on every thread.
        let small = Dims {
            seq: 1,
            batch: 1,
            d_input: 1,
            d_hidden: 32,
        };
        assert_eq!(Split::new(CellKind::Lstm, small, 8).count(), 1);
        let large = Dims {
            batch: 64,
            d_hidden: 256,
            ..small
        };
        assert_eq!(Split::new(CellKind::Lstm, large, 2).count(), 2);
        assert_eq!(Split::new(CellKind::Lstm, large, 1).count(), 1);
    }

    #[test]
    fn parts_cover_the_batch_in_blocks_of_four() {
        assert_eq!(even_parts(64, 2), vec![0..32, 32..64]);
        assert_eq!(even_parts(30, 2), vec![0..16, 16..30]);
        assert_eq!(even_parts(40, 3), vec![0..12, 12..24, 24..40]);
        assert_eq!(even_parts(4, 2), vec![0..4], "no empty part");
    }

    #[test]
    fn a_large_batch_major_batch_is_cut_into_parts() {
        let dims = Dims {
            seq: 3,
            batch: 64,
            d_input: 8,
            d_hidden: 256,
        };
        let gh = 4 * 256;
        let (x, w_ih, w_hh) = (
            vec![0.0; 3 * 64 * 8],
            vec![0.0; 8 * gh],
            vec![0.0; 256 * gh],
        );
        let h0 = vec![0.0; 64 * 256];
        let problem = Problem {
            kind: CellKind::Lstm,
            dims,
            x: &x,
            w_ih: &w_ih,
            w_hh: &w_hh,
            b_ih: None,
            b_hh: None,
            h0: &h0,
            c0: &h0,
            lengths: None,
            reverse: false,
            batch_major: true,
        };
        let parts = |plan: Plan| match plan {
            Plan::Rows(parts) => parts.len(),
            Plan::Units(split) => panic!("units shared by {} members", split.count()),
        };
        assert_eq!(parts(problem.plan_for(2)), 2);
        // Time-major rows of a part do not lie together: a team shares the units.
        let time_major = Problem {
            batch_major: false,
            ..problem
        };
        assert!(matches!(time_major.plan_for(2), Plan::Units(s) if s.count() == 2));
        // Too few sequences for every thread, or one thread.
        let narrow = Problem {
            dims: Dims { batch: 12, ..dims },
            x: &x[..3 * 12 * 8],
            h0: &h0[..12 * 256],
            c0: &h0[..12 * 256],
            ..problem
        };
        assert!(matches!(narrow.plan_for(2), Plan::Units(s) if s.count() == 2));
        assert!(matches!(problem.plan_for(1), Plan::Units(s) if s.count() == 1));
    }
}
