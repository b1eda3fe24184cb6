//! The LSTM and GRU gate passes as one GPU kernel per step, forward and backward, for cubecl's runtimes
//! (wgpu): a burn backend extension on the `Cube` selector, with its own autodiff node.
//!
//! On a GPU the layer stays a loop of burn ops (one matmul a step, which burn already runs
//! well), but the gate arithmetic after it — three sigmoids, two tanh, the cell update, a
//! dozen small ops and as many autodiff records — becomes one kernel launch, and its backward
//! one more. Each thread handles one hidden unit of one sequence.

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
}

/// The autodiff node of [`GateKernelBackend::gru_gates`]: keeps its inputs.
#[derive(Debug)]
struct GruGatesBackward;

impl<B: Backend + GateKernelBackend> Backward<B, 3> for GruGatesBackward {
    type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let (x, hid, h) = ops.state;
        let results = B::gru_gates_backward(x, hid, h, grad);
        let [x_node, hid_node, h_node] = ops.parents;
        for (node, value) in [
            (x_node, results.0),
            (hid_node, results.1),
            (h_node, results.2),
        ] {
            if let Some(node) = node {
                grads.register::<B>(node.id, value);
            }
        }
    }
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
        let nodes = [x.node(), hid.node(), h.node()];
        match GruGatesBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (x, hid, h) = (x.into_primitive(), hid.into_primitive(), h.into_primitive());
                let out = B::gru_gates(x.clone(), hid.clone(), h.clone());
                prep.finish((x, hid, h), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::gru_gates(
                x.into_primitive(),
                hid.into_primitive(),
                h.into_primitive(),
            )),
        }
    }

    fn gru_gates_backward(
        x: FloatTensor<Self>,
        hid: FloatTensor<Self>,
        h: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (d_x, d_hid, d_h) = B::gru_gates_backward(
            x.into_primitive(),
            hid.into_primitive(),
            h.into_primitive(),
            grad.into_primitive(),
        );
        (
            FloatTensor::<Self>::new(d_x),
            FloatTensor::<Self>::new(d_hid),
            FloatTensor::<Self>::new(d_h),
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
