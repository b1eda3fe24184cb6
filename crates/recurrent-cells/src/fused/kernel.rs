//! One layer and direction of RNN, LSTM or GRU over a whole sequence, forward and backward
//! (BPTT), on host slices.
//!
//! Forward: one GEMM projects the inputs of every step (`X W_ih`, biases folded in); then per
//! step one GEMM with `W_hh` and one vectorised pass of the gate arithmetic. It saves what the
//! backward needs (activated gates, previous states) in a [`Saved`] workspace. Backward: per
//! step (last to first) one vectorised pass of the gate derivatives and one GEMM for the
//! gradient of the previous hidden state; then `dX`, `dW_ih` and `dW_hh` are one GEMM each over
//! all steps, and the biases column sums.
//!
//! Layouts are row-major and time-major: `x: [seq, batch, d_input]`, states `[batch, H]`,
//! weights in the cells' internal layout (`W_ih: [d_input, G * H]`, `W_hh: [H, G * H]`, gate
//! blocks in the cell's order: LSTM `i, f, o, g`; GRU `r, z, n`). With lengths, a step at or
//! past a sequence's length keeps its state, outputs 0 and gets no gradient.

use super::gemm::{MatMut, MatRef, matmul, transposed};
use super::packed::{PackedRhs, matmul_packed};
use super::simd::{dispatch, sigmoid, sigmoid_in_place, tanh, tanh_in_place};

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
}

/// The results of a forward pass.
#[derive(Debug, Clone)]
pub struct Forward {
    /// Every output `h_t`, `[seq, batch, H]` (0 at padding).
    pub output: Vec<f32>,
    /// Final hidden state `[batch, H]`.
    pub h_n: Vec<f32>,
    /// Final cell state `[batch, H]` (LSTM; empty otherwise).
    pub c_n: Vec<f32>,
    /// What the backward pass needs, when asked for.
    pub saved: Option<Saved>,
}

/// The forward workspace the backward pass reads.
#[derive(Debug, Clone)]
pub struct Saved {
    /// Activated gates of every step, `[seq, batch, G * H]`.
    gates: Vec<f32>,
    /// The hidden state each step started from, `[seq, batch, H]`.
    h_prev: Vec<f32>,
    /// Per kind: LSTM the previous cell state; GRU (reset after) `h W_hn + b_hn`; GRU (reset
    /// before) `r * h_prev`; `[seq, batch, H]` (empty for RNN).
    extra: Vec<f32>,
    /// LSTM: `tanh(c_t)`, `[seq, batch, H]` (empty otherwise).
    tanh_c: Vec<f32>,
}

/// Gradients of one layer and direction.
#[derive(Debug, Clone)]
pub struct Grads {
    /// `[seq, batch, d_input]`.
    pub dx: Vec<f32>,
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

