//! The RNN, LSTM and GRU gate passes as GPU kernels, forward and backward, for cubecl's
//! runtimes (wgpu): a burn backend extension on the `Cube` selector, with its own autodiff
//! nodes.
//!
//! On a GPU the layer stays a loop of burn ops (one matmul a step, which burn already runs
//! well), but the gate arithmetic after it — three sigmoids, two tanh, the cell update, a
//! dozen small ops and as many autodiff records — becomes one kernel launch, and its backward
//! one more: one for LSTM, GRU with the reset gate after the product (PyTorch's) and RNN
//! (tanh or relu of the two projections' sum); two for GRU with the reset gate before the
//! product (r and z with `r * h` before the candidate's matmul, then the candidate and the
//! update after it). Each thread handles one hidden unit of one sequence.

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, backend_extension};
use burn::tensor::{DType, Shape, Tensor};
use burn_cubecl::CubeBackend;
use burn_cubecl::cubecl;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::cubecl::{CubeDim, calculate_cube_count_elemwise};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_dtype;
use burn_cubecl::tensor::CubeTensor;

/// The logistic sigmoid.
#[cube]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// One LSTM step's gates: `pre: [batch, 4H]` (blocks `i, f, o, g`), `c: [batch, H]`;
/// `out: [2, batch, H]`, the new hidden state then the new cell state.
#[cube(launch)]
fn lstm_gates_forward(pre: &[f32], c: &[f32], out: &mut [f32], #[comptime] hidden: usize) {
    let n = c.len();
    if ABSOLUTE_POS < n {
        let row = ABSOLUTE_POS / hidden;
        let unit = ABSOLUTE_POS % hidden;
        let base = row * 4 * hidden + unit;
        let i = sigmoid(pre[base]);
        let f = sigmoid(pre[base + hidden]);
        let o = sigmoid(pre[base + 2 * hidden]);
        let g = pre[base + 3 * hidden].tanh();
        let c_next = f * c[ABSOLUTE_POS] + i * g;
        out[ABSOLUTE_POS] = o * c_next.tanh();
        out[n + ABSOLUTE_POS] = c_next;
    }
}

/// The backward of [`lstm_gates_forward`] from the gradients of its output (`grad: [2,
/// batch, H]`): `d_pre: [batch, 4H]` and `d_c: [batch, H]`. The gates are recomputed from
/// `pre` rather than stored.
#[cube(launch)]
fn lstm_gates_backward(
    pre: &[f32],
    c: &[f32],
    grad: &[f32],
    d_pre: &mut [f32],
    d_c: &mut [f32],
    #[comptime] hidden: usize,
) {
    let n = c.len();
    if ABSOLUTE_POS < n {
        let row = ABSOLUTE_POS / hidden;
        let unit = ABSOLUTE_POS % hidden;
        let base = row * 4 * hidden + unit;
        let i = sigmoid(pre[base]);
        let f = sigmoid(pre[base + hidden]);
        let o = sigmoid(pre[base + 2 * hidden]);
        let g = pre[base + 3 * hidden].tanh();
        let c_prev = c[ABSOLUTE_POS];
        let tc = (f * c_prev + i * g).tanh();
        let dh = grad[ABSOLUTE_POS];
        let dc = grad[n + ABSOLUTE_POS] + dh * o * (1.0 - tc * tc);
        d_pre[base] = dc * g * i * (1.0 - i);
        d_pre[base + hidden] = dc * c_prev * f * (1.0 - f);
        d_pre[base + 2 * hidden] = dh * tc * o * (1.0 - o);
        d_pre[base + 3 * hidden] = dc * i * (1.0 - g * g);
        d_c[ABSOLUTE_POS] = dc * f;
    }
}

/// One GRU step's gates (PyTorch's formulation, reset gate after the product): `x: [batch,
/// 3H]` the input projection (`b_ih` included), `hid: [batch, 3H]` = `h W_hh + b_hh`, `h:
/// [batch, H]`; `out: [batch, H]` = `n + z * (h - n)` with `n = tanh(x_n + r * hid_n)`.
#[cube(launch)]
fn gru_gates_forward(
    x: &[f32],
    hid: &[f32],
    h: &[f32],
    out: &mut [f32],
    #[comptime] hidden: usize,
) {
    if ABSOLUTE_POS < h.len() {
        let row = ABSOLUTE_POS / hidden;
        let unit = ABSOLUTE_POS % hidden;
        let base = row * 3 * hidden + unit;
        let r = sigmoid(x[base] + hid[base]);
        let z = sigmoid(x[base + hidden] + hid[base + hidden]);
        let n = (x[base + 2 * hidden] + r * hid[base + 2 * hidden]).tanh();
        out[ABSOLUTE_POS] = n + z * (h[ABSOLUTE_POS] - n);
    }
}

