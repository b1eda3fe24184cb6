//! The sequence runner shared by every layer: stacked, optionally bidirectional cells over a
//! whole sequence, with padding masks from lengths.
//!
//! Per layer and direction, the input projection of all timesteps is one matmul; the time
//! loop then does one hidden matmul and the gate arithmetic per step. Outputs are collected
//! per step and stacked once at the end, so nothing is re-allocated per step for the
//! output. With lengths, a step past a sequence's length keeps the previous state
//! (`mask_where`), so no gradient flows through padding and the final state is the state at
//! the last valid step; its output is exactly 0.

use burn::module::Module;
use burn::nn::Dropout;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

use crate::cell::{CellState, RecurrentCell};
use crate::gates::{ParamRef, PytorchGates};
use crate::input::SequenceInput;
use crate::state_dict::StateDict;
use crate::{Error, Result};

/// A layer state in PyTorch's layout: each part is `[n_layers * dirs, batch, d_hidden]`.
///
/// `Tensor<3>` for RNN and GRU (`h`), `(Tensor<3>, Tensor<3>)` for LSTM (`(h, c)`).
pub trait LayerState: Sized {
    /// Names of the parts, as PyTorch calls them (`h0`/`h_n` → `"h"`).
    const NAMES: &'static [&'static str];

    /// The parts, hidden state first.
    fn into_parts(self) -> Vec<Tensor<3>>;

    /// Rebuilds a state from its parts.
    fn from_parts(parts: Vec<Tensor<3>>) -> Self;
}

impl LayerState for Tensor<3> {
    const NAMES: &'static [&'static str] = &["h"];

    fn into_parts(self) -> Vec<Tensor<3>> {
        vec![self]
    }

    fn from_parts(mut parts: Vec<Tensor<3>>) -> Self {
        assert_eq!(parts.len(), 1, "a hidden-only layer state has one part");
        parts.remove(0)
    }
}

impl LayerState for (Tensor<3>, Tensor<3>) {
    const NAMES: &'static [&'static str] = &["h", "c"];

    fn into_parts(self) -> Vec<Tensor<3>> {
        vec![self.0, self.1]
    }

    fn from_parts(parts: Vec<Tensor<3>>) -> Self {
        let [h, c]: [Tensor<3>; 2] = parts
            .try_into()
            .unwrap_or_else(|p: Vec<_>| panic!("an LSTM layer state has 2 parts, got {}", p.len()));
        (h, c)
    }
}

/// Stacked, optionally bidirectional cells: the body of [`crate::Rnn`], [`crate::Lstm`] and
/// [`crate::Gru`].
///
/// Cells are ordered as PyTorch orders the final state: layer-major, forward before reverse
/// (`cells[layer * dirs + dir]`).
#[derive(Module, Debug)]
pub struct CellStack<C: Module> {
    /// One cell per layer and direction.
    pub cells: Vec<C>,
    /// Dropout on the outputs of every layer but the last (training only).
    pub dropout: Dropout,
    /// Variational recurrent dropout on `h_{t-1}` in the hidden matmul (training only): one
    /// mask per sequence, cell and forward call, reused at every step.
    pub recurrent_dropout: Dropout,
    /// Number of stacked layers.
    pub n_layers: usize,
    /// Whether each layer also runs the sequence backwards and concatenates both outputs.
    pub bidirectional: bool,
    /// Whether a unidirectional layer runs from the last step to the first (Keras
    /// `go_backwards`); outputs stay aligned with the input steps.
    pub reverse: bool,
    /// Whether inputs and outputs are `[batch, seq, features]` (true) or
    /// `[seq, batch, features]`.
    pub batch_first: bool,
}

/// Options shared by every layer's config, checked once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StackOptions {
    pub d_input: usize,
    pub d_hidden: usize,
    pub n_layers: usize,
    pub bidirectional: bool,
    pub reverse: bool,
    pub batch_first: bool,
    pub dropout: f64,
    pub recurrent_dropout: f64,
}

