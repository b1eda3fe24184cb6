//! Stacked recurrent layers in Keras' style (each layer its own width, bidirectional with a
//! merge mode), optionally residual (`x_{l+1} = x_l + f_l(x_l)`) with LayerNorm between
//! layers.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Bool, Device, Int, Tensor};
use recurrent_cells::{RnnActivation, SequenceInput, StateDict, lengths_to_mask};

use crate::bidirectional::{Bidirectional, BidirectionalConfig, MergeMode};
use crate::error::{Result, ZooError, check_rate, check_size};
use crate::recurrent::{Recurrent, RecurrentConfig, RecurrentKind, RecurrentState};
use crate::weights::{Export, PytorchWeights, child};

/// Configuration of a [`RecurrentStack`].
#[derive(Config, Debug, PartialEq)]
pub struct RecurrentStackConfig {
    /// The cell of every layer.
    pub kind: RecurrentKind,
    /// Size of the input features.
    pub d_input: usize,
    /// The hidden size of each layer, first to last (Keras' `LSTM(64,
    /// return_sequences=True)` then `LSTM(32)` is `[64, 32]`).
    pub widths: Vec<usize>,
    /// Whether every layer is a [`Bidirectional`] wrapper.
    #[config(default = false)]
    pub bidirectional: bool,
    /// How a bidirectional layer merges its two directions (not `none` in a stack).
    #[config(default = "MergeMode::Concat")]
    pub merge: MergeMode,
    /// Residual connections: each layer's input is added to its output, through a linear
    /// projection (no bias) where the widths differ.
    #[config(default = false)]
    pub residual: bool,
    /// LayerNorm on the output of every layer but the last.
    #[config(default = false)]
    pub layer_norm: bool,
    /// Dropout between layers (on the output of every layer but the last), training only.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Variational recurrent dropout inside every layer (Keras' `recurrent_dropout`).
    #[config(default = 0.0)]
    pub recurrent_dropout: f64,
    /// The nonlinearity of an RNN cell.
    #[config(default = "RnnActivation::Tanh")]
    pub activation: RnnActivation,
}

impl RecurrentStackConfig {
    /// `n_layers` layers of `d_hidden` each.
    pub fn uniform(kind: RecurrentKind, d_input: usize, d_hidden: usize, n_layers: usize) -> Self {
        Self::new(kind, d_input, vec![d_hidden; n_layers])
    }

    /// The width of a layer's output given its hidden size.
    fn layer_output(&self, width: usize) -> usize {
        if self.bidirectional {
            self.merge.d_output(width)
        } else {
            width
        }
    }

    /// Size of each output step of the stack.
    pub fn d_output(&self) -> usize {
        self.layer_output(self.widths.last().copied().unwrap_or(0))
    }