/// The backward of [`gru_gates_forward`] from its output's gradient `grad: [batch, H]`:
/// `d_x`, `d_hid` (`[batch, 3H]`) and `d_h` (`[batch, H]`, through `z * h` only).
#[cube(launch)]
fn gru_gates_backward(
    x: &[f32],
    hid: &[f32],
    h: &[f32],
    grad: &[f32],
    d_x: &mut [f32],
    d_hid: &mut [f32],
    d_h: &mut [f32],
    #[comptime] hidden: usize,
) {
    if ABSOLUTE_POS < h.len() {
        let row = ABSOLUTE_POS / hidden;
        let unit = ABSOLUTE_POS % hidden;
        let base = row * 3 * hidden + unit;
        let r = sigmoid(x[base] + hid[base]);
        let z = sigmoid(x[base + hidden] + hid[base + hidden]);
        let hid_n = hid[base + 2 * hidden];
        let n = (x[base + 2 * hidden] + r * hid_n).tanh();
        let dy = grad[ABSOLUTE_POS];
        let d_an = dy * (1.0 - z) * (1.0 - n * n);
        let d_ar = d_an * hid_n * r * (1.0 - r);
        let d_az = dy * (h[ABSOLUTE_POS] - n) * z * (1.0 - z);
        d_x[base] = d_ar;
        d_x[base + hidden] = d_az;
        d_x[base + 2 * hidden] = d_an;
        d_hid[base] = d_ar;
        d_hid[base + hidden] = d_az;
        d_hid[base + 2 * hidden] = d_an * r;
        d_h[ABSOLUTE_POS] = dy * z;
    }
}

/// One Elman RNN step's activation: `out = act(x + hid)` (`x` the input projection, `hid` =
/// `h W_hh`, all `[batch, H]`), tanh or relu.
#[cube(launch)]
fn rnn_gates_forward(x: &[f32], hid: &[f32], out: &mut [f32], #[comptime] relu: bool) {
    if ABSOLUTE_POS < out.len() {
        let a = x[ABSOLUTE_POS] + hid[ABSOLUTE_POS];
        if relu {
            out[ABSOLUTE_POS] = f32::max(a, 0.0);
        } else {
            out[ABSOLUTE_POS] = a.tanh();
        }
    }
}

/// The backward of [`rnn_gates_forward`]: `d_pre = grad * act'(x + hid)` (the gradient of both
/// `x` and `hid`); relu's slope is 0 at 0, as burn's.
#[cube(launch)]
fn rnn_gates_backward(
    x: &[f32],
    hid: &[f32],
    grad: &[f32],
    d_pre: &mut [f32],
    #[comptime] relu: bool,
) {
    if ABSOLUTE_POS < d_pre.len() {
        let a = x[ABSOLUTE_POS] + hid[ABSOLUTE_POS];
        let dy = grad[ABSOLUTE_POS];
        if relu {
            d_pre[ABSOLUTE_POS] = select(a > 0.0, dy, 0.0);
        } else {
            let y = a.tanh();
            d_pre[ABSOLUTE_POS] = dy * (1.0 - y * y);
        }
    }
}

/// The first half of a GRU step with the reset gate before the product: `x: [batch, 3H]`
/// the input projection (`b_ih` included), `hid: [batch, 2H]` = `h W_hr|W_hz + b_hr|b_hz`,
/// `h: [batch, H]` the state the hidden products see; `out: [2, batch, H]`: `r * h`, then `z`.
#[cube(launch)]
fn gru_reset_forward(
    x: &[f32],
    hid: &[f32],
    h: &[f32],
    out: &mut [f32],
    #[comptime] hidden: usize,
) {
    let n = h.len();
    if ABSOLUTE_POS < n {
        let row = ABSOLUTE_POS / hidden;
        let unit = ABSOLUTE_POS % hidden;
        let xb = row * 3 * hidden + unit;
        let hb = row * 2 * hidden + unit;
        let r = sigmoid(x[xb] + hid[hb]);
        let z = sigmoid(x[xb + hidden] + hid[hb + hidden]);
        out[ABSOLUTE_POS] = r * h[ABSOLUTE_POS];
        out[n + ABSOLUTE_POS] = z;
    }
}

/// The backward of [`gru_reset_forward`] from its output's gradient (`grad: [2, batch, H]`):
/// `d_x` (`[batch, 3H]`, zero in the candidate's block), `d_hid` (`[batch, 2H]`), `d_h`.
#[cube(launch)]
fn gru_reset_backward(
    x: &[f32],
    hid: &[f32],
    h: &[f32],
    grad: &[f32],
    d_x: &mut [f32],
    d_hid: &mut [f32],
    d_h: &mut [f32],
    #[comptime] hidden: usize,
) {
    let n = h.len();
    if ABSOLUTE_POS < n {
        let row = ABSOLUTE_POS / hidden;
        let unit = ABSOLUTE_POS % hidden;
        let xb = row * 3 * hidden + unit;
        let hb = row * 2 * hidden + unit;
        let r = sigmoid(x[xb] + hid[hb]);
        let z = sigmoid(x[xb + hidden] + hid[hb + hidden]);
        let d_rh = grad[ABSOLUTE_POS];
        let d_ar = d_rh * h[ABSOLUTE_POS] * r * (1.0 - r);
        let d_az = grad[n + ABSOLUTE_POS] * z * (1.0 - z);
        d_x[xb] = d_ar;
        d_x[xb + hidden] = d_az;
        d_x[xb + 2 * hidden] = 0.0;
        d_hid[hb] = d_ar;
        d_hid[hb + hidden] = d_az;
        d_h[ABSOLUTE_POS] = d_rh * r;
    }
}