impl StackOptions {
    pub(crate) fn validate(&self) -> Result<()> {
        if self.d_input == 0 || self.d_hidden == 0 {
            return Err(Error::Config(format!(
                "d_input and d_hidden must be positive, got d_input={} d_hidden={}",
                self.d_input, self.d_hidden
            )));
        }
        if self.n_layers == 0 {
            return Err(Error::Config("n_layers must be at least 1".into()));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::Config(format!(
                "dropout must be in [0, 1), got {}",
                self.dropout
            )));
        }
        if !(0.0..1.0).contains(&self.recurrent_dropout) {
            return Err(Error::Config(format!(
                "recurrent_dropout must be in [0, 1), got {}",
                self.recurrent_dropout
            )));
        }
        if self.reverse && self.bidirectional {
            return Err(Error::Config(
                "reverse applies to unidirectional layers; a bidirectional layer already runs both ways"
                    .into(),
            ));
        }
        Ok(())
    }

    pub(crate) fn dirs(&self) -> usize {
        if self.bidirectional { 2 } else { 1 }
    }

    /// Builds the stack, `make(d_input_of_layer)` building each cell.
    pub(crate) fn build<C: Module>(&self, mut make: impl FnMut(usize) -> C) -> CellStack<C> {
        let dirs = self.dirs();
        let cells = (0..self.n_layers)
            .flat_map(|layer| {
                let d_in = if layer == 0 {
                    self.d_input
                } else {
                    dirs * self.d_hidden
                };
                (0..dirs).map(move |_| d_in).collect::<Vec<_>>()
            })
            .map(&mut make)
            .collect();
        CellStack {
            cells,
            dropout: burn::nn::DropoutConfig::new(self.dropout).init(),
            recurrent_dropout: burn::nn::DropoutConfig::new(self.recurrent_dropout).init(),
            n_layers: self.n_layers,
            bidirectional: self.bidirectional,
            reverse: self.reverse,
            batch_first: self.batch_first,
        }
    }
}

/// The padding of a batch, prepared once per forward.
pub(crate) struct Padding {
    /// `pad[t]`: `[batch, d_hidden]`, true where step `t` is past the sequence's length.
    pad: Vec<Tensor<2, Bool>>,
    /// Steps before this one are valid for every sequence and need no mask.
    first_padded: usize,
}

impl<C: RecurrentCell + Module> CellStack<C> {
    /// Number of directions (1 or 2).
    pub fn dirs(&self) -> usize {
        if self.bidirectional { 2 } else { 1 }
    }

    /// Size of the input features.
    pub fn d_input(&self) -> usize {
        self.cells[0].d_input()
    }

    /// Size of the hidden state of each direction.
    pub fn d_hidden(&self) -> usize {
        self.cells[0].d_hidden()
    }

