//! Fused recurrent kernels: one op per layer and direction, with its own backward.
//!
//! A layer built from burn ops dispatches a dozen small ops per step and autodiff records each
//! of them. On the CPU backends (flex and ndarray, with this crate's `flex` / `ndarray`
//! features) the layers instead run one fused op per layer and direction, a burn backend
//! extension ([`FusedRecurrentBackend`]):
//!
//! - forward: per step one product projects the step's input, one multiplies the state by
//!   `W_hh`, and one vectorised pass does the gate arithmetic, saving the gates and previous
//!   states;
//! - backward (BPTT): per step one vectorised pass of the gate derivatives and one product for
//!   the gradient of the previous state; then `dX`, `dW_ih`, `dW_hh` one GEMM each over all
//!   steps.
//!
//! Lengths, reverse direction, initial states and both PyTorch biases are handled inside. A
//! large enough layer runs on a team of threads (rayon's workers) that split the hidden units
//! and meet at a barrier once a step, with bit-identical results. The per-step products use
//! weights packed once per call and a register-blocked SIMD kernel; the big GEMMs are the
//! `gemm` crate's (the one burn-flex uses). Sigmoid and tanh are vectorised with runtime CPU
//! dispatch and stay within a few 1e-7 of libm. Large workspaces are reused between calls.
//!
//! On cubecl's runtimes (wgpu) a layer stays a loop of burn ops with burn's matmul, but each
//! LSTM or GRU (reset gate after the product) step's gate arithmetic is one CubeCL kernel, with
//! one more for its backward ([`GateKernelBackend`], with the `wgpu` feature).
//!
//! Everything else falls back to the composite path built from burn ops, which stays the
//! reference: other backends, other float types, recurrent dropout in training and the
//! layer-normalised LSTM. [`set_enabled`] (or `RECURRENT_FUSED=0` in the environment) turns the
//! fused path off, for comparisons and benchmarks.

mod backend;
mod gemm;
#[cfg(feature = "wgpu")]
mod gpu;
mod kernel;
mod packed;
mod pool;
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

/// How many steps have run their gate arithmetic through a GPU kernel (LSTM, GRU) in this
/// process: the diagnostic [`runs`] is for the CPU kernels.
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

/// Whether a layer of `gates` on this input can run fused.
pub(crate) fn applies(x: &Tensor<3>, gates: &FusedGates) -> bool {
    enabled()
        && x.dtype() == DType::F32
        && gates.bias_ih.is_some() == gates.bias_hh.is_some()
        && supports(&x.device())
}

/// Runs one layer and direction fused.
///
/// `x: [seq, batch, d_input]` (time-major), `h0` and `c0` (LSTM only): `[batch, H]`, `lengths`
/// checked to be `<= seq`. Returns the outputs `[seq, batch, H]` and the final state's parts
/// (`h_n`, then `c_n` for LSTM), each `[batch, H]`.
pub(crate) fn run(
    kind: CellKind,
    x: Tensor<3>,
    gates: &FusedGates,
    h0: Tensor<2>,
    c0: Option<Tensor<2>>,
    lengths: Option<&[usize]>,
    reverse: bool,
) -> (Tensor<3>, Vec<Tensor<2>>) {
    let [seq, batch, d_input] = x.dims();
    let h = gates.d_hidden;
    let gh = kind.n_gates() * h;
    let device = x.device();
    let (b_ih, b_hh, bias) = match (&gates.bias_ih, &gates.bias_hh) {
        (Some(b_ih), Some(b_hh)) => (b_ih.val(), b_hh.val(), true),
        _ => (
            Tensor::zeros([gh], &device),
            Tensor::zeros([gh], &device),
            false,
        ),
    };
    let c0 = c0.unwrap_or_else(|| Tensor::zeros([batch, h], &device));
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
    };
    let packed = <Dispatch as FusedRecurrentBackend>::fused_recurrent(
        x.into_dispatch(),
        gates.weight_ih.val().into_dispatch(),
        gates.weight_hh.val().into_dispatch(),
        b_ih.into_dispatch(),
        b_hh.into_dispatch(),
        h0.into_dispatch(),
        c0.into_dispatch(),
        spec,
    );
    let packed = Tensor::<3>::from_dispatch(packed);
    RUNS.fetch_add(1, Ordering::Relaxed);
    let output = packed.clone().narrow(0, 0, seq);
    let h_n = packed.clone().narrow(0, seq, 1).reshape([batch, h]);
    let mut parts = vec![h_n];
    if kind.has_cell() {
        parts.push(packed.narrow(0, seq + 1, 1).reshape([batch, h]));
    }
    (output, parts)
}
