//! Fused recurrent kernels: one op per layer, with its own backward.
//!
//! A layer built from burn ops dispatches a dozen small ops per step and autodiff records each
//! of them. On the CPU backends (flex and ndarray, with this crate's `flex` / `ndarray`
//! features) the layers instead run one fused op per layer, a burn backend extension
//! ([`FusedRecurrentBackend`]):
//!
//! - forward: per step one product projects the step's input, one multiplies the state by
//!   `W_hh`, and one vectorised pass does the gate arithmetic, saving the gates and previous
//!   states;
//! - backward (BPTT): per step one vectorised pass of the gate derivatives and one product for
//!   the gradient of the previous state; then `dX`, `dW_ih`, `dW_hh` one GEMM each over all
//!   steps.
//!
//! Lengths, reverse direction, initial states and both PyTorch biases are handled inside; a
//! batch-first layer's sequences are read and written in place. The two directions of a
//! bidirectional layer are one op and run at once, each on one of rayon's threads. A single
//! direction large enough runs on a team of threads (rayon's workers) that split the hidden
//! units and meet at a barrier once a step, with bit-identical results. The per-step products
//! use weights packed once per call and a register-blocked SIMD kernel; the big GEMMs are the
//! `gemm` crate's (the one burn-flex uses). Sigmoid and tanh are vectorised with runtime CPU
//! dispatch and stay within a few 1e-7 of libm. Large workspaces are reused between calls.
//!
//! On cubecl's runtimes (wgpu) a layer stays a loop of burn ops with burn's matmul, but each
//! RNN, LSTM or GRU step's gate arithmetic is one CubeCL kernel (two for GRU with the reset
//! gate before the product, one each side of the candidate's matmul), with one more for each
//! backward ([`GateKernelBackend`], with the `wgpu` feature).
//!
//! Everything else falls back to the composite path built from burn ops, which stays the
//! reference: other backends, other float types, recurrent dropout in training and the
//! layer-normalised LSTM. [`set_enabled`] (or `RECURRENT_FUSED=0` in the environment) turns the
//! fused path off, for comparisons and benchmarks.

// Built without a CPU backend feature, the dispatch `#[backend_extension]` generates has no
// arm that reads the op's arguments.
#[cfg_attr(
    not(any(feature = "flex", feature = "ndarray")),
    allow(unused_variables)
)]
mod backend;
mod gemm;
#[cfg(feature = "wgpu")]
mod gpu;
mod kernel;
mod packed;
mod pieces;
mod pool;
mod pooled;
mod simd;
mod team;

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use burn::backend::Dispatch;
use burn::tensor::{DType, Device, Tensor};

pub use backend::{FusedRecurrentBackend, FusedSpec};
#[cfg(feature = "wgpu")]
pub use gpu::GateKernelBackend;
pub use kernel::{CellKind, Dims};

use crate::gates::FusedGates;

/// 0: not decided yet (read the environment), 1: on, 2: off.
static ENABLED: AtomicU8 = AtomicU8::new(0);

/// Number of fused layer-direction runs so far in this process.
static RUNS: AtomicUsize = AtomicUsize::new(0);

/// How many times a layer direction has run through a fused kernel in this process: a
/// diagnostic, for tests and benchmarks that must know which path ran.
pub fn runs() -> usize {
    RUNS.load(Ordering::Relaxed)
}

/// Number of steps whose gates ran through a GPU gate kernel so far in this process.
static GPU_RUNS: AtomicUsize = AtomicUsize::new(0);

/// How many steps have run their gate arithmetic through a GPU kernel (RNN, LSTM, GRU) in
/// this process: the diagnostic [`runs`] is for the CPU kernels.
pub fn gpu_runs() -> usize {
    GPU_RUNS.load(Ordering::Relaxed)
}

/// Turns the fused kernels on or off for the whole process (on by default, unless the
/// environment sets `RECURRENT_FUSED=0`).
pub fn set_enabled(enabled: bool) {
    ENABLED.store(if enabled { 1 } else { 2 }, Ordering::Relaxed);
}

/// Whether layers use the fused kernels where they can.
pub fn enabled() -> bool {
    match ENABLED.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            let off = std::env::var("RECURRENT_FUSED")
                .is_ok_and(|v| matches!(v.trim(), "0" | "off" | "false" | "no"));
            set_enabled(!off);
            !off
        }
    }
}

/// `out = a b` for square row-major `n x n` matrices, with the GEMM the CPU kernels use for
/// their large products (the `gemm` crate on rayon's threads): exposed so that benchmarks can
/// measure this machine's SGEMM speed as the kernels see it.
///
/// # Panics
///
/// When a slice does not hold `n * n` values.
pub fn sgemm_square(a: &[f32], b: &[f32], out: &mut [f32], n: usize) {
    assert!(
        a.len() == n * n && b.len() == n * n && out.len() == n * n,
        "sgemm_square: three {n}x{n} matrices"
    );
    gemm::matmul(
        gemm::MatMut::new(out, n, n),
        gemm::MatRef::new(a, n, n),
        gemm::MatRef::new(b, n, n),
        false,
    );
}