    /// Runs the stack over a sequence; see [`crate::Lstm::forward`] for the shapes.
    pub fn try_forward<S: LayerState>(&self, input: SequenceInput<S>) -> Result<(Tensor<3>, S)>
    where
        C::State: CellState,
    {
        let SequenceInput {
            input,
            state,
            lengths,
        } = input;
        let device = input.device();
        let [seq, batch, d_input] = match input.dims() {
            [batch, seq, d] if self.batch_first => [seq, batch, d],
            dims => dims,
        };
        if d_input != self.d_input() || seq == 0 || batch == 0 {
            let expected = if self.batch_first {
                [batch, seq.max(1), self.d_input()]
            } else {
                [seq.max(1), batch, self.d_input()]
            };
            let actual = if self.batch_first {
                [batch, seq, d_input]
            } else {
                [seq, batch, d_input]
            };
            return Err(Error::shape("input", &expected, &actual));
        }
        let d_hidden = self.d_hidden();
        let n_cells = self.cells.len();
        let mut states = match state {
            Some(state) => self.split_state(state, batch)?,
            None => self
                .cells
                .iter()
                .map(|c| c.zero_state(batch, &device))
                .collect(),
        };
        let lengths = match lengths {
            Some(lengths) => Some(check_lengths(lengths, batch, seq)?),
            None => None,
        };
        if let Some(kind) = self.fused_kind(&input) {
            // The kernel reads a batch-first input as it is: no transpose either way.
            let (output, states) = self.forward_fused(kind, input, states, lengths.as_deref());
            return Ok((output, merge_states(states)));
        }
        let x = if self.batch_first {
            input.swap_dims(0, 1)
        } else {
            input
        };
        let padding = lengths.map(|l| padding(&l, batch, seq, d_hidden, &device));

        let dirs = self.dirs();
        // With autodiff, steps flow between layers as separate tensors (see `LayerInput`).
        let per_step = device.is_autodiff();
        let mut x = LayerInput::Sequence(x);
        for layer in 0..self.n_layers {
            let mut outputs = Vec::with_capacity(dirs);
            for dir in 0..dirs {
                let index = layer * dirs + dir;
                let cell = &self.cells[index];
                let backwards = (dir == 1) != self.reverse;
                let steps = x.project(cell, per_step);
                let state = states[index].clone();
                let mask = self.recurrent_mask(batch, d_hidden, &device);
                let (out, last) =
                    run_direction(cell, steps, state, backwards, &padding, mask.as_ref());
                outputs.push(out);
                states[index] = last;
            }
            let mut steps = if dirs == 1 {
                outputs.remove(0)
            } else {
                let reverse = outputs.pop().expect("two directions");
                let forward = outputs.pop().expect("two directions");
                forward
                    .into_iter()
                    .zip(reverse)
                    .map(|(f, r)| Tensor::cat(vec![f, r], 1))
                    .collect()
            };
            if layer + 1 < self.n_layers {
                steps = steps.into_iter().map(|t| self.dropout.forward(t)).collect();
            }
            x = LayerInput::Steps(steps);
        }
        debug_assert_eq!(states.len(), n_cells);

        let x = match x {
            LayerInput::Steps(steps) => Tensor::stack(steps, 0),
            LayerInput::Sequence(x) => x,
        };
        let output = if self.batch_first {
            x.swap_dims(0, 1)
        } else {
            x
        };
        Ok((output, merge_states(states)))
    }

    /// The fused kernel this stack runs on `x` (`[seq, batch, d_input]`), if it can: cells
    /// with a kernel, a device and dtype with one, and no recurrent dropout in training.
    fn fused_kind(&self, x: &Tensor<3>) -> Option<crate::fused::CellKind> {
        let kind = self.cells[0].fused_kind()?;
        let dropout_off = self.recurrent_dropout.prob == 0.0 || !x.device().is_autodiff();
        (dropout_off && crate::fused::applies(x, self.cells[0].gates())).then_some(kind)
    }

    /// Runs every layer through the fused kernel: `x: [seq, batch, d_input]`, or `[batch, seq,
    /// d_input]` for a batch-first stack (read in place, no transpose) → the outputs in the
    /// same layout with `dirs * d_hidden` features, and the final state of every cell.
    fn forward_fused(
        &self,
        kind: crate::fused::CellKind,
        mut x: Tensor<3>,
        mut states: Vec<C::State>,
        lengths: Option<&[usize]>,
    ) -> (Tensor<3>, Vec<C::State>) {
        use crate::fused::Layout;
        let layout = if self.batch_first {
            Layout::BatchMajor
        } else {
            Layout::TimeMajor
        };
        let dirs = self.dirs();
        for layer in 0..self.n_layers {
            // Every direction of the layer in one op (a bidirectional layer's two at once).
            let directions = (0..dirs)
                .map(|dir| {
                    let index = layer * dirs + dir;
                    (
                        self.cells[index].gates(),
                        states[index].clone().into_parts(),
                    )
                })
                .collect();
            let (output, finals) =
                crate::fused::run(kind, x, layout, directions, lengths, self.reverse);
            for (dir, last) in finals.into_iter().enumerate() {
                states[layer * dirs + dir] = C::State::from_parts(last);
            }
            x = output;
            if layer + 1 < self.n_layers {
                x = self.dropout.forward(x);
            }
        }
        (x, states)
    }

