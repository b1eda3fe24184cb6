//! The fused recurrent op as a burn backend extension: the host kernel on flex and ndarray,
//! and its own backward nodes on autodiff.
//!
//! One op runs one layer over the whole sequence, in one direction or, for a bidirectional
//! layer, both (at once, each direction on one thread, when rayon has two). It returns two
//! flat tensors: the outputs of every step, `[seq * batch, dirs * H]` (rows in the input's
//! layout, time- or batch-major; the directions side by side, as a bidirectional layer returns
//! them), and the final states, `h_n` then `c_n` (`[dirs, batch, H]` each; zeros for cells
//! without a cell state).
//!
//! An autodiff node has one output, so on autodiff the op is two nodes: the op's own node,
//! whose output is the final states and whose parents are the op's inputs, and an outputs node
//! hanging off it. Being the final states' child, the outputs node runs its backward first: it
//! hands the outputs' gradient to the op's node through a shared slot (registering zeros, the
//! size of the small final states, for its parent) instead of through burn's slicing of one
//! packed tensor, whose backward builds a zero tensor the size of all the outputs for each
//! part that gets a gradient and copies the part into it.

// burn-ndarray is deprecated in burn 0.22 but still a supported backend.
#![allow(deprecated)]

use std::fmt;
use std::sync::{Arc, Mutex};

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, TensorMetadata, backend_extension};
use burn::tensor::{TensorData, try_read_sync};

use super::gemm::in_pool;
use super::kernel::{CellKind, Dims, Forward, Grads, InputGrad, Problem};
use super::packed::Segment;
use super::pieces;
use super::pool;
use super::pooled;
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
    /// Length of the op's flat outputs, `[seq * batch, dirs * H]`.
    pub fn outputs_len(&self) -> usize {
        let Dims {
            seq,
            batch,
            d_hidden,
            ..
        } = self.dims;
        seq * batch * self.dirs * d_hidden
    }

    /// Length of the op's flat final states: `h_n`, then `c_n`, `[dirs, batch, H]` each.
    pub fn finals_len(&self) -> usize {
        2 * self.dims.batch * self.dirs * self.dims.d_hidden
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
    /// Returns the flat outputs, `[spec.outputs_len()]` (`[seq * batch, dirs * H]`, rows in
    /// `x`'s order), and the flat final states, `[spec.finals_len()]` (`h_n`, then `c_n`,
    /// each `[dirs, batch, H]`).
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
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let device = x.device();
        let host = Host::read::<Self>([x, w_ih, w_hh, b_ih, b_hh, h0, c0], spec);
        let (_, outputs, finals) = host.forward(false);
        (
            Self::float_from_data(outputs, &device),
            Self::float_from_data(finals, &device),
        )
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
    /// them and the op's flat outputs, `[seq * batch, dirs * H]`, and final states, `h_n`
    /// then `c_n` (`[dirs, batch, H]` each). Two directions write their outputs into their
    /// columns in place; one direction's own pack already holds them, followed by its final
    /// state.
    fn forward(&self, save: bool) -> (Vec<Forward>, TensorData, TensorData) {
        let (outputs_len, finals_len) = (self.spec.outputs_len(), self.spec.finals_len());
        let dirs = self.spec.dirs;
        if dirs == 1 {
            let mut forward = self.problem(0).forward(save);
            let mut outputs = std::mem::take(&mut forward.packed);
            let finals = outputs.split_off(outputs_len);
            // In inference the pack came from the pool, and goes back there (see
            // `Problem::forward`'s pack and `pooled`).
            let outputs = if save {
                TensorData::new(outputs, [outputs_len])
            } else {
                pooled::tensor_data(outputs, &[outputs_len])
            };
            return (
                vec![forward],
                outputs,
                TensorData::new(finals, [finals_len]),
            );
        }
        let Dims {
            batch, d_hidden: h, ..
        } = self.spec.dims;
        // Every value is written below (padding's as zeros): a buffer as the pool has it, which
        // goes back there when the backend drops the outputs (see `pooled`).
        let mut outputs = pool::take(outputs_len);
        let mut finals = vec![0.0; finals_len];
        // Each direction's columns of every output row.
        let rows_of = outputs.chunks_exact_mut((dirs * h).max(1));
        let columns = pieces::handout(pieces::deal(rows_of, &vec![h; dirs], 1));
        let mut forwards = each_direction(dirs, |d, beside| {
            self.problem(d)
                .forward_into(save, pieces::take(&columns, d), beside)
        });
        for (d, forward) in forwards.iter_mut().enumerate() {
            // h_n, then c_n: part k of direction d at (k * dirs + d) * batch * h.
            for k in 0..2 {
                finals[(k * dirs + d) * batch * h..][..batch * h]
                    .copy_from_slice(&forward.packed[k * batch * h..][..batch * h]);
            }
            pool::give(std::mem::take(&mut forward.packed));
        }
        (
            forwards,
            pooled::tensor_data(outputs, &[outputs_len]),
            TensorData::new(finals, [finals_len]),
        )
    }
}

