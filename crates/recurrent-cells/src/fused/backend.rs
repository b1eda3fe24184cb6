//! The fused recurrent op as a burn backend extension: the host kernel on flex and ndarray,
//! and its own backward node on autodiff.
//!
//! One op runs one layer over the whole sequence, in one direction or, for a bidirectional
//! layer, both (at once, each direction on one thread, when rayon has two). Its output packs
//! everything the layer returns into one flat tensor, because an autodiff node has one
//! output: the outputs of every step, `[seq * batch, dirs * H]` (rows in the input's layout,
//! time- or batch-major; the directions side by side, as a bidirectional layer returns them),
//! then `h_n` (`[dirs, batch, H]`), then `c_n` (the same; zeros for cells without one).
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

use super::kernel::{CellKind, Dims, Forward, Grads, Problem};
use super::packed::Segment;
use super::pieces;
use super::team;

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
    /// Whether the recurrence (the first direction's) runs from the last valid step to the
    /// first; a second direction runs the other way.
    pub reverse: bool,
    /// Whether `x` (and so the outputs) is `[batch, seq, d_input]` rather than `[seq, batch,
    /// d_input]`.
    pub batch_major: bool,
    /// Number of directions, 1 or 2 (both directions of a bidirectional layer, their weights,
    /// biases and initial states stacked along a leading dimension).
    pub dirs: usize,
}

impl FusedSpec {
    /// Length of the op's flat output: the outputs, `h_n` and `c_n`.
    pub fn packed_len(&self) -> usize {
        let Dims {
            seq,
            batch,
            d_hidden,
            ..
        } = self.dims;
        (seq + 2) * batch * self.dirs * d_hidden
    }
}

/// Backends that run a recurrent layer as one fused op.
#[backend_extension(
    Flex: cfg(feature = "flex"),
    NdArray: cfg(feature = "ndarray"),
    Autodiff,
)]
pub trait FusedRecurrentBackend: Backend {
    /// One layer over a whole sequence, in `spec.dirs` directions.
    ///
    /// - `x`: `[seq, batch, d_input]` (`[batch, seq, d_input]` with `spec.batch_major`);
    ///   `w_ih`: `[dirs, d_input, G * H]`; `w_hh`: `[dirs, H, G * H]`; `b_ih`, `b_hh`: `[dirs,
    ///   G * H]`; `h0`, `c0`: `[dirs, batch, H]` (each may leave out a leading 1)
    ///
    /// Returns the flat `[spec.packed_len()]`: the outputs `[seq * batch, dirs * H]` (rows in
    /// `x`'s order), then `h_n` and `c_n`, each `[dirs, batch, H]`.
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
        let (_, output) = host.forward(false);
        Self::float_from_data(output, &device)
    }
}

#[cfg(feature = "flex")]
impl FusedRecurrentBackend for burn::backend::Flex {}

#[cfg(feature = "ndarray")]
impl FusedRecurrentBackend for burn::backend::NdArray {}