    /// The recurrent-dropout mask of one cell for one forward call, `[batch, d_hidden]`
    /// (inverted dropout: kept units scaled by `1 / (1 - p)`), or `None` when recurrent
    /// dropout is off or the layer is not training (no autodiff device, or frozen).
    fn recurrent_mask(&self, batch: usize, d_hidden: usize, device: &Device) -> Option<Tensor<2>> {
        if self.recurrent_dropout.prob == 0.0 || !device.is_autodiff() {
            return None;
        }
        // Dropout of ones is the mask itself, and follows Dropout's own rule for when it
        // applies (training flag, autodiff device).
        Some(
            self.recurrent_dropout
                .forward(Tensor::ones([batch, d_hidden], device)),
        )
    }

    /// Splits a layer state `[n_cells, batch, d_hidden]` (per part) into cell states.
    fn split_state<S: LayerState>(&self, state: S, batch: usize) -> Result<Vec<C::State>> {
        let n_cells = self.cells.len();
        let d_hidden = self.d_hidden();
        let parts = state.into_parts();
        let mut per_cell: Vec<Vec<Tensor<2>>> = (0..n_cells).map(|_| Vec::new()).collect();
        for (part, name) in parts.into_iter().zip(S::NAMES) {
            let dims = part.dims();
            if dims != [n_cells, batch, d_hidden] {
                return Err(Error::shape(
                    format!("initial state {name}0"),
                    &[n_cells, batch, d_hidden],
                    &dims,
                ));
            }
            for (k, t) in part.split(1, 0).into_iter().enumerate() {
                per_cell[k].push(t.reshape([batch, d_hidden]));
            }
        }
        Ok(per_cell.into_iter().map(C::State::from_parts).collect())
    }

    /// Loads PyTorch weights named `{prefix}weight_ih_l{k}[_reverse]` and so on.
    ///
    /// Every tensor of this stack must be present with PyTorch's shape; a tensor under the
    /// prefix that this stack does not have (another layer, a bias of a bias-free layer) is
    /// an error, as with PyTorch's `load_state_dict(strict=True)`.
    pub fn load_state_dict(self, dict: &StateDict, prefix: &str) -> Result<Self> {
        let dirs = self.dirs();
        let mut expected = std::collections::BTreeSet::new();
        let mut cells = Vec::with_capacity(self.cells.len());
        for (index, cell) in self.cells.into_iter().enumerate() {
            let names = pytorch_names(prefix, index / dirs, index % dirs == 1);
            let get = |name: &str| -> Result<&TensorData> {
                dict.get(name).ok_or_else(|| Error::MissingTensor {
                    name: name.to_string(),
                    available: dict.names().collect::<Vec<_>>().join(", "),
                })
            };
            let tensors = PytorchGates {
                weight_ih: get(&names[0])?,
                weight_hh: get(&names[1])?,
                bias_ih: dict.get(&names[2]),
                bias_hh: dict.get(&names[3]),
                names: [&names[0], &names[1], &names[2], &names[3]],
            };
            let device = cell.gates().weight_ih.val().device();
            let gates = cell
                .gates()
                .clone()
                .load_pytorch(C::GATE_ORDER, tensors, &device)?;
            expected.extend(names);
            cells.push(cell.with_gates(gates));
        }
        if let Some(name) = dict
            .names()
            .filter(|n| n.starts_with(prefix) && is_rnn_param(&n[prefix.len()..]))
            .find(|n| !expected.contains(*n))
        {
            return Err(Error::UnexpectedTensor {
                name: name.to_string(),
            });
        }
        Ok(Self { cells, ..self })
    }