/// The second half of a GRU step with the reset gate before the product: `x: [batch, 3H]`,
/// `hid_n: [batch, H]` = `(r * h) W_hn + b_hn`, the update gate `z` and the state `h`
/// (`[batch, H]`); `out` = `n + z * (h - n)` with `n = tanh(x_n + hid_n)`.
#[cube(launch)]
fn gru_candidate_forward(
    x: &[f32],
    hid_n: &[f32],
    z: &[f32],
    h: &[f32],
    out: &mut [f32],
    #[comptime] hidden: usize,
) {
    if ABSOLUTE_POS < h.len() {
        let row = ABSOLUTE_POS / hidden;
        let unit = ABSOLUTE_POS % hidden;
        let n = (x[row * 3 * hidden + 2 * hidden + unit] + hid_n[ABSOLUTE_POS]).tanh();
        out[ABSOLUTE_POS] = n + z[ABSOLUTE_POS] * (h[ABSOLUTE_POS] - n);
    }
}

/// The backward of [`gru_candidate_forward`] from its output's gradient: `d_x` (`[batch,
/// 3H]`, zero but in the candidate's block), `d_hid_n` and `d_z` (`[batch, H]`).
#[cube(launch)]
fn gru_candidate_backward(
    x: &[f32],
    hid_n: &[f32],
    z: &[f32],
    h: &[f32],
    grad: &[f32],
    d_x: &mut [f32],
    d_hid_n: &mut [f32],
    d_z: &mut [f32],
    #[comptime] hidden: usize,
) {
    if ABSOLUTE_POS < h.len() {
        let row = ABSOLUTE_POS / hidden;
        let unit = ABSOLUTE_POS % hidden;
        let xb = row * 3 * hidden + unit;
        let n = (x[xb + 2 * hidden] + hid_n[ABSOLUTE_POS]).tanh();
        let zz = z[ABSOLUTE_POS];
        let dy = grad[ABSOLUTE_POS];
        let d_an = dy * (1.0 - zz) * (1.0 - n * n);
        d_x[xb] = 0.0;
        d_x[xb + hidden] = 0.0;
        d_x[xb + 2 * hidden] = d_an;
        d_hid_n[ABSOLUTE_POS] = d_an;
        d_z[ABSOLUTE_POS] = dy * (h[ABSOLUTE_POS] - n);
    }
}

/// Backends with the gate kernels.
#[backend_extension(Cube: cfg(feature = "wgpu"), Autodiff)]
pub trait GateKernelBackend: Backend {
    /// One LSTM step's gate arithmetic: `pre: [batch, 4H]` (blocks `i, f, o, g`, biases
    /// included), `c: [batch, H]`. Returns `[2, batch, H]`: `h'` then `c'`.
    fn lstm_gates(pre: FloatTensor<Self>, c: FloatTensor<Self>) -> FloatTensor<Self>;