/// The op's inputs, on the host.
struct Host {
    /// `x, w_ih, w_hh, b_ih, b_hh, h0, c0`.
    tensors: [HostTensor; 7],
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
            tensors: tensors.map(HostTensor::read::<B>),
            spec,
        }
    }

    /// Direction `d`'s problem: its part of every stacked input, `x` shared.
    fn problem(&self, d: usize) -> Problem<'_> {
        let dirs = self.spec.dirs;
        let [x, w_ih, w_hh, b_ih, b_hh, h0, c0] = self.tensors.each_ref().map(HostTensor::values);
        fn part(all: &[f32], d: usize, dirs: usize) -> &[f32] {
            let n = all.len() / dirs;
            &all[d * n..][..n]
        }
        let part = |all| part(all, d, dirs);
        let (w_ih, w_hh, b_ih, b_hh, h0, c0) = (
            part(w_ih),
            part(w_hh),
            part(b_ih),
            part(b_hh),
            part(h0),
            part(c0),
        );
        let spec = &self.spec;
        Problem {
            kind: spec.kind,
            dims: spec.dims,
            x,
            w_ih,
            w_hh,
            b_ih: spec.bias.then_some(b_ih),
            b_hh: spec.bias.then_some(b_hh),
            h0,
            c0: if spec.kind.has_cell() { c0 } else { &[] },
            lengths: spec.lengths.as_deref(),
            reverse: spec.reverse != (d == 1),
            batch_major: spec.batch_major,
        }
    }

    /// Runs every direction forward (two at once, each on one of rayon's threads, when there
    /// are two and this is not one of them); with `save`, keeping their workspaces. Returns
    /// them and the op's flat output: outputs `[seq * batch, dirs * H]`, `h_n`, `c_n`
    /// (`[dirs, batch, H]` each). Two directions write their outputs into their columns of
    /// it in place; one direction's own pack already is it.
    fn forward(&self, save: bool) -> (Vec<Forward>, TensorData) {
        let len = self.spec.packed_len();
        let dirs = self.spec.dirs;
        if dirs == 1 {
            let mut forward = self.problem(0).forward(save);
            let packed = std::mem::take(&mut forward.packed);
            return (vec![forward], TensorData::new(packed, [len]));
        }
        let Dims {
            seq,
            batch,
            d_hidden: h,
            ..
        } = self.spec.dims;
        let rows = seq * batch;
        let mut packed = vec![0.0; len];
        let (outputs, finals) = packed.split_at_mut(rows * dirs * h);
        // Each direction's columns of every output row.
        let rows_of = outputs.chunks_exact_mut((dirs * h).max(1));
        let columns = pieces::handout(pieces::deal(rows_of, &vec![h; dirs], 1));
        let forwards = each_direction(dirs, |d| {
            self.problem(d)
                .forward_into(save, pieces::take(&columns, d))
        });
        for (d, forward) in forwards.iter().enumerate() {
            // h_n, then c_n: part k of direction d at (k * dirs + d) * batch * h.
            for k in 0..2 {
                finals[(k * dirs + d) * batch * h..][..batch * h]
                    .copy_from_slice(&forward.packed[k * batch * h..][..batch * h]);
            }
        }
        (forwards, TensorData::new(packed, [len]))
    }
}

/// `work(d)` for every direction `d`: two at once, each on one of rayon's threads, when there
/// are two threads and this is not one of them; otherwise in turn.
fn each_direction<T: Send>(dirs: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    if dirs == 2 && team::threads() >= 2 {
        let (a, b) = rayon::join(|| work(0), || work(1));
        vec![a, b]
    } else {
        (0..dirs).map(work).collect()
    }
}

/// An input of the op on the host, borrowed by [`Host::problem`] without another copy.
enum HostTensor {
    /// Read out of the backend (a copy when the tensor's storage is shared).
    Data(TensorData),
    /// A flex tensor itself, kept: its contiguous `f32` storage is read in place (the layer's
    /// weights and a caller's input are shared, and reading them out would copy them).
    #[cfg(feature = "flex")]
    Flex(burn::backend::flex::FlexTensor),
}

impl HostTensor {
    /// `tensor`'s values: kept in place when it is a contiguous `f32` flex tensor, read out
    /// otherwise.
    fn read<B: Backend>(tensor: FloatTensor<B>) -> Self {
        #[cfg(feature = "flex")]
        let tensor = {
            use std::any::Any;
            let any: Box<dyn Any> = Box::new(tensor);
            match any.downcast::<burn::backend::flex::FlexTensor>() {
                Ok(flex) if flex.as_slice::<f32>().is_some() => return Self::Flex(*flex),
                Ok(flex) => {
                    let any: Box<dyn Any> = flex;
                    *any.downcast::<FloatTensor<B>>()
                        .expect("the tensor's own type")
                }
                Err(any) => *any
                    .downcast::<FloatTensor<B>>()
                    .expect("the tensor's own type"),
            }
        };
        Self::Data(read_data::<B>(tensor))
    }

    /// The values, row-major.
    fn values(&self) -> &[f32] {
        match self {
            Self::Data(data) => data
                .as_slice::<f32>()
                .expect("the fused op runs on f32 tensors only"),
            #[cfg(feature = "flex")]
            Self::Flex(tensor) => tensor
                .as_slice::<f32>()
                .expect("checked contiguous f32 when read"),
        }
    }
}