/// Whether `device` (or the device under its autodiff) has a fused kernel in this build.
pub fn supports(device: &Device) -> bool {
    let inner = device.clone().inner();
    #[allow(unused_imports)]
    use burn::backend::DispatchDevice;
    match inner.as_dispatch() {
        #[cfg(feature = "flex")]
        DispatchDevice::Flex(_) => true,
        #[cfg(feature = "ndarray")]
        DispatchDevice::NdArray(_) => true,
        _ => false,
    }
}

/// One LSTM step's gate arithmetic (`pre: [batch, 4H]`, blocks `i, f, o, g`; `c: [batch, H]`)
/// as one GPU kernel, forward and backward, when `pre` lives on a cubecl device (wgpu): the
/// new `(h, c)`. `None` elsewhere, or with the fused kernels off: the caller runs burn ops.
pub(crate) fn gpu_lstm_gates(pre: &Tensor<2>, c: &Tensor<2>) -> Option<(Tensor<2>, Tensor<2>)> {
    #[cfg(feature = "wgpu")]
    {
        let result = gpu::lstm_gates(pre, c);
        if result.is_some() {
            GPU_RUNS.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
    #[cfg(not(feature = "wgpu"))]
    {
        let _ = (pre, c);
        None
    }
}

/// One GRU step's gate arithmetic (reset gate after the product; `x`, `hid = h W_hh + b_hh`:
/// `[batch, 3H]`, `h: [batch, H]`) as one GPU kernel, forward and backward, on a cubecl device:
/// `h'`. `None` elsewhere, or with the fused kernels off.
pub(crate) fn gpu_gru_gates(x: &Tensor<2>, hid: &Tensor<2>, h: &Tensor<2>) -> Option<Tensor<2>> {
    #[cfg(feature = "wgpu")]
    {
        let result = gpu::gru_gates(x, hid, h);
        if result.is_some() {
            GPU_RUNS.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
    #[cfg(not(feature = "wgpu"))]
    {
        let _ = (x, hid, h);
        None
    }
}

/// One Elman RNN step's activation (`act(x + hid)`, `x` the input projection, `hid = h W_hh`,
/// `[batch, H]`) as one GPU kernel, forward and backward, on a cubecl device. `None`
/// elsewhere, or with the fused kernels off.
pub(crate) fn gpu_rnn_gates(x: &Tensor<2>, hid: &Tensor<2>, relu: bool) -> Option<Tensor<2>> {
    #[cfg(feature = "wgpu")]
    {
        let result = gpu::rnn_gates(x, hid, relu);
        if result.is_some() {
            GPU_RUNS.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
    #[cfg(not(feature = "wgpu"))]
    {
        let _ = (x, hid, relu);
        None
    }
}

/// The first half of a GRU step with the reset gate before the product (`x: [batch, 3H]`,
/// `hid: [batch, 2H]` the r and z blocks of `h W_hh + b_hh`, `h: [batch, H]`) as one GPU
/// kernel: `(r * h, z)`. `None` elsewhere, or with the fused kernels off.
pub(crate) fn gpu_gru_reset_gates(
    x: &Tensor<2>,
    hid: &Tensor<2>,
    h: &Tensor<2>,
) -> Option<(Tensor<2>, Tensor<2>)> {
    #[cfg(feature = "wgpu")]
    {
        gpu::gru_reset_gates(x, hid, h)
    }
    #[cfg(not(feature = "wgpu"))]
    {
        let _ = (x, hid, h);
        None
    }
}

/// The second half (`h' = n + z * (h - n)`, `n = tanh(x_n + hid_n)`, `hid_n = (r * h) W_hn +
/// b_hn`) as one GPU kernel. `None` elsewhere, or with the fused kernels off.
pub(crate) fn gpu_gru_candidate(
    x: &Tensor<2>,
    hid_n: &Tensor<2>,
    z: &Tensor<2>,
    h: &Tensor<2>,
) -> Option<Tensor<2>> {
    #[cfg(feature = "wgpu")]
    {
        let result = gpu::gru_candidate(x, hid_n, z, h);
        if result.is_some() {
            GPU_RUNS.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
    #[cfg(not(feature = "wgpu"))]
    {
        let _ = (x, hid_n, z, h);
        None
    }
}

/// Whether a layer of `gates` on this input can run fused.
pub(crate) fn applies(x: &Tensor<3>, gates: &FusedGates) -> bool {
    enabled()
        && x.dtype() == DType::F32
        && gates.bias_ih.is_some() == gates.bias_hh.is_some()
        && supports(&x.device())
}

/// One direction's input as it is; two stacked along a new leading dimension (`D2 = D + 1`).
fn per_direction<const D: usize, const D2: usize>(
    mut tensors: Vec<Tensor<D>>,
) -> burn::backend::tensor::FloatTensor<Dispatch> {
    if tensors.len() == 1 {
        tensors.pop().expect("one direction").into_dispatch()
    } else {
        Tensor::stack::<D2>(tensors, 0).into_dispatch()
    }
}

/// How a layer's sequences lie in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// `[seq, batch, features]`.
    TimeMajor,
    /// `[batch, seq, features]` (a batch-first layer's input and output, read and written in
    /// place by the kernel).
    BatchMajor,
}

/// Runs one layer fused, in one direction or both directions of a bidirectional layer.
///
/// `x: [seq, batch, d_input]` or `[batch, seq, d_input]` as `layout` says; `directions`: each
/// direction's weights and initial state parts (`h0`, then `c0` for LSTM: `[batch, H]`), the
/// first running backwards when `reverse`, a second always the other way; `lengths` checked
/// to be `<= seq`. Returns the outputs in `x`'s layout with the directions side by side
/// (`[seq, batch, dirs * H]` or `[batch, seq, dirs * H]`) and each direction's final state
/// parts (`h_n`, then `c_n` for LSTM), each `[batch, H]`.
pub(crate) fn run(
    kind: CellKind,
    x: Tensor<3>,
    layout: Layout,
    directions: Vec<(&FusedGates, Vec<Tensor<2>>)>,
    lengths: Option<&[usize]>,
    reverse: bool,
) -> (Tensor<3>, Vec<Vec<Tensor<2>>>) {
    let batch_major = layout == Layout::BatchMajor;
    let [seq, batch, d_input] = match (x.dims(), batch_major) {
        ([batch, seq, d], true) => [seq, batch, d],
        (dims, false) => dims,
    };
    let dirs = directions.len();
    assert!(dirs == 1 || dirs == 2, "one or two directions");
    let h = directions[0].0.d_hidden;
    let gh = kind.n_gates() * h;
    let device = x.device();
    let bias = directions[0].0.bias_ih.is_some() && directions[0].0.bias_hh.is_some();
    // Per direction: w_ih, w_hh, b_ih, b_hh, h0, c0.
    let mut inputs: [Vec<Tensor<2>>; 4] = Default::default();
    let mut vectors: [Vec<Tensor<1>>; 2] = Default::default();
    for (gates, parts) in directions {
        inputs[0].push(gates.weight_ih.val());
        inputs[1].push(gates.weight_hh.val());
        let (b_ih, b_hh) = match (&gates.bias_ih, &gates.bias_hh) {
            (Some(b_ih), Some(b_hh)) if bias => (b_ih.val(), b_hh.val()),
            _ => (Tensor::zeros([gh], &device), Tensor::zeros([gh], &device)),
        };
        vectors[0].push(b_ih);
        vectors[1].push(b_hh);
        let mut parts = parts.into_iter();
        inputs[2].push(parts.next().expect("a state has a hidden part"));
        inputs[3].push(
            parts
                .next()
                .unwrap_or_else(|| Tensor::zeros([batch, h], &device)),
        );
    }
    let [w_ih, w_hh, h0, c0] = inputs.map(per_direction::<2, 3>);
    let [b_ih, b_hh] = vectors.map(per_direction::<1, 2>);
    let spec = FusedSpec {
        kind,
        dims: Dims {
            seq,
            batch,
            d_input,
            d_hidden: h,
        },
        bias,
        lengths: lengths.map(<[usize]>::to_vec),
        reverse,
        batch_major,
        dirs,
    };
    let (outputs, finals) = <Dispatch as FusedRecurrentBackend>::fused_recurrent(
        x.into_dispatch(),
        w_ih,
        w_hh,
        b_ih,
        b_hh,
        h0,
        c0,
        spec,
    );
    RUNS.fetch_add(dirs, Ordering::Relaxed);
    let width = dirs * h;
    let output = Tensor::<1>::from_dispatch(outputs).reshape(if batch_major {
        [batch, seq, width]
    } else {
        [seq, batch, width]
    });
    // h_n of direction d, then its c_n (LSTM): `[dirs, batch, H]` each.
    let finals = Tensor::<1>::from_dispatch(finals);
    let part = |k: usize, d: usize| {
        finals
            .clone()
            .narrow(0, (k * dirs + d) * batch * h, batch * h)
            .reshape([batch, h])
    };
    let finals = (0..dirs)
        .map(|d| {
            let mut parts = vec![part(0, d)];
            if kind.has_cell() {
                parts.push(part(1, d));
            }
            parts
        })
        .collect();
    (output, finals)
}
