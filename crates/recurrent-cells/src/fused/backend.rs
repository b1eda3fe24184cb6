//! The fused recurrent op as a burn backend extension: the host kernel on flex and ndarray,
//! and its own backward node on autodiff.
//!
//! One op runs one layer and direction over the whole sequence. Its output packs everything
//! the layer returns into one tensor, `[seq + 2, batch, H]`: the outputs of every step, then
//! `h_n`, then `c_n` (zeros for cells without one), because an autodiff node has one output.
//! Slicing the pack apart is differentiable, so gradients from the outputs and from the final
//! state both reach the op's backward.

// burn-ndarray is deprecated in burn 0.22 but still a supported backend.
#![allow(deprecated)]

use std::fmt;
use std::sync::Arc;

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, TensorMetadata, backend_extension};
use burn::tensor::{TensorData, try_read_sync};

use super::kernel::{CellKind, Dims, Forward, Problem};

/// What the op needs besides its tensors.
#[derive(Debug, Clone)]
pub struct FusedSpec {
    /// The recurrence.
    pub kind: CellKind,
    /// Sizes.
    pub dims: Dims,
    /// Whether `b_ih` and `b_hh` are real biases (otherwise they are placeholders).
    pub bias: bool,
    /// Valid steps of each sequence, or every step.
    pub lengths: Option<Vec<usize>>,
    /// Whether the recurrence runs from the last valid step to the first.
    pub reverse: bool,
}

/// Backends that run a recurrent layer as one fused op.
#[backend_extension(
    Flex: cfg(feature = "flex"),
    NdArray: cfg(feature = "ndarray"),
    Autodiff,
)]
pub trait FusedRecurrentBackend: Backend {
    /// One layer and direction over a whole sequence.
    ///
    /// - `x`: `[seq, batch, d_input]`; `w_ih`: `[d_input, G * H]`; `w_hh`: `[H, G * H]`;
    ///   `b_ih`, `b_hh`: `[G * H]`; `h0`, `c0`: `[batch, H]`
    ///
    /// Returns `[seq + 2, batch, H]`: the outputs, then `h_n`, then `c_n`.
    #[allow(clippy::too_many_arguments)]
    fn fused_recurrent(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        b_ih: FloatTensor<Self>,
        b_hh: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        c0: FloatTensor<Self>,
        spec: FusedSpec,
    ) -> FloatTensor<Self> {
        let device = x.device();
        let host = Host::read::<Self>([x, w_ih, w_hh, b_ih, b_hh, h0, c0], spec);
        let mut forward = host.problem().forward(false);
        Self::float_from_data(host.pack(&mut forward), &device)
    }
}

#[cfg(feature = "flex")]
impl FusedRecurrentBackend for burn::backend::Flex {}

#[cfg(feature = "ndarray")]
impl FusedRecurrentBackend for burn::backend::NdArray {}

/// The op's inputs, on the host.
struct Host {
    /// `x, w_ih, w_hh, b_ih, b_hh, h0, c0`.
    tensors: [Vec<f32>; 7],
    spec: FusedSpec,
}

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Host").field("spec", &self.spec).finish()
    }
}

impl Host {
    fn read<B: Backend>(tensors: [FloatTensor<B>; 7], spec: FusedSpec) -> Self {
        Self {
            tensors: tensors.map(read::<B>),
            spec,
        }
    }

    fn problem(&self) -> Problem<'_> {
        let [x, w_ih, w_hh, b_ih, b_hh, h0, c0] = &self.tensors;
        let spec = &self.spec;
        Problem {
            kind: spec.kind,
            dims: spec.dims,
            x,
            w_ih,
            w_hh,
            b_ih: spec.bias.then_some(b_ih.as_slice()),
            b_hh: spec.bias.then_some(b_hh.as_slice()),
            h0,
            c0: if spec.kind.has_cell() { c0 } else { &[] },
            lengths: spec.lengths.as_deref(),
            reverse: spec.reverse,
        }
    }

    /// The forward's packed results, `[seq + 2, batch, H]`: outputs, `h_n`, `c_n`.
    fn pack(&self, forward: &mut Forward) -> TensorData {
        let Dims {
            seq,
            batch,
            d_hidden,
            ..
        } = self.spec.dims;
        TensorData::new(
            std::mem::take(&mut forward.packed),
            [seq + 2, batch, d_hidden],
        )
    }
}