    /// This stack's weights under PyTorch's names, each prefixed by `prefix`.
    pub fn state_dict(&self, prefix: &str) -> StateDict {
        self.export(prefix, &|p| {
            Some(match p {
                ParamRef::Matrix(p) => p.val().into_data(),
                ParamRef::Vector(p) => p.val().into_data(),
            })
        })
    }

    /// The gradients of this stack's weights, under PyTorch's names and in its layout.
    pub fn pytorch_grads(&self, grads: &burn::tensor::Gradients, prefix: &str) -> StateDict {
        self.export(prefix, &|p| match p {
            ParamRef::Matrix(p) => p.val().grad(grads).map(|g| g.into_data()),
            ParamRef::Vector(p) => p.val().grad(grads).map(|g| g.into_data()),
        })
    }

    fn export(&self, prefix: &str, read: &dyn Fn(ParamRef<'_>) -> Option<TensorData>) -> StateDict {
        let dirs = self.dirs();
        let mut dict = StateDict::default();
        for (index, cell) in self.cells.iter().enumerate() {
            let names = pytorch_names(prefix, index / dirs, index % dirs == 1);
            let tensors = cell.gates().export_pytorch(C::GATE_ORDER, read);
            for (name, data) in names.into_iter().zip(tensors) {
                if let Some(data) = data {
                    dict.insert(name, data);
                }
            }
        }
        dict
    }
}

/// `[weight_ih, weight_hh, bias_ih, bias_hh]` names of one cell.
fn pytorch_names(prefix: &str, layer: usize, reverse: bool) -> [String; 4] {
    let suffix = if reverse { "_reverse" } else { "" };
    ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
        .map(|kind| format!("{prefix}{kind}_l{layer}{suffix}"))
}

/// Whether a name (without prefix) is one of PyTorch's recurrent parameter names.
fn is_rnn_param(name: &str) -> bool {
    ["weight_ih_l", "weight_hh_l", "bias_ih_l", "bias_hh_l"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// Checks lengths (`[batch]`, each in `0..=seq`) and reads them to the host.
fn check_lengths(lengths: Tensor<1, Int>, batch: usize, seq: usize) -> Result<Vec<usize>> {
    let dims = lengths.dims();
    if dims != [batch] {
        return Err(Error::shape("lengths", &[batch], &dims));
    }
    let values: Vec<i64> = lengths
        .to_data()
        .try_into_vec_as::<i64>()
        .expect("integer lengths convert to i64");
    if let Some((b, &l)) = values
        .iter()
        .enumerate()
        .find(|(_, l)| **l < 0 || **l as usize > seq)
    {
        return Err(Error::Value {
            what: format!("lengths[{b}]"),
            message: format!("{l} is outside 0..={seq} (the sequence length)"),
        });
    }
    Ok(values.into_iter().map(|l| l as usize).collect())
}

/// The per-step padding masks of checked lengths.
fn padding(
    values: &[usize],
    batch: usize,
    seq: usize,
    d_hidden: usize,
    device: &Device,
) -> Padding {
    let first_padded = values.iter().copied().min().unwrap_or(0);
    // pad[t, b] = lengths[b] <= t
    let steps = Tensor::<1, Int>::arange(0..seq as i64, device).unsqueeze_dim::<2>(1);
    let lengths = crate::input::lengths_tensor(values, device);
    let pad = lengths
        .unsqueeze_dim::<2>(0)
        .lower_equal(steps)
        .unsqueeze_dim::<3>(2)
        .expand([seq, batch, d_hidden]);
    let pad = pad
        .split(1, 0)
        .into_iter()
        .map(|p| p.reshape([batch, d_hidden]))
        .collect();
    Padding { pad, first_padded }
}

/// The input of one layer, time-major: the whole sequence, or its steps one by one.
///
/// Without autodiff, a layer projects the whole sequence `[seq, batch, d_in]` in one batched
/// matmul before the time loop and splits the result into steps. With autodiff that split
/// would be quadratic: burn differentiates each slice by materialising a zero tensor of the
/// whole source and adding it into the gradient, so `seq` slices of `[seq, batch, gates *
/// d_hidden]` cost `seq^2 * batch * gates * d_hidden` in the backward pass (it made
/// forward + backward of config A slower than burn-nn). For training, each step is therefore
/// projected on its own, and the per-step outputs of one layer feed the next layer without
/// being stacked and split again.
// One value per layer and forward, never in a hot loop: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum LayerInput {
    /// `[seq, batch, d_in]`.
    Sequence(Tensor<3>),
    /// `seq` tensors of `[batch, d_in]`.
    Steps(Vec<Tensor<2>>),
}

impl LayerInput {
    /// The projected input of every step, `[batch, gates * d_hidden]` each.
    pub(crate) fn project<C: RecurrentCell>(&self, cell: &C, per_step: bool) -> Vec<Tensor<2>> {
        let unstack = |x: Tensor<3>| -> Vec<Tensor<2>> {
            let [_, batch, width] = x.dims();
            x.split(1, 0)
                .into_iter()
                .map(|t| t.reshape([batch, width]))
                .collect()
        };
        match (self, per_step) {
            (LayerInput::Sequence(x), false) => unstack(cell.project_input(x.clone())),
            (LayerInput::Steps(steps), false) => {
                unstack(cell.project_input(Tensor::stack(steps.clone(), 0)))
            }
            (LayerInput::Sequence(x), true) => unstack(x.clone())
                .into_iter()
                .map(|x_t| cell.project_input(x_t))
                .collect(),
            (LayerInput::Steps(steps), true) => steps
                .iter()
                .map(|x_t| cell.project_input(x_t.clone()))
                .collect(),
        }
    }
}

/// Runs one cell over the projected steps of a sequence in one direction.
///
/// `steps`: `seq` projected inputs `[batch, gates * d_hidden]` → the `seq` outputs
/// `[batch, d_hidden]` (in input order) and the final state. `recurrent_mask`
/// (`[batch, d_hidden]`) is the variational recurrent-dropout mask of every step.
pub(crate) fn run_direction<C: RecurrentCell>(
    cell: &C,
    steps: Vec<Tensor<2>>,
    mut state: C::State,
    backwards: bool,
    padding: &Option<Padding>,
    recurrent_mask: Option<&Tensor<2>>,
) -> (Vec<Tensor<2>>, C::State) {
    let seq = steps.len();
    let mut outputs: Vec<Option<Tensor<2>>> = vec![None; seq];
    let mut steps: Vec<Option<Tensor<2>>> = steps.into_iter().map(Some).collect();
    let order: Box<dyn Iterator<Item = usize>> = if backwards {
        Box::new((0..seq).rev())
    } else {
        Box::new(0..seq)
    };
    for t in order {
        let step_input = steps[t].take().expect("each step is used once");
        let step = |state: C::State| match recurrent_mask {
            Some(mask) => cell.step_projected_masked(step_input, state, mask),
            None => cell.step_projected(step_input, state),
        };
        match padding {
            Some(p) if t >= p.first_padded => {
                let pad = &p.pad[t];
                let next = step(state.clone()).keep_where(pad, state);
                outputs[t] = Some(next.hidden().mask_fill(pad.clone(), 0.0));
                state = next;
            }
            _ => {
                state = step(state);
                outputs[t] = Some(state.hidden());
            }
        }
    }
    let outputs = outputs
        .into_iter()
        .map(|o| o.expect("every step ran"))
        .collect();
    (outputs, state)
}

/// Cell states → the layer state, each part `[n_cells, batch, d_hidden]`.
fn merge_states<T: CellState, S: LayerState>(states: Vec<T>) -> S {
    let mut parts: Vec<Vec<Tensor<2>>> = (0..T::N_PARTS).map(|_| Vec::new()).collect();
    for state in states {
        for (k, part) in state.into_parts().into_iter().enumerate() {
            parts[k].push(part);
        }
    }
    S::from_parts(parts.into_iter().map(|p| Tensor::stack(p, 0)).collect())
}