    /// Runs the recurrence; with `save`, keeps the workspace for [`Problem::backward`].
    pub fn forward(&self, save: bool) -> Forward {
        self.check();
        let Dims {
            seq,
            batch,
            d_input,
            d_hidden: h,
        } = self.dims;
        let kind = self.kind;
        let gh = kind.n_gates() * h;
        let rows = seq * batch;

        // Input projection of every step, with every bias that sits outside the recurrence.
        let mut xp = vec![0.0; rows * gh];
        matmul(
            MatMut::new(&mut xp, rows, gh),
            MatRef::new(self.x, rows, d_input),
            MatRef::new(self.w_ih, d_input, gh),
            false,
        );
        // GRU (reset after) keeps b_hn inside the recurrence: r * (h W_hn + b_hn).
        let folded = gh
            - if kind == (CellKind::Gru { reset_after: true }) {
                h
            } else {
                0
            };
        if let (Some(b_ih), Some(b_hh)) = (self.b_ih, self.b_hh) {
            let mut bias = b_ih.to_vec();
            for (b, hh) in bias[..folded].iter_mut().zip(b_hh) {
                *b += hh;
            }
            dispatch(
                #[inline(always)]
                || {
                    for row in xp.chunks_exact_mut(gh) {
                        for (x, b) in row.iter_mut().zip(&bias) {
                            *x += b;
                        }
                    }
                },
            );
        }
        let b_hn: Vec<f32> = match self.b_hh {
            Some(b) if folded < gh => b[folded..].to_vec(),
            _ => vec![0.0; h],
        };

        let mut state_h = self.h0.to_vec();
        let mut state_c = self.c0.to_vec();
        let mut output = vec![0.0; rows * h];
        let keep = |n: usize| if save { vec![0.0; n] } else { Vec::new() };
        let mut gates = if save {
            vec![0.0; rows * gh]
        } else {
            Vec::new()
        };
        let mut h_prev = keep(rows * h);
        let mut extra = if matches!(kind, CellKind::Rnn { .. }) {
            Vec::new()
        } else {
            keep(rows * h)
        };
        let mut tanh_c = if kind.has_cell() {
            keep(rows * h)
        } else {
            Vec::new()
        };
        // Hidden projection of one step, and scratch rows.
        let mut hp = vec![0.0; batch * gh];
        let mut scratch_gates = vec![0.0; gh];
        let mut scratch_h = vec![0.0; h];
        let mut rh = vec![0.0; batch * h];
        // W_hh packed once for every step (GRU reset-before: its r, z blocks and its n block).
        let reset_before = kind == (CellKind::Gru { reset_after: false });
        let hidden_cols = if reset_before { 2 * h } else { gh };
        let w_hidden = PackedRhs::new(MatRef::new(self.w_hh, h, gh).cols(0, hidden_cols));
        let w_n =
            reset_before.then(|| PackedRhs::new(MatRef::new(self.w_hh, h, gh).cols(2 * h, h)));

        for s in 0..seq {
            let t = self.step(s);
            let at = |b: usize| (t * batch + b) * h;
            if save {
                h_prev[t * batch * h..(t + 1) * batch * h].copy_from_slice(&state_h);
            }
            matmul_packed(&mut hp, gh, &state_h, batch, &w_hidden);
            dispatch(
                #[inline(always)]
                || {
                    for b in 0..batch {
                        if !self.active(t, b) {
                            continue;
                        }
                        let xp_row = &xp[(t * batch + b) * gh..][..gh];
                        let hp_row = &hp[b * gh..][..gh];
                        let g: &mut [f32] = if save {
                            &mut gates[(t * batch + b) * gh..][..gh]
                        } else {
                            &mut scratch_gates
                        };
                        let hb = &mut state_h[b * h..][..h];
                        let out = &mut output[at(b)..][..h];
                        match kind {
                            CellKind::Rnn { relu } => {
                                for j in 0..h {
                                    let a = xp_row[j] + hp_row[j];
                                    let v = if relu { a.max(0.0) } else { tanh(a) };
                                    hb[j] = v;
                                    out[j] = v;
                                }
                            }
                            CellKind::Lstm => {
                                for ((g, x), p) in g.iter_mut().zip(xp_row).zip(hp_row) {
                                    *g = x + p;
                                }
                                sigmoid_in_place(&mut g[..3 * h]);
                                tanh_in_place(&mut g[3 * h..]);
                                let cb = &mut state_c[b * h..][..h];
                                if save {
                                    extra[at(b)..][..h].copy_from_slice(cb);
                                }
                                let tc: &mut [f32] = if save {
                                    &mut tanh_c[at(b)..][..h]
                                } else {
                                    &mut scratch_h
                                };
                                for j in 0..h {
                                    cb[j] = g[h + j] * cb[j] + g[j] * g[3 * h + j];
                                    tc[j] = cb[j];
                                }
                                tanh_in_place(tc);
                                for j in 0..h {
                                    let v = g[2 * h + j] * tc[j];
                                    hb[j] = v;
                                    out[j] = v;
                                }
                            }
                            CellKind::Gru { reset_after: true } => {
                                for j in 0..2 * h {
                                    g[j] = xp_row[j] + hp_row[j];
                                }
                                sigmoid_in_place(&mut g[..2 * h]);
                                let hn: &mut [f32] = if save {
                                    &mut extra[at(b)..][..h]
                                } else {
                                    &mut scratch_h
                                };
                                for j in 0..h {
                                    hn[j] = hp_row[2 * h + j] + b_hn[j];
                                    g[2 * h + j] = xp_row[2 * h + j] + g[j] * hn[j];
                                }
                                tanh_in_place(&mut g[2 * h..]);
                                gru_update(g, hb, out);
                            }
                            CellKind::Gru { reset_after: false } => {
                                // First phase: r and z; the candidate needs (r * h) W_hn first.
                                for j in 0..2 * h {
                                    g[j] = xp_row[j] + hp_row[j];
                                }
                                sigmoid_in_place(&mut g[..2 * h]);
                                for j in 0..h {
                                    rh[b * h + j] = g[j] * hb[j];
                                }
                            }
                        }
                    }
                },
            );
            if let Some(w_n) = &w_n {
                // Padded rows of rh are stale but only feed their own (discarded) row.
                matmul_packed(&mut hp[2 * h..], gh, &rh, batch, w_n);
                dispatch(
                    #[inline(always)]
                    || {
                        for b in 0..batch {
                            if !self.active(t, b) {
                                continue;
                            }
                            let xp_row = &xp[(t * batch + b) * gh..][..gh];
                            let hp_row = &hp[b * gh..][..gh];
                            let g: &mut [f32] = if save {
                                &mut gates[(t * batch + b) * gh..][..gh]
                            } else {
                                // The first phase left r and z of this row in the scratch only
                                // when nothing is saved: recompute them.
                                for j in 0..2 * h {
                                    scratch_gates[j] = sigmoid(xp_row[j] + hp_row[j]);
                                }
                                &mut scratch_gates
                            };
                            if save {
                                extra[at(b)..][..h].copy_from_slice(&rh[b * h..][..h]);
                            }
                            for j in 0..h {
                                g[2 * h + j] = xp_row[2 * h + j] + hp_row[2 * h + j];
                            }
                            tanh_in_place(&mut g[2 * h..]);
                            gru_update(g, &mut state_h[b * h..][..h], &mut output[at(b)..][..h]);
                        }
                    },
                );
            }
        }
        let saved = save.then_some(Saved {
            gates,
            h_prev,
            extra,
            tanh_c,
        });
        Forward {
            output,
            h_n: state_h,
            c_n: state_c,
            saved,
        }
    }