    /// The gradients of [`GateKernelBackend::lstm_gates`]'s inputs from its output's (`grad:
    /// [2, batch, H]`): `(d_pre, d_c)`.
    fn lstm_gates_backward(
        pre: FloatTensor<Self>,
        c: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// One GRU step's gate arithmetic (reset gate after the product): `x: [batch, 3H]` the
    /// input projection, `hid: [batch, 3H]` = `h W_hh + b_hh`, `h: [batch, H]` the state the
    /// update gate interpolates with. Returns `h': [batch, H]`.
    fn gru_gates(
        x: FloatTensor<Self>,
        hid: FloatTensor<Self>,
        h: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// The gradients of [`GateKernelBackend::gru_gates`]'s inputs from its output's:
    /// `(d_x, d_hid, d_h)`.
    fn gru_gates_backward(
        x: FloatTensor<Self>,
        hid: FloatTensor<Self>,
        h: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
    /// One Elman RNN step's activation: `act(x + hid)` for `x`, `hid`: `[batch, H]` (the
    /// input projection and `h W_hh`), tanh or (with `relu`) relu.
    fn rnn_gates(x: FloatTensor<Self>, hid: FloatTensor<Self>, relu: bool) -> FloatTensor<Self>;

    /// The gradient of [`GateKernelBackend::rnn_gates`]'s pre-activation (that of `x` and of
    /// `hid`) from its output's.
    fn rnn_gates_backward(
        x: FloatTensor<Self>,
        hid: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        relu: bool,
    ) -> FloatTensor<Self>;

    /// The first half of a GRU step with the reset gate before the product: `x: [batch, 3H]`
    /// the input projection, `hid: [batch, 2H]` the r and z blocks of `h W_hh + b_hh`, `h:
    /// [batch, H]`. Returns `[2, batch, H]`: `r * h`, then `z`.
    fn gru_reset_gates(
        x: FloatTensor<Self>,
        hid: FloatTensor<Self>,
        h: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// The gradients of [`GateKernelBackend::gru_reset_gates`]'s inputs from its output's:
    /// `(d_x, d_hid, d_h)`.
    fn gru_reset_gates_backward(
        x: FloatTensor<Self>,
        hid: FloatTensor<Self>,
        h: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// The second half: `x: [batch, 3H]`, `hid_n: [batch, H]` = `(r * h) W_hn + b_hn`, the
    /// update gate `z` and the state `h`. Returns `h': [batch, H]`.
    fn gru_candidate(
        x: FloatTensor<Self>,
        hid_n: FloatTensor<Self>,
        z: FloatTensor<Self>,
        h: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// The gradients of [`GateKernelBackend::gru_candidate`]'s inputs `x`, `hid_n` and `z`
    /// from its output's: `(d_x, d_hid_n, d_z)` (`h`'s, `grad * z`, is one burn op).
    fn gru_candidate_backward(
        x: FloatTensor<Self>,
        hid_n: FloatTensor<Self>,
        z: FloatTensor<Self>,
        h: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// A launch over one thread per element of `c`.
fn launch_size(c: &CubeTensor) -> (CubeCount, CubeDim) {
    let n = c.meta.shape().num_elements();
    let cube_dim = CubeDim::new(&c.client, n);
    (
        calculate_cube_count_elemwise(&c.client, n, cube_dim),
        cube_dim,
    )
}

impl GateKernelBackend for CubeBackend {
    fn lstm_gates(pre: CubeTensor, c: CubeTensor) -> CubeTensor {
        let (pre, c) = (into_contiguous(pre), into_contiguous(c));
        let dims = c.meta.shape().clone();
        let (batch, hidden) = (dims[0], dims[1]);
        let out = empty_device_dtype(
            c.client.clone(),
            c.device.clone(),
            Shape::new([2, batch, hidden]),
            c.dtype,
        );
        let (count, dim) = launch_size(&c);
        lstm_gates_forward::launch(
            &c.client.clone(),
            count,
            dim,
            pre.into_buffer_arg(),
            c.into_buffer_arg(),
            out.clone().into_buffer_arg(),
            hidden,
        );
        out
    }

    fn lstm_gates_backward(
        pre: CubeTensor,
        c: CubeTensor,
        grad: CubeTensor,
    ) -> (CubeTensor, CubeTensor) {
        let (pre, c, grad) = (
            into_contiguous(pre),
            into_contiguous(c),
            into_contiguous(grad),
        );
        let pre_shape = pre.meta.shape().clone();
        let c_shape = c.meta.shape().clone();
        let hidden = c_shape[1];
        let empty =
            |shape: Shape| empty_device_dtype(c.client.clone(), c.device.clone(), shape, c.dtype);
        let (d_pre, d_c) = (empty(pre_shape), empty(c_shape));
        let (count, dim) = launch_size(&c);
        lstm_gates_backward::launch(
            &c.client.clone(),
            count,
            dim,
            pre.into_buffer_arg(),
            c.into_buffer_arg(),
            grad.into_buffer_arg(),
            d_pre.clone().into_buffer_arg(),
            d_c.clone().into_buffer_arg(),
            hidden,
        );
        (d_pre, d_c)
    }

    fn gru_gates(x: CubeTensor, hid: CubeTensor, h: CubeTensor) -> CubeTensor {
        let (x, hid, h) = (into_contiguous(x), into_contiguous(hid), into_contiguous(h));
        let hidden = h.meta.shape()[1];
        let out = empty_device_dtype(
            h.client.clone(),
            h.device.clone(),
            h.meta.shape().clone(),
            h.dtype,
        );
        let (count, dim) = launch_size(&h);
        gru_gates_forward::launch(
            &h.client.clone(),
            count,
            dim,
            x.into_buffer_arg(),
            hid.into_buffer_arg(),
            h.into_buffer_arg(),
            out.clone().into_buffer_arg(),
            hidden,
        );
        out
    }

    fn gru_gates_backward(
        x: CubeTensor,
        hid: CubeTensor,
        h: CubeTensor,
        grad: CubeTensor,
    ) -> (CubeTensor, CubeTensor, CubeTensor) {
        let (x, hid) = (into_contiguous(x), into_contiguous(hid));
        let (h, grad) = (into_contiguous(h), into_contiguous(grad));
        let hidden = h.meta.shape()[1];
        let empty =
            |shape: Shape| empty_device_dtype(h.client.clone(), h.device.clone(), shape, h.dtype);
        let (d_x, d_hid) = (empty(x.meta.shape().clone()), empty(x.meta.shape().clone()));
        let d_h = empty(h.meta.shape().clone());
        let (count, dim) = launch_size(&h);
        gru_gates_backward::launch(
            &h.client.clone(),
            count,
            dim,
            x.into_buffer_arg(),
            hid.into_buffer_arg(),
            h.into_buffer_arg(),
            grad.into_buffer_arg(),
            d_x.clone().into_buffer_arg(),
            d_hid.clone().into_buffer_arg(),
            d_h.clone().into_buffer_arg(),
            hidden,
        );
        (d_x, d_hid, d_h)
    }

    fn rnn_gates(x: CubeTensor, hid: CubeTensor, relu: bool) -> CubeTensor {
        let (x, hid) = (into_contiguous(x), into_contiguous(hid));
        let out = empty_like(&x, x.meta.shape().clone());
        let (count, dim) = launch_size(&x);
        rnn_gates_forward::launch(
            &x.client.clone(),
            count,
            dim,
            x.into_buffer_arg(),
            hid.into_buffer_arg(),
            out.clone().into_buffer_arg(),
            relu,
        );
        out
    }

    fn rnn_gates_backward(
        x: CubeTensor,
        hid: CubeTensor,
        grad: CubeTensor,
        relu: bool,
    ) -> CubeTensor {
        let (x, hid, grad) = (
            into_contiguous(x),
            into_contiguous(hid),
            into_contiguous(grad),
        );
        let d_pre = empty_like(&x, x.meta.shape().clone());
        let (count, dim) = launch_size(&x);
        rnn_gates_backward::launch(
            &x.client.clone(),
            count,
            dim,
            x.into_buffer_arg(),
            hid.into_buffer_arg(),
            grad.into_buffer_arg(),
            d_pre.clone().into_buffer_arg(),
            relu,
        );
        d_pre
    }

    fn gru_reset_gates(x: CubeTensor, hid: CubeTensor, h: CubeTensor) -> CubeTensor {
        let (x, hid, h) = (into_contiguous(x), into_contiguous(hid), into_contiguous(h));
        let dims = h.meta.shape().clone();
        let out = empty_like(&h, Shape::new([2, dims[0], dims[1]]));
        let (count, dim) = launch_size(&h);
        gru_reset_forward::launch(
            &h.client.clone(),
            count,
            dim,
            x.into_buffer_arg(),
            hid.into_buffer_arg(),
            h.into_buffer_arg(),
            out.clone().into_buffer_arg(),
            dims[1],
        );
        out
    }

    fn gru_reset_gates_backward(
        x: CubeTensor,
        hid: CubeTensor,
        h: CubeTensor,
        grad: CubeTensor,
    ) -> (CubeTensor, CubeTensor, CubeTensor) {
        let (x, hid) = (into_contiguous(x), into_contiguous(hid));
        let (h, grad) = (into_contiguous(h), into_contiguous(grad));
        let hidden = h.meta.shape()[1];
        let d_x = empty_like(&h, x.meta.shape().clone());
        let d_hid = empty_like(&h, hid.meta.shape().clone());
        let d_h = empty_like(&h, h.meta.shape().clone());
        let (count, dim) = launch_size(&h);
        gru_reset_backward::launch(
            &h.client.clone(),
            count,
            dim,
            x.into_buffer_arg(),
            hid.into_buffer_arg(),
            h.into_buffer_arg(),
            grad.into_buffer_arg(),
            d_x.clone().into_buffer_arg(),
            d_hid.clone().into_buffer_arg(),
            d_h.clone().into_buffer_arg(),
            hidden,
        );
        (d_x, d_hid, d_h)
    }

    fn gru_candidate(x: CubeTensor, hid_n: CubeTensor, z: CubeTensor, h: CubeTensor) -> CubeTensor {
        let (x, hid_n) = (into_contiguous(x), into_contiguous(hid_n));
        let (z, h) = (into_contiguous(z), into_contiguous(h));
        let hidden = h.meta.shape()[1];
        let out = empty_like(&h, h.meta.shape().clone());
        let (count, dim) = launch_size(&h);
        gru_candidate_forward::launch(
            &h.client.clone(),
            count,
            dim,
            x.into_buffer_arg(),
            hid_n.into_buffer_arg(),
            z.into_buffer_arg(),
            h.into_buffer_arg(),
            out.clone().into_buffer_arg(),
            hidden,
        );
        out
    }

    fn gru_candidate_backward(
        x: CubeTensor,
        hid_n: CubeTensor,
        z: CubeTensor,
        h: CubeTensor,
        grad: CubeTensor,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (x, hid_n) = (into_contiguous(x), into_contiguous(hid_n));
        let (z, h, grad) = (
            into_contiguous(z),
            into_contiguous(h),
            into_contiguous(grad),
        );
        let hidden = h.meta.shape()[1];
        let d_x = empty_like(&h, x.meta.shape().clone());
        let [d_hid_n, d_z] = [(); 2].map(|_| empty_like(&h, h.meta.shape().clone()));
        let (count, dim) = launch_size(&h);
        gru_candidate_backward::launch(
            &h.client.clone(),
            count,
            dim,
            x.into_buffer_arg(),
            hid_n.into_buffer_arg(),
            z.into_buffer_arg(),
            h.into_buffer_arg(),
            grad.into_buffer_arg(),
            d_x.clone().into_buffer_arg(),
            d_hid_n.clone().into_buffer_arg(),
            d_z.clone().into_buffer_arg(),
            hidden,
        );
        (d_x, d_hid_n, d_z)
    }
}

/// An uninitialised tensor of `shape` on `like`'s device, with its dtype.
fn empty_like(like: &CubeTensor, shape: Shape) -> CubeTensor {
    empty_device_dtype(like.client.clone(), like.device.clone(), shape, like.dtype)
}

/// The autodiff node of [`GateKernelBackend::rnn_gates`]: keeps its inputs and the activation.
#[derive(Debug)]
struct RnnGatesBackward;

impl<B: Backend + GateKernelBackend> Backward<B, 2> for RnnGatesBackward {
    type State = (FloatTensor<B>, FloatTensor<B>, bool);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let (x, hid, relu) = ops.state;
        let d_pre = B::rnn_gates_backward(x, hid, grad, relu);
        let [x_node, hid_node] = ops.parents;
        if let Some(node) = x_node {
            grads.register::<B>(node.id, d_pre.clone());
        }
        if let Some(node) = hid_node {
            grads.register::<B>(node.id, d_pre);
        }
    }
}

/// The autodiff node of [`GateKernelBackend::gru_candidate`]: keeps its inputs.
#[derive(Debug)]
struct GruCandidateBackward;

impl<B: Backend + GateKernelBackend> Backward<B, 4> for GruCandidateBackward {
    type State = [FloatTensor<B>; 4];

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let [x, hid_n, z, h] = ops.state;
        let d_h = B::float_mul(grad.clone(), z.clone());
        let (d_x, d_hid_n, d_z) = B::gru_candidate_backward(x, hid_n, z, h, grad);
        for (node, value) in ops.parents.into_iter().zip([d_x, d_hid_n, d_z, d_h]) {
            if let Some(node) = node {
                grads.register::<B>(node.id, value);
            }
        }
    }
}

/// A gate kernel with three inputs on the inner backend: its forward, and its backward from
/// the inputs and the output's gradient to the inputs' gradients.
type Forward3<B> = fn(FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) -> FloatTensor<B>;
type Backward3<B> =
    fn(FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) -> Three<FloatTensor<B>>;
/// Three values of one type (a three-input kernel's gradients).
type Three<T> = (T, T, T);

/// The autodiff node of a gate kernel with three inputs ([`GateKernelBackend::gru_gates`],
/// [`GateKernelBackend::gru_reset_gates`]): keeps the inputs for `backward`.
struct ThreeInputs<B: Backend> {
    backward: Backward3<B>,
}

impl<B: Backend> std::fmt::Debug for ThreeInputs<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ThreeInputs")
    }
}

impl<B: Backend> Backward<B, 3> for ThreeInputs<B> {
    type State = [FloatTensor<B>; 3];

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let [x, hid, h] = ops.state;
        let (d_x, d_hid, d_h) = (self.backward)(x, hid, h, grad);
        for (node, value) in ops.parents.into_iter().zip([d_x, d_hid, d_h]) {
            if let Some(node) = node {
                grads.register::<B>(node.id, value);
            }
        }
    }
}

/// A three-input gate kernel under autodiff: `forward` on the inner backend, recorded with a
/// [`ThreeInputs`] node when any input is tracked.
fn tracked3<B: Backend, C: CheckpointStrategy>(
    inputs: [FloatTensor<Autodiff<B, C>>; 3],
    forward: Forward3<B>,
    backward: Backward3<B>,
) -> FloatTensor<Autodiff<B, C>> {
    let nodes = inputs.each_ref().map(|t| t.node());
    let [x, hid, h] = inputs.map(|t| t.into_primitive());
    let node = ThreeInputs { backward };
    match node.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let out = forward(x.clone(), hid.clone(), h.clone());
            prep.finish([x, hid, h], out)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(x, hid, h)),
    }
}

/// A three-input kernel's backward called on autodiff tensors: a gradient, not differentiated
/// again, so computed on the inner backend and left untracked.
fn untracked3<B: Backend, C: CheckpointStrategy>(
    backward: Backward3<B>,
    inputs: [FloatTensor<Autodiff<B, C>>; 4],
) -> Three<FloatTensor<Autodiff<B, C>>> {
    let [x, hid, h, grad] = inputs.map(|t| t.into_primitive());
    let (a, b, c) = backward(x, hid, h, grad);
    (
        FloatTensor::<Autodiff<B, C>>::new(a),
        FloatTensor::<Autodiff<B, C>>::new(b),
        FloatTensor::<Autodiff<B, C>>::new(c),
    )
}

/// The autodiff node of [`GateKernelBackend::lstm_gates`]: keeps its inputs.
#[derive(Debug)]
struct LstmGatesBackward;

impl<B: Backend + GateKernelBackend> Backward<B, 2> for LstmGatesBackward {
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let (pre, c) = ops.state;
        let (d_pre, d_c) = B::lstm_gates_backward(pre, c, grad);
        let [pre_node, c_node] = ops.parents;
        if let Some(node) = pre_node {
            grads.register::<B>(node.id, d_pre);
        }
        if let Some(node) = c_node {
            grads.register::<B>(node.id, d_c);
        }
    }
}