/// `work(d, beside)` for every direction `d`: two at once, each on one of rayon's threads
/// (`beside` true), when there are two threads and this is not one of them; otherwise in turn.
fn each_direction<T: Send>(dirs: usize, work: impl Fn(usize, bool) -> T + Sync) -> Vec<T> {
    if dirs == 2 && team::threads() >= 2 {
        let (a, b) = rayon::join(|| work(0, true), || work(1, true));
        vec![a, b]
    } else {
        (0..dirs).map(|d| work(d, false)).collect()
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

/// The gradient of the op's outputs, left by the outputs node's backward for the op's own
/// node (empty when no gradient reached the outputs).
#[derive(Clone, Default)]
struct OutputsGrad(Arc<Mutex<Option<HostTensor>>>);

impl OutputsGrad {
    fn put(&self, grad: HostTensor) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(grad);
    }

    fn take(&self) -> Option<HostTensor> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl fmt::Debug for OutputsGrad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OutputsGrad")
    }
}

/// What the op's backward node keeps: the inputs, the forward workspace, and the slot the
/// outputs' gradient arrives in.
#[derive(Clone)]
struct Saved {
    host: Arc<Host>,
    forwards: Arc<Vec<Forward>>,
    outputs_grad: OutputsGrad,
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
        // The final states' gradient: always registered by the time this runs, at least the
        // outputs node's zeros (see the module doc).
        let grad = grads.consume::<B>(&ops.node);
        let device = grad.device();
        let Saved {
            host,
            forwards,
            outputs_grad,
        } = ops.state;
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
        // Read in place where the backend allows (a contiguous flex tensor), as the inputs are;
        // outputs that no gradient reached get zeros.
        let finals = HostTensor::read::<B>(grad);
        let finals = finals.values();
        let outputs_grad = outputs_grad.take().unwrap_or_else(|| {
            HostTensor::Data(TensorData::new(
                pool::zeros(rows * dirs * h),
                [rows * dirs * h],
            ))
        });
        let dy = outputs_grad.values();
        let has_cell = spec.kind.has_cell();
        // An input that needs no gradient (a first layer's `x` that does not require one)
        // skips the product for it, as PyTorch's backward does. Both directions read `x`:
        // their products add into one `dX` after both.
        let need_dx = ops.parents[0].is_some();
        let input = match (need_dx, dirs) {
            (false, _) => InputGrad::Skip,
            (true, 1) => InputGrad::Compute,
            (true, _) => InputGrad::Defer,
        };
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
                .backward(pieces::take(&forwards, d), dy_d, dh_n, dc_n, input)
        };
        let mut grads_of: Vec<Grads> = each_direction(dirs, |d, _| backward(d));
        let gh = spec.kind.n_gates() * h;
        // The directions' gradients stacked, moved rather than copied; a bias-free or
        // cell-free part is zeros.
        let mut parts: [Vec<f32>; 7] = Default::default();
        if input == InputGrad::Defer {
            let mut dx = pool::zeros(rows * d_input);
            // Products split among rayon's threads, started from one of its workers.
            in_pool(|| {
                for (d, g) in grads_of.iter_mut().enumerate() {
                    host.problem(d).add_input_grad(&mut dx, &g.dx_pre, d > 0);
                    g.recycle();
                }
            });
            parts[0] = dx;
        }
        for g in grads_of {
            if input == InputGrad::Compute {
                parts[0] = g.dx;
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
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let finals_len = spec.finals_len();
        let inputs = [x, w_ih, w_hh, b_ih, b_hh, h0, c0];
        let nodes = inputs.each_ref().map(|t| t.node());
        let (outputs, finals, outputs_grad) =
            match FusedBackward.prepare::<C>(nodes).compute_bound().stateful() {
                OpsKind::Tracked(prep) => {
                    let device = inputs[0].primitive().device();
                    let host = Host::read::<B>(inputs.map(|t| t.into_primitive()), spec);
                    let (forwards, outputs, finals) = host.forward(true);
                    let outputs_grad = OutputsGrad::default();
                    let saved = Saved {
                        host: Arc::new(host),
                        forwards: Arc::new(forwards),
                        outputs_grad: outputs_grad.clone(),
                    };
                    let finals = prep.finish(saved, B::float_from_data(finals, &device));
                    (B::float_from_data(outputs, &device), finals, outputs_grad)
                }
                OpsKind::UnTracked(prep) => {
                    let [x, w_ih, w_hh, b_ih, b_hh, h0, c0] = inputs.map(|t| t.into_primitive());
                    let (outputs, finals) =
                        B::fused_recurrent(x, w_ih, w_hh, b_ih, b_hh, h0, c0, spec);
                    (outputs, prep.finish(finals), OutputsGrad::default())
                }
            };
        // The outputs node, a child of the final states (so its backward runs before the op's).
        let outputs = match OutputsBackward
            .prepare::<C>([finals.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((outputs_grad, finals_len), outputs),
            OpsKind::UnTracked(prep) => prep.finish(outputs),
        };
        (outputs, finals)
    }
}

/// The backward of the op's outputs node: hands the outputs' gradient to the op's own node and
/// gives the final states (its parent) zeros, so that the op's node always finds a gradient.
#[derive(Debug)]
struct OutputsBackward;

impl<B: Backend> Backward<B, 1> for OutputsBackward {
    /// The slot, and the final states' length.
    type State = (OutputsGrad, usize);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let device = grad.device();
        let dtype = grad.dtype();
        let (slot, finals_len) = ops.state;
        slot.put(HostTensor::read::<B>(grad));
        if let Some(parent) = &ops.parents[0] {
            let zeros = B::float_zeros([finals_len].into(), &device, dtype.into());
            grads.register::<B>(parent.id, zeros);
        }
    }
}