/// A float tensor of a CPU backend as host data (`f32`).
fn read_data<B: Backend>(tensor: FloatTensor<B>) -> TensorData {
    try_read_sync(B::float_into_data(tensor))
        .expect("a CPU backend reads synchronously")
        .expect("reading a tensor of a CPU backend")
        .convert::<f32>()
}

/// What the backward node keeps: the inputs and the forward workspace.
#[derive(Clone)]
struct Saved {
    host: Arc<Host>,
    forwards: Arc<Vec<Forward>>,
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
        let Saved { host, forwards } = ops.state;
        // The backward overwrites the saved gates with gradients, so it takes the workspace
        // (shared only if the state was cloned, and then copied).
        let forwards = Arc::try_unwrap(forwards).unwrap_or_else(|shared| shared.as_ref().clone());
        let forwards = pieces::handout(forwards);
        let spec = &host.spec;
        let Dims {
            seq,
            batch,
            d_input,
            d_hidden: h,
        } = spec.dims;
        let dirs = spec.dirs;
        let rows = seq * batch;
        // Read in place where the backend allows (a contiguous flex tensor), as the inputs are.
        let packed = HostTensor::read::<B>(grad);
        let packed = packed.values();
        let (dy, finals) = packed.split_at(rows * dirs * h);
        let has_cell = spec.kind.has_cell();
        // An input that needs no gradient (a first layer's `x` that does not require one)
        // skips the product for it, as PyTorch's backward does.
        let need_dx = ops.parents[0].is_some();
        // Direction d's gradients of its outputs (its columns, read in place) and final state.
        let backward = |d: usize| {
            let dy_d = Segment {
                data: dy,
                stride: dirs * h,
                offset: d * h,
                width: h,
            };
            let dh_n = &finals[d * batch * h..][..batch * h];
            let dc_n = if has_cell {
                &finals[(dirs + d) * batch * h..][..batch * h]
            } else {
                &[]
            };
            host.problem(d)
                .backward(pieces::take(&forwards, d), dy_d, dh_n, dc_n, need_dx)
        };
        let grads_of: Vec<Grads> = each_direction(dirs, backward);
        let gh = spec.kind.n_gates() * h;
        // The directions' gradients stacked, moved rather than copied (x's summed: both
        // directions read it); a bias-free or cell-free part is zeros.
        let mut parts: [Vec<f32>; 7] = Default::default();
        for g in grads_of {
            if parts[0].is_empty() {
                parts[0] = g.dx;
            } else if need_dx {
                for (a, b) in parts[0].iter_mut().zip(&g.dx) {
                    *a += b;
                }
            }
            let dc0 = if has_cell {
                g.dc0
            } else {
                vec![0.0; batch * h]
            };
            let rest = [
                g.dw_ih,
                g.dw_hh,
                g.db_ih.unwrap_or_else(|| vec![0.0; gh]),
                g.db_hh.unwrap_or_else(|| vec![0.0; gh]),
                g.dh0,
                dc0,
            ];
            for (part, values) in parts[1..].iter_mut().zip(rest) {
                if part.is_empty() {
                    *part = values;
                } else {
                    part.extend(values);
                }
            }
        }
        let lead = |shape: &[usize]| -> Vec<usize> {
            if dirs == 1 {
                shape.to_vec()
            } else {
                std::iter::once(dirs).chain(shape.iter().copied()).collect()
            }
        };
        let shapes = [
            if spec.batch_major {
                vec![batch, seq, d_input]
            } else {
                vec![seq, batch, d_input]
            },
            lead(&[d_input, gh]),
            lead(&[h, gh]),
            lead(&[gh]),
            lead(&[gh]),
            lead(&[batch, h]),
            lead(&[batch, h]),
        ];
        let results = parts.into_iter().zip(shapes);
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
                let (forwards, output) = host.forward(true);
                let output = B::float_from_data(output, &device);
                let saved = Saved {
                    host: Arc::new(host),
                    forwards: Arc::new(forwards),
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