impl<B: Backend + GateKernelBackend, C: CheckpointStrategy> GateKernelBackend for Autodiff<B, C> {
    fn lstm_gates(pre: FloatTensor<Self>, c: FloatTensor<Self>) -> FloatTensor<Self> {
        let nodes = [pre.node(), c.node()];
        match LstmGatesBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (pre, c) = (pre.into_primitive(), c.into_primitive());
                let out = B::lstm_gates(pre.clone(), c.clone());
                prep.finish((pre, c), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::lstm_gates(pre.into_primitive(), c.into_primitive()))
            }
        }
    }

    fn lstm_gates_backward(
        pre: FloatTensor<Self>,
        c: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        // A gradient, not differentiated again: computed on the inner backend, untracked.
        let (d_pre, d_c) = B::lstm_gates_backward(
            pre.into_primitive(),
            c.into_primitive(),
            grad.into_primitive(),
        );
        (
            FloatTensor::<Self>::new(d_pre),
            FloatTensor::<Self>::new(d_c),
        )
    }

    fn gru_gates(
        x: FloatTensor<Self>,
        hid: FloatTensor<Self>,
        h: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        tracked3::<B, C>([x, hid, h], B::gru_gates, B::gru_gates_backward)
    }

    fn gru_gates_backward(
        x: FloatTensor<Self>,
        hid: FloatTensor<Self>,
        h: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        untracked3::<B, C>(B::gru_gates_backward, [x, hid, h, grad])
    }

    fn rnn_gates(x: FloatTensor<Self>, hid: FloatTensor<Self>, relu: bool) -> FloatTensor<Self> {
        let nodes = [x.node(), hid.node()];
        match RnnGatesBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (x, hid) = (x.into_primitive(), hid.into_primitive());
                let out = B::rnn_gates(x.clone(), hid.clone(), relu);
                prep.finish((x, hid, relu), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::rnn_gates(x.into_primitive(), hid.into_primitive(), relu))
            }
        }
    }

    fn rnn_gates_backward(
        x: FloatTensor<Self>,
        hid: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        relu: bool,
    ) -> FloatTensor<Self> {
        // A gradient, not differentiated again: computed on the inner backend, untracked.
        FloatTensor::<Self>::new(B::rnn_gates_backward(
            x.into_primitive(),
            hid.into_primitive(),
            grad.into_primitive(),
            relu,
        ))
    }

    fn gru_reset_gates(
        x: FloatTensor<Self>,
        hid: FloatTensor<Self>,
        h: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        tracked3::<B, C>([x, hid, h], B::gru_reset_gates, B::gru_reset_gates_backward)
    }

    fn gru_reset_gates_backward(
        x: FloatTensor<Self>,
        hid: FloatTensor<Self>,
        h: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        untracked3::<B, C>(B::gru_reset_gates_backward, [x, hid, h, grad])
    }

    fn gru_candidate(
        x: FloatTensor<Self>,
        hid_n: FloatTensor<Self>,
        z: FloatTensor<Self>,
        h: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let nodes = [x.node(), hid_n.node(), z.node(), h.node()];
        match GruCandidateBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let inputs = [x, hid_n, z, h].map(|t| t.into_primitive());
                let [x, hid_n, z, h] = inputs.clone();
                prep.finish(inputs, B::gru_candidate(x, hid_n, z, h))
            }
            OpsKind::UnTracked(prep) => {
                let [x, hid_n, z, h] = [x, hid_n, z, h].map(|t| t.into_primitive());
                prep.finish(B::gru_candidate(x, hid_n, z, h))
            }
        }
    }

    fn gru_candidate_backward(
        x: FloatTensor<Self>,
        hid_n: FloatTensor<Self>,
        z: FloatTensor<Self>,
        h: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        // A gradient, not differentiated again: computed on the inner backend, untracked.
        let [x, hid_n, z, h, grad] = [x, hid_n, z, h, grad].map(|t| t.into_primitive());
        let (d_x, d_hid_n, d_z) = B::gru_candidate_backward(x, hid_n, z, h, grad);
        (
            FloatTensor::<Self>::new(d_x),
            FloatTensor::<Self>::new(d_hid_n),
            FloatTensor::<Self>::new(d_z),
        )
    }
}