    /// Builds the stack on `device`.
    ///
    /// # Panics
    ///
    /// On an invalid configuration; [`RecurrentStackConfig::try_init`] returns the error.
    pub fn init(&self, device: &Device) -> RecurrentStack {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the stack, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<RecurrentStack> {
        if self.widths.is_empty() {
            return Err(ZooError::config(
                "widths",
                "no layers (give at least one width)",
            ));
        }
        check_size("d_input", self.d_input)?;
        for (k, &w) in self.widths.iter().enumerate() {
            check_size(&format!("widths[{k}]"), w)?;
        }
        check_rate("dropout", self.dropout)?;
        check_rate("recurrent_dropout", self.recurrent_dropout)?;
        if self.bidirectional && self.merge == MergeMode::None {
            return Err(ZooError::config(
                "merge",
                "none returns two sequences; a stack needs one per layer (use concat, sum, mul \
                 or ave)",
            ));
        }
        let n = self.widths.len();
        let mut layers = Vec::with_capacity(n);
        let mut projections = Vec::with_capacity(n);
        let mut norms = Vec::with_capacity(n);
        let mut d_in = self.d_input;
        for (k, &width) in self.widths.iter().enumerate() {
            let layer = RecurrentConfig::new(self.kind, d_in, width)
                .with_recurrent_dropout(self.recurrent_dropout)
                .with_activation(self.activation);
            layers.push(if self.bidirectional {
                StackLayer::Bidirectional(
                    BidirectionalConfig::new(layer)
                        .with_merge(self.merge)
                        .try_init(device)?,
                )
            } else {
                StackLayer::Unidirectional(layer.try_init(device)?)
            });
            let d_out = self.layer_output(width);
            projections.push(
                (self.residual && d_in != d_out)
                    .then(|| LinearConfig::new(d_in, d_out).with_bias(false).init(device)),
            );
            norms.push(
                (self.layer_norm && k + 1 < n).then(|| LayerNormConfig::new(d_out).init(device)),
            );
            d_in = d_out;
        }
        Ok(RecurrentStack {
            layers,
            projections,
            norms,
            dropout: DropoutConfig::new(self.dropout).init(),
            residual: self.residual,
        })
    }
}

/// One layer of a [`RecurrentStack`].
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum StackLayer {
    /// A unidirectional layer.
    Unidirectional(Recurrent),
    /// A bidirectional wrapper with its merge mode.
    Bidirectional(Bidirectional),
}

impl StackLayer {
    fn d_output(&self) -> usize {
        match self {
            Self::Unidirectional(l) => l.d_output(),
            Self::Bidirectional(l) => l.d_output(),
        }
    }