/// A float tensor of a CPU backend as host values.
fn read<B: Backend>(tensor: FloatTensor<B>) -> Vec<f32> {
    let data = try_read_sync(B::float_into_data(tensor))
        .expect("a CPU backend reads synchronously")
        .expect("reading a tensor of a CPU backend");
    data.convert::<f32>()
        .try_into_vec::<f32>()
        .expect("float data converts to f32")
}

/// What the backward node keeps: the inputs and the forward workspace.
#[derive(Clone)]
struct Saved {
    host: Arc<Host>,
    forward: Arc<Forward>,
}

impl fmt::Debug for Saved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.host.fmt(f)
    }
}

#[derive(Debug)]
struct FusedBackward;

impl<B: Backend> Backward<B, 7> for FusedBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Self::State, 7>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let device = grad.device();
        let Saved { host, forward } = ops.state;
        let Dims {
            seq,
            batch,
            d_input,
            d_hidden: h,
        } = host.spec.dims;
        let packed = read::<B>(grad);
        let (dy, rest) = packed.split_at(seq * batch * h);
        let (dh_n, dc_n) = rest.split_at(batch * h);
        let dc_n = if host.spec.kind.has_cell() { dc_n } else { &[] };
        let g = host.problem().backward(&forward, dy, dh_n, dc_n);
        let gh = host.spec.kind.n_gates() * h;
        let zeros = |n: usize| vec![0.0; n];
        let results: [(Vec<f32>, Vec<usize>); 7] = [
            (g.dx, vec![seq, batch, d_input]),
            (g.dw_ih, vec![d_input, gh]),
            (g.dw_hh, vec![h, gh]),
            (g.db_ih.unwrap_or_else(|| zeros(gh)), vec![gh]),
            (g.db_hh.unwrap_or_else(|| zeros(gh)), vec![gh]),
            (g.dh0, vec![batch, h]),
            (
                if host.spec.kind.has_cell() {
                    g.dc0
                } else {
                    zeros(batch * h)
                },
                vec![batch, h],
            ),
        ];
        for (parent, (values, shape)) in ops.parents.iter().zip(results) {
            if let Some(node) = parent {
                let tensor = B::float_from_data(TensorData::new(values, shape), &device);
                grads.register::<B>(node.id, tensor);
            }
        }
    }
}

impl<B: Backend + FusedRecurrentBackend, C: CheckpointStrategy> FusedRecurrentBackend
    for Autodiff<B, C>
{
    fn fused_recurrent(
        x: FloatTensor<Self>,
        w_ih: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        b_ih: FloatTensor<Self>,
        b_hh: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        c0: FloatTensor<Self>,
        spec: FusedSpec,
    ) -> FloatTensor<Self> {
        let inputs = [x, w_ih, w_hh, b_ih, b_hh, h0, c0];
        let nodes = inputs.each_ref().map(|t| t.node());
        match FusedBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let device = inputs[0].primitive().device();
                let host = Host::read::<B>(inputs.map(|t| t.into_primitive()), spec);
                let mut forward = host.problem().forward(true);
                let output = B::float_from_data(host.pack(&mut forward), &device);
                let saved = Saved {
                    host: Arc::new(host),
                    forward: Arc::new(forward),
                };
                prep.finish(saved, output)
            }
            OpsKind::UnTracked(prep) => {
                let [x, w_ih, w_hh, b_ih, b_hh, h0, c0] = inputs.map(|t| t.into_primitive());
                prep.finish(B::fused_recurrent(x, w_ih, w_hh, b_ih, b_hh, h0, c0, spec))
            }
        }
    }
}