/// Whether the kernels apply to these tensors: f32, on a cubecl device (or autodiff over
/// one), with the fused kernels on.
fn applies(tensors: &[&Tensor<2>]) -> bool {
    super::enabled()
        && tensors.iter().all(|t| t.dtype() == DType::F32)
        && tensors.first().is_some_and(|t| on_cube(t))
}

/// Whether `pre`'s device runs on cubecl (or autodiff over it).
fn on_cube(pre: &Tensor<2>) -> bool {
    use burn::backend::DispatchDevice;
    matches!(pre.device().inner().as_dispatch(), DispatchDevice::Cube(_))
}

/// One LSTM step's gate arithmetic through the kernel, when `pre` is an f32 tensor on a
/// cubecl device and the fused kernels are on: `(h', c')`. `None` otherwise (the caller runs
/// the composite ops).
pub(crate) fn lstm_gates(pre: &Tensor<2>, c: &Tensor<2>) -> Option<(Tensor<2>, Tensor<2>)> {
    if !applies(&[pre, c]) {
        return None;
    }
    let [batch, hidden] = c.dims();
    let out = <Dispatch as GateKernelBackend>::lstm_gates(
        pre.clone().into_dispatch(),
        c.clone().into_dispatch(),
    );
    let out = Tensor::<3>::from_dispatch(out);
    let h = out.clone().narrow(0, 0, 1).reshape([batch, hidden]);
    let c = out.narrow(0, 1, 1).reshape([batch, hidden]);
    Some((h, c))
}