    /// Backpropagation through time from the gradients of the outputs (`dy: [seq, batch,
    /// H]`) and of the final state (`dh_n`, `dc_n: [batch, H]`; `dc_n` empty unless LSTM).
    ///
    /// `forward` is this problem's forward pass run with `save`.
    pub fn backward(&self, forward: &Forward, dy: &[f32], dh_n: &[f32], dc_n: &[f32]) -> Grads {
        self.check();
        let saved = forward
            .saved
            .as_ref()
            .expect("the forward pass saved its workspace");
        let Dims {
            seq,
            batch,
            d_input,
            d_hidden: h,
        } = self.dims;
        let kind = self.kind;
        let gh = kind.n_gates() * h;
        let rows = seq * batch;
        assert_eq!(dy.len(), rows * h, "dy");
        assert_eq!(dh_n.len(), batch * h, "dh_n");
        assert_eq!(
            dc_n.len(),
            if kind.has_cell() { batch * h } else { 0 },
            "dc_n"
        );

        // Gradients of the pre-activations on the input side; on the hidden side they differ
        // only for GRU (reset after), whose candidate sees r * (h W_hn + b_hn).
        let mut dxp = vec![0.0; rows * gh];
        let separate_hidden = kind == (CellKind::Gru { reset_after: true });
        let mut dhp = if separate_hidden {
            vec![0.0; rows * gh]
        } else {
            Vec::new()
        };
        // W_hh^T packed once (`[G * H, H]`; block k of its rows is gate block k); GRU
        // reset-before uses its r, z rows and its n rows apart.
        let w_hh_t = MatRef::new(self.w_hh, h, gh).t();
        let (w_back, w_n_t) = if kind == (CellKind::Gru { reset_after: false }) {
            (
                PackedRhs::new(w_hh_t.rows(0, 2 * h)),
                Some(PackedRhs::new(w_hh_t.rows(2 * h, h))),
            )
        } else {
            (PackedRhs::new(w_hh_t), None)
        };
        let mut block = Vec::with_capacity(batch * 2 * h);
        let mut dh = dh_n.to_vec();
        let mut dc = dc_n.to_vec();
        let mut direct = vec![0.0; batch * h];
        let mut through = vec![0.0; batch * h];
        let mut drh = vec![0.0; batch * h];

        for s in (0..seq).rev() {
            let t = self.step(s);
            let at = |b: usize| (t * batch + b) * h;
            dispatch(
                #[inline(always)]
                || {
                    for b in 0..batch {
                        if !self.active(t, b) {
                            continue;
                        }
                        let g = &saved.gates[(t * batch + b) * gh..][..gh];
                        let d = &mut dxp[(t * batch + b) * gh..][..gh];
                        let dh_b = &dh[b * h..][..h];
                        let dy_b = &dy[at(b)..][..h];
                        let direct_b = &mut direct[b * h..][..h];
                        match kind {
                            CellKind::Rnn { relu } => {
                                let y = &forward.output[at(b)..][..h];
                                for j in 0..h {
                                    let dht = dh_b[j] + dy_b[j];
                                    let slope = if relu {
                                        if y[j] > 0.0 { 1.0 } else { 0.0 }
                                    } else {
                                        1.0 - y[j] * y[j]
                                    };
                                    d[j] = dht * slope;
                                    direct_b[j] = 0.0;
                                }
                            }
                            CellKind::Lstm => {
                                let c_prev = &saved.extra[at(b)..][..h];
                                let tc = &saved.tanh_c[at(b)..][..h];
                                let dc_b = &mut dc[b * h..][..h];
                                for j in 0..h {
                                    let (i, f, o, gg) =
                                        (g[j], g[h + j], g[2 * h + j], g[3 * h + j]);
                                    let dht = dh_b[j] + dy_b[j];
                                    let dct = dc_b[j] + dht * o * (1.0 - tc[j] * tc[j]);
                                    d[j] = dct * gg * i * (1.0 - i);
                                    d[h + j] = dct * c_prev[j] * f * (1.0 - f);
                                    d[2 * h + j] = dht * tc[j] * o * (1.0 - o);
                                    d[3 * h + j] = dct * i * (1.0 - gg * gg);
                                    dc_b[j] = dct * f;
                                    direct_b[j] = 0.0;
                                }
                            }
                            CellKind::Gru { reset_after } => {
                                let hp = &saved.h_prev[at(b)..][..h];
                                for j in 0..h {
                                    let (z, n) = (g[h + j], g[2 * h + j]);
                                    let dht = dh_b[j] + dy_b[j];
                                    let dan = dht * (1.0 - z) * (1.0 - n * n);
                                    d[h + j] = dht * (hp[j] - n) * z * (1.0 - z);
                                    d[2 * h + j] = dan;
                                    direct_b[j] = dht * z;
                                }
                                if reset_after {
                                    let hn = &saved.extra[at(b)..][..h];
                                    let dhp_row = &mut dhp[(t * batch + b) * gh..][..gh];
                                    for j in 0..h {
                                        let r = g[j];
                                        let dan = d[2 * h + j];
                                        d[j] = dan * hn[j] * r * (1.0 - r);
                                        dhp_row[j] = d[j];
                                        dhp_row[h + j] = d[h + j];
                                        dhp_row[2 * h + j] = dan * r;
                                    }
                                }
                            }
                        }
                    }
                },
            );
            let step_rows = (t * batch) * gh;
            // Columns `start..start + width` of this step's rows of `v`, contiguous.
            let columns = |v: &[f32], start: usize, width: usize, out: &mut Vec<f32>| {
                out.clear();
                for row in v[step_rows..step_rows + batch * gh].chunks_exact(gh) {
                    out.extend_from_slice(&row[start..start + width]);
                }
            };
            match &w_n_t {
                Some(w_n_t) => {
                    // d(r * h_prev) = dn_pre W_hn^T, then r's gradient, then the r, z blocks.
                    columns(&dxp, 2 * h, h, &mut block);
                    matmul_packed(&mut drh, h, &block, batch, w_n_t);
                    dispatch(
                        #[inline(always)]
                        || {
                            for b in 0..batch {
                                if !self.active(t, b) {
                                    continue;
                                }
                                let g = &saved.gates[(t * batch + b) * gh..][..gh];
                                let hp = &saved.h_prev[at(b)..][..h];
                                let d = &mut dxp[(t * batch + b) * gh..][..gh];
                                for j in 0..h {
                                    let r = g[j];
                                    let x = drh[b * h + j];
                                    d[j] = x * hp[j] * r * (1.0 - r);
                                    direct[b * h + j] += x * r;
                                }
                            }
                        },
                    );
                    columns(&dxp, 0, 2 * h, &mut block);
                    matmul_packed(&mut through, h, &block, batch, &w_back);
                }
                None => {
                    let source = if separate_hidden { &dhp } else { &dxp };
                    let rows = &source[step_rows..step_rows + batch * gh];
                    matmul_packed(&mut through, h, rows, batch, &w_back);
                }
            }
            for b in 0..batch {
                if self.active(t, b) {
                    for j in b * h..(b + 1) * h {
                        dh[j] = through[j] + direct[j];
                    }
                }
            }
        }

        let mut dx = vec![0.0; rows * d_input];
        matmul(
            MatMut::new(&mut dx, rows, d_input),
            MatRef::new(&dxp, rows, gh),
            MatRef::new(&transposed(self.w_ih, d_input, gh), gh, d_input),
            false,
        );
        let mut dw_ih = vec![0.0; d_input * gh];
        matmul(
            MatMut::new(&mut dw_ih, d_input, gh),
            MatRef::new(self.x, rows, d_input).t(),
            MatRef::new(&dxp, rows, gh),
            false,
        );
        let mut dw_hh = vec![0.0; h * gh];
        let hidden = if separate_hidden { &dhp } else { &dxp };
        if kind == (CellKind::Gru { reset_after: false }) {
            matmul(
                MatMut::new(&mut dw_hh, h, gh).cols(0, 2 * h),
                MatRef::new(&saved.h_prev, rows, h).t(),
                MatRef::new(hidden, rows, gh).cols(0, 2 * h),
                false,
            );
            matmul(
                MatMut::new(&mut dw_hh, h, gh).cols(2 * h, h),
                MatRef::new(&saved.extra, rows, h).t(),
                MatRef::new(hidden, rows, gh).cols(2 * h, h),
                false,
            );
        } else {
            matmul(
                MatMut::new(&mut dw_hh, h, gh),
                MatRef::new(&saved.h_prev, rows, h).t(),
                MatRef::new(hidden, rows, gh),
                false,
            );
        }
        let (db_ih, db_hh) = if self.b_ih.is_some() {
            let db_ih = column_sums(&dxp, gh);
            let db_hh = if separate_hidden {
                column_sums(&dhp, gh)
            } else {
                db_ih.clone()
            };
            (Some(db_ih), Some(db_hh))
        } else {
            (None, None)
        };
        Grads {
            dx,
            dw_ih,
            dw_hh,
            db_ih,
            db_hh,
            dh0: dh,
            dc0: dc,
        }
    }
}

/// The GRU state update of one row, `h' = n + z * (h - n)`, from its activated gates `g`
/// (`r, z, n`): written to the state `h` and the step's output `out`.
#[inline(always)]
fn gru_update(g: &[f32], h: &mut [f32], out: &mut [f32]) {
    let d = h.len();
    for j in 0..d {
        let n = g[2 * d + j];
        let v = n + g[d + j] * (h[j] - n);
        h[j] = v;
        out[j] = v;
    }
}

/// Sums of the columns of a row-major matrix with `cols` columns.
fn column_sums(m: &[f32], cols: usize) -> Vec<f32> {
    let mut sums = vec![0.0; cols];
    dispatch(
        #[inline(always)]
        || {
            for row in m.chunks_exact(cols) {
                for (s, v) in sums.iter_mut().zip(row) {
                    *s += v;
                }
            }
        },
    );
    sums
}