    fn dirs(&self) -> usize {
        match self {
            Self::Unidirectional(_) => 1,
            Self::Bidirectional(_) => 2,
        }
    }
}

/// The state of a [`RecurrentStack`]: one [`RecurrentState`] per layer, each part
/// `[dirs, batch, width]` (a bidirectional layer's forward direction first, as in
/// PyTorch).
#[derive(Debug, Clone)]
pub struct StackState(pub Vec<RecurrentState>);

impl StackState {
    /// The rows `index` (`[k]`) of the batch, in every layer (beam search reorders
    /// hypotheses this way).
    pub fn select_batch(self, index: Tensor<1, Int>) -> Self {
        Self(
            self.0
                .into_iter()
                .map(|s| s.select_batch(index.clone()))
                .collect(),
        )
    }
}

/// Splits a `[2, batch, d]` state into its two directions.
fn split_dirs(state: RecurrentState) -> (RecurrentState, RecurrentState) {
    let halves = |t: Tensor<3>| (t.clone().narrow(0, 0, 1), t.narrow(0, 1, 1));
    match state {
        RecurrentState::Hidden(h) => {
            let (a, b) = halves(h);
            (RecurrentState::Hidden(a), RecurrentState::Hidden(b))
        }
        RecurrentState::HiddenCell(h, c) => {
            let (ha, hb) = halves(h);
            let (ca, cb) = halves(c);
            (
                RecurrentState::HiddenCell(ha, ca),
                RecurrentState::HiddenCell(hb, cb),
            )
        }
    }
}

/// Joins two directions' states into one `[2, batch, d]` state.
fn join_dirs(forward: RecurrentState, backward: RecurrentState) -> RecurrentState {
    match (forward, backward) {
        (RecurrentState::HiddenCell(ha, ca), RecurrentState::HiddenCell(hb, cb)) => {
            RecurrentState::HiddenCell(Tensor::cat(vec![ha, hb], 0), Tensor::cat(vec![ca, cb], 0))
        }
        (a, b) => RecurrentState::Hidden(Tensor::cat(vec![a.hidden(), b.hidden()], 0)),
    }
}

/// Recurrent layers one on top of the other, each reading the whole output sequence of the
/// one below, with optional residual connections, LayerNorm and dropout between layers.
///
/// For layer `l` with input `x_l` (`x_0` the stack's input):
///
/// ```text
/// y_l = f_l(x_l)                                  the recurrent layer (merged if bidirectional)
/// y_l = y_l + P_l x_l   (residual; P_l = I, or a linear projection where widths differ)
/// y_l = LayerNorm(y_l)  (layer_norm, every layer but the last)
/// y_l = Dropout(y_l)    (every layer but the last)
/// x_{l+1} = y_l, with every padding step set to exactly 0
/// ```
///
/// With lengths every layer runs each sequence over its own length only (the backward
/// direction starts at its last valid step), and padding outputs stay exactly 0 after the
/// residual sum and the norm too.
///
/// ```rust
/// use burn::tensor::{Device, Tensor};
/// use recurrent_zoo::{RecurrentKind, RecurrentStackConfig};
///
/// let device = Device::flex();
/// let stack = RecurrentStackConfig::uniform(RecurrentKind::Lstm, 8, 16, 3)
///     .with_residual(true)
///     .with_layer_norm(true)
///     .init(&device);
/// let (out, state) = stack.forward(Tensor::<3>::ones([2, 5, 8], &device), None);
/// assert_eq!(out.dims(), [2, 5, 16]);
/// assert_eq!(state.0.len(), 3);
/// ```
///
/// Weights: layer `k` under `layers.k.` (a bidirectional one under `layers.k.forward.` and
/// `layers.k.backward.`), residual projections under `projections.k.`, norms under
/// `norms.k.`.
#[derive(Module, Debug)]
pub struct RecurrentStack {
    /// The recurrent layers.
    pub layers: Vec<StackLayer>,
    /// Residual projections of layers whose input and output widths differ.
    pub projections: Vec<Option<Linear>>,
    /// LayerNorm after each layer but the last, when configured.
    pub norms: Vec<Option<LayerNorm>>,
    /// Dropout between layers.
    pub dropout: Dropout,
    /// Whether each layer's input is added to its output.
    pub residual: bool,
}

impl RecurrentStack {
    /// Runs the stack from `state` (zeros when `None`).
    ///
    /// `input`: `[batch, seq, d_input]` → `[batch, seq, d_output]` and the final state.
    ///
    /// # Panics
    ///
    /// On a wrong shape; [`RecurrentStack::try_forward_input`] returns the error instead.
    pub fn forward(&self, input: Tensor<3>, state: Option<StackState>) -> (Tensor<3>, StackState) {
        self.try_forward_input(SequenceInput::new(input).state_opt(state))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// As [`RecurrentStack::try_forward_input`], panicking with the error's message.
    pub fn forward_input(&self, input: SequenceInput<StackState>) -> (Tensor<3>, StackState) {
        self.try_forward_input(input)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs the stack over `input.input` (`[batch, seq, d_input]`) from `input.state`, with
    /// `input.lengths` (`[batch]`) respected.
    pub fn try_forward_input(
        &self,
        input: SequenceInput<StackState>,
    ) -> Result<(Tensor<3>, StackState)> {
        let SequenceInput {
            input: mut x,
            state,
            lengths,
        } = input;
        let n = self.layers.len();
        let states: Vec<Option<RecurrentState>> = match state {
            Some(StackState(states)) if states.len() != n => {
                return Err(ZooError::value(
                    "initial state",
                    format!("{} layer states for a stack of {n} layers", states.len()),
                ));
            }
            Some(StackState(states)) => states.into_iter().map(Some).collect(),
            None => vec![None; n],
        };
        let [_, seq, _] = x.dims();
        // Recurrent outputs are already 0 at padding; only a residual sum or a norm needs
        // the mask to put them back to 0.
        let needs_mask = self.residual || self.norms.iter().any(Option::is_some);
        let padding: Option<Tensor<3, Bool>> = lengths.as_ref().filter(|_| needs_mask).map(|l| {
            lengths_to_mask(l.clone(), seq)
                .bool_not()
                .unsqueeze_dim::<3>(2)
        });
        let mut finals = Vec::with_capacity(n);
        for (k, (layer, state)) in self.layers.iter().zip(states).enumerate() {
            let (mut y, last) = match layer {
                StackLayer::Unidirectional(l) => {
                    let input = SequenceInput {
                        input: x.clone(),
                        state,
                        lengths: lengths.clone(),
                    };
                    l.try_forward_input(input)?
                }
                StackLayer::Bidirectional(l) => {
                    let input = SequenceInput {
                        input: x.clone(),
                        state: state.map(split_dirs),
                        lengths: lengths.clone(),
                    };
                    let out = l.try_forward_input(input)?;
                    let merged = out.output.expect("a stack never merges with `none`");
                    (merged, join_dirs(out.state_forward, out.state_backward))
                }
            };
            if self.residual {
                y = y + match &self.projections[k] {
                    Some(p) => p.forward(x),
                    None => x,
                };
            }
            if let Some(norm) = &self.norms[k] {
                y = norm.forward(y);
            }
            if k + 1 < n {
                y = self.dropout.forward(y);
            }
            if let Some(pad) = &padding {
                let [b, s, d] = y.dims();
                y = y.mask_fill(pad.clone().expand([b, s, d]), 0.0);
            }
            finals.push(last);
            x = y;
        }
        Ok((x, StackState(finals)))
    }

    /// Size of the input features.
    pub fn d_input(&self) -> usize {
        match &self.layers[0] {
            StackLayer::Unidirectional(l) => l.d_input(),
            StackLayer::Bidirectional(l) => l.forward.d_input(),
        }
    }

    /// Size of each output step.
    pub fn d_output(&self) -> usize {
        self.layers.last().map_or(0, StackLayer::d_output)
    }

    /// The last layer's final hidden state, `[batch, d_output]`: for a unidirectional layer
    /// each sequence's output at its last valid step; for a bidirectional one the merge of
    /// that (forward) and the backward direction's output at step 0 (Keras'
    /// `return_sequences=False`).
    pub fn last_hidden(&self, state: &StackState) -> Tensor<2> {
        let (Some(layer), Some(last)) = (self.layers.last(), state.0.last()) else {
            panic!("a stack has at least one layer");
        };
        let h = last.hidden(); // [dirs, batch, d]
        let [dirs, batch, d] = h.dims();
        debug_assert_eq!(dirs, layer.dirs());
        match layer {
            StackLayer::Unidirectional(_) => h.reshape([batch, d]),
            StackLayer::Bidirectional(l) => l.merge.merge(
                h.clone().narrow(0, 0, 1).reshape([batch, d]),
                h.narrow(0, 1, 1).reshape([batch, d]),
            ),
        }
    }
}

impl PytorchWeights for StackLayer {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        match self {
            Self::Unidirectional(l) => l.export(prefix, what),
            Self::Bidirectional(l) => l.export(prefix, what),
        }
    }

    fn load(self, dict: &StateDict, prefix: &str) -> Result<Self> {
        Ok(match self {
            Self::Unidirectional(l) => Self::Unidirectional(l.load(dict, prefix)?),
            Self::Bidirectional(l) => Self::Bidirectional(l.load(dict, prefix)?),
        })
    }
}

impl PytorchWeights for RecurrentStack {
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        let mut dict = self.layers.export(&child(prefix, "layers"), what);
        for (k, p) in self.projections.iter().enumerate() {
            dict.extend(p.export(&format!("{prefix}projections.{k}."), what));
        }
        for (k, n) in self.norms.iter().enumerate() {
            dict.extend(n.export(&format!("{prefix}norms.{k}."), what));
        }
        dict
    }

    fn load(mut self, dict: &StateDict, prefix: &str) -> Result<Self> {
        self.layers = self.layers.load(dict, &child(prefix, "layers"))?;
        self.projections = self
            .projections
            .into_iter()
            .enumerate()
            .map(|(k, p)| p.load(dict, &format!("{prefix}projections.{k}.")))
            .collect::<Result<_>>()?;
        self.norms = self
            .norms
            .into_iter()
            .enumerate()
            .map(|(k, n)| n.load(dict, &format!("{prefix}norms.{k}.")))
            .collect::<Result<_>>()?;
        Ok(self)
    }
}