/// One GRU step's gate arithmetic (reset gate after the product) through the kernel, when the
/// tensors are f32 on a cubecl device and the fused kernels are on: `h'`. `None` otherwise.
pub(crate) fn gru_gates(x: &Tensor<2>, hid: &Tensor<2>, h: &Tensor<2>) -> Option<Tensor<2>> {
    if !applies(&[x, hid, h]) {
        return None;
    }
    let out = <Dispatch as GateKernelBackend>::gru_gates(
        x.clone().into_dispatch(),
        hid.clone().into_dispatch(),
        h.clone().into_dispatch(),
    );
    Some(Tensor::from_dispatch(out))
}

/// One Elman RNN step's activation through the kernel (`act(x + hid)`), when the tensors are
/// f32 on a cubecl device and the fused kernels are on. `None` otherwise.
pub(crate) fn rnn_gates(x: &Tensor<2>, hid: &Tensor<2>, relu: bool) -> Option<Tensor<2>> {
    if !applies(&[x, hid]) {
        return None;
    }
    let out = <Dispatch as GateKernelBackend>::rnn_gates(
        x.clone().into_dispatch(),
        hid.clone().into_dispatch(),
        relu,
    );
    Some(Tensor::from_dispatch(out))
}

/// The first half of a GRU step with the reset gate before the product through its kernel
/// (`x: [batch, 3H]`, `hid: [batch, 2H]`, `h: [batch, H]`): `(r * h, z)`. `None` where the
/// kernels do not apply.
pub(crate) fn gru_reset_gates(
    x: &Tensor<2>,
    hid: &Tensor<2>,
    h: &Tensor<2>,
) -> Option<(Tensor<2>, Tensor<2>)> {
    if !applies(&[x, hid, h]) {
        return None;
    }
    let [batch, hidden] = h.dims();
    let out = <Dispatch as GateKernelBackend>::gru_reset_gates(
        x.clone().into_dispatch(),
        hid.clone().into_dispatch(),
        h.clone().into_dispatch(),
    );
    let out = Tensor::<3>::from_dispatch(out);
    let rh = out.clone().narrow(0, 0, 1).reshape([batch, hidden]);
    let z = out.narrow(0, 1, 1).reshape([batch, hidden]);
    Some((rh, z))
}

/// The second half (`h' = n + z * (h - n)`, `n = tanh(x_n + hid_n)`) through its kernel.
/// `None` where the kernels do not apply.
pub(crate) fn gru_candidate(
    x: &Tensor<2>,
    hid_n: &Tensor<2>,
    z: &Tensor<2>,
    h: &Tensor<2>,
) -> Option<Tensor<2>> {
    if !applies(&[x, hid_n, z, h]) {
        return None;
    }
    let out = <Dispatch as GateKernelBackend>::gru_candidate(
        x.clone().into_dispatch(),
        hid_n.clone().into_dispatch(),
        z.clone().into_dispatch(),
        h.clone().into_dispatch(),
    );
    Some(Tensor::from_dispatch(out))
}
