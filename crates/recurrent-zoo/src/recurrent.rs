//! Any recurrent layer behind one module: [`Recurrent`] (`Rnn | Lstm | Gru | LnLstm`), built
//! from one [`RecurrentConfig`], with one state type ([`RecurrentState`]) for `h` and
//! `(h, c)`.

use std::fmt;
use std::str::FromStr;

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};
use recurrent_cells::{
    Gru, GruConfig, LnLstm, LnLstmConfig, Lstm, LstmConfig, RecurrentLayer, Rnn, RnnActivation,
    RnnConfig, SequenceInput, StateDict,
};
use serde::{Deserialize, Serialize};

use crate::error::{Result, ZooError};
use crate::weights::{Export, PytorchWeights};

/// Which recurrent layer: the cell of every layer and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecurrentKind {
    /// Elman RNN (Keras' `SimpleRNN`, `torch.nn.RNN`), tanh or relu
    /// ([`RecurrentConfig::activation`]).
    Rnn,
    /// Long short-term memory (`torch.nn.LSTM`).
    Lstm,
    /// Gated recurrent unit (`torch.nn.GRU`: the reset gate after the hidden matmul).
    Gru,
    /// Layer-normalised LSTM (Ba, Kiros & Hinton 2016; no PyTorch counterpart).
    LnLstm,
}

impl RecurrentKind {
    /// Every kind, in the order `rnn, lstm, gru, ln-lstm`.
    pub const ALL: [RecurrentKind; 4] = [Self::Rnn, Self::Lstm, Self::Gru, Self::LnLstm];

    /// Whether the state has a cell part `c` (LSTM and LayerNorm LSTM).
    pub fn has_cell_state(self) -> bool {
        matches!(self, Self::Lstm | Self::LnLstm)
    }

    /// The name used on command lines and in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rnn => "rnn",
            Self::Lstm => "lstm",
            Self::Gru => "gru",
            Self::LnLstm => "ln-lstm",
        }
    }
}

impl fmt::Display for RecurrentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RecurrentKind {
    type Err = ZooError;

    /// `rnn` (or `simplernn`), `lstm`, `gru`, `ln-lstm` (or `lnlstm`, `layernorm-lstm`),
    /// in any case.
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "rnn" | "simplernn" | "simple-rnn" => Ok(Self::Rnn),
            "lstm" => Ok(Self::Lstm),
            "gru" => Ok(Self::Gru),
            "ln-lstm" | "lnlstm" | "layernorm-lstm" => Ok(Self::LnLstm),
            other => Err(ZooError::config(
                "cell",
                format!("{other:?} (expected rnn, lstm, gru or ln-lstm)"),
            )),
        }
    }
}

/// Configuration of a [`Recurrent`] layer: PyTorch's `nn.RNN/LSTM/GRU` arguments plus the
/// options PyTorch lacks (recurrent dropout, the layer-normalised LSTM). Inputs are
/// batch-first.
#[derive(Config, Debug, PartialEq)]
pub struct RecurrentConfig {
    /// The cell.
    pub kind: RecurrentKind,
    /// Size of the input features.
    pub d_input: usize,
    /// Size of the hidden state of each direction.
    pub d_hidden: usize,
    /// Number of stacked layers (PyTorch's `num_layers`).
    #[config(default = 1)]
    pub n_layers: usize,
    /// Whether each layer runs both ways and concatenates the two outputs (PyTorch's
    /// `bidirectional`; for Keras' other merge modes see [`crate::Bidirectional`]).
    #[config(default = false)]
    pub bidirectional: bool,
    /// Dropout on the outputs of every layer but the last, in training only.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Variational recurrent dropout on `h_{t-1}` (Keras' `recurrent_dropout`), in training
    /// only.
    #[config(default = 0.0)]
    pub recurrent_dropout: f64,
    /// The nonlinearity of [`RecurrentKind::Rnn`] (ignored by the gated cells).
    #[config(default = "RnnActivation::Tanh")]
    pub activation: RnnActivation,
    /// Whether the cells have biases.
    #[config(default = true)]
    pub bias: bool,
    /// Whether a unidirectional layer runs from the last step to the first (Keras'
    /// `go_backwards`, with outputs kept aligned to their input steps).
    #[config(default = false)]
    pub reverse: bool,
}

impl RecurrentConfig {
    /// Builds the layer on `device`.
    ///
    /// # Panics
    ///
    /// On an invalid configuration; [`RecurrentConfig::try_init`] returns the error.
    pub fn init(&self, device: &Device) -> Recurrent {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the layer on `device`, or says which setting is wrong.
    pub fn try_init(&self, device: &Device) -> Result<Recurrent> {
        // The options every layer config shares, set the same way on each.
        macro_rules! build {
            ($config:expr) => {
                $config
                    .with_n_layers(self.n_layers)
                    .with_bidirectional(self.bidirectional)
                    .with_dropout(self.dropout)
                    .with_recurrent_dropout(self.recurrent_dropout)
                    .with_bias(self.bias)
                    .with_reverse(self.reverse)
                    .try_init(device)?
            };
        }
        let (d_input, d_hidden) = (self.d_input, self.d_hidden);
        Ok(match self.kind {
            RecurrentKind::Rnn => Recurrent::Rnn(build!(
                RnnConfig::new(d_input, d_hidden).with_activation(self.activation)
            )),
            RecurrentKind::Lstm => Recurrent::Lstm(build!(LstmConfig::new(d_input, d_hidden))),
            RecurrentKind::Gru => Recurrent::Gru(build!(GruConfig::new(d_input, d_hidden))),
            RecurrentKind::LnLstm => {
                Recurrent::LnLstm(build!(LnLstmConfig::new(d_input, d_hidden)))
            }
        })
    }

    /// Size of each output step: `dirs * d_hidden`.
    pub fn d_output(&self) -> usize {
        if self.bidirectional {
            2 * self.d_hidden
        } else {
            self.d_hidden
        }
    }
}

/// The state of a recurrent layer, in PyTorch's layout: each part
/// `[n_layers * dirs, batch, d_hidden]`.
#[derive(Debug, Clone)]
// Both variants are tensor handles; boxing the larger would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum RecurrentState {
    /// `h` (RNN, GRU).
    Hidden(Tensor<3>),
    /// `(h, c)` (LSTM, LayerNorm LSTM).
    HiddenCell(Tensor<3>, Tensor<3>),
}

impl RecurrentState {
    /// The hidden state `h`, `[n_layers * dirs, batch, d_hidden]`.
    pub fn hidden(&self) -> Tensor<3> {
        match self {
            Self::Hidden(h) | Self::HiddenCell(h, _) => h.clone(),
        }
    }

    /// The cell state `c` of an LSTM.
    pub fn cell(&self) -> Option<Tensor<3>> {
        match self {
            Self::Hidden(_) => None,
            Self::HiddenCell(_, c) => Some(c.clone()),
        }
    }

    /// The rows `index` (`[k]`) of the batch: every part becomes `[n, k, d_hidden]`. Beam
    /// search reorders hypotheses this way.
    pub fn select_batch(self, index: Tensor<1, Int>) -> Self {
        match self {
            Self::Hidden(h) => Self::Hidden(h.select(1, index)),
            Self::HiddenCell(h, c) => {
                Self::HiddenCell(h.select(1, index.clone()), c.select(1, index))
            }
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Hidden(_) => "h",
            Self::HiddenCell(..) => "(h, c)",
        }
    }

    fn into_hidden(self, kind: RecurrentKind) -> Result<Tensor<3>> {
        match self {
            Self::Hidden(h) => Ok(h),
            other => Err(mismatch(kind, &other)),
        }
    }

    fn into_hidden_cell(self, kind: RecurrentKind) -> Result<(Tensor<3>, Tensor<3>)> {
        match self {
            Self::HiddenCell(h, c) => Ok((h, c)),
            other => Err(mismatch(kind, &other)),
        }
    }
}

fn mismatch(kind: RecurrentKind, state: &RecurrentState) -> ZooError {
    let expected = if kind.has_cell_state() { "(h, c)" } else { "h" };
    ZooError::value(
        "initial state",
        format!(
            "a {kind} layer carries {expected}, but the state given is {}",
            state.name()
        ),
    )
}

/// The sizes of a recurrent layer.
struct LayerShape {
    d_input: usize,
    d_hidden: usize,
    dirs: usize,
    n_layers: usize,
}

/// Any recurrent layer: one module for the four cells, so that models choose their cell by
/// configuration instead of holding one optional field per kind.
///
/// ```rust
/// use burn::tensor::{Device, Tensor};
/// use recurrent_zoo::{RecurrentConfig, RecurrentKind, RecurrentState};
///
/// let device = Device::flex();
/// let gru = RecurrentConfig::new(RecurrentKind::Gru, 8, 16).with_n_layers(2).init(&device);
/// let x = Tensor::<3>::zeros([4, 10, 8], &device); // [batch, seq, d_input]
/// let (output, state) = gru.forward(x, None);
/// assert_eq!(output.dims(), [4, 10, 16]);
/// assert!(matches!(state, RecurrentState::Hidden(h) if h.dims() == [2, 4, 16]));
/// ```
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Recurrent {
    /// Elman RNN.
    Rnn(Rnn),
    /// LSTM.
    Lstm(Lstm),
    /// GRU.
    Gru(Gru),
    /// Layer-normalised LSTM.
    LnLstm(LnLstm),
}

impl Recurrent {
    /// Runs the layer from `state` (zeros when `None`).
    ///
    /// - `input`: `[batch, seq, d_input]`
    /// - `state`: each part `[n_layers * dirs, batch, d_hidden]`
    ///
    /// Returns every output of the last layer, `[batch, seq, dirs * d_hidden]`, and the
    /// final state.
    ///
    /// # Panics
    ///
    /// On a wrong shape or a state of the wrong kind; [`Recurrent::try_forward_input`]
    /// returns the error instead.
    pub fn forward(
        &self,
        input: Tensor<3>,
        state: Option<RecurrentState>,
    ) -> (Tensor<3>, RecurrentState) {
        self.forward_input(SequenceInput::new(input).state_opt(state))
    }

    /// As [`Recurrent::try_forward_input`], panicking with the error's message.
    pub fn forward_input(
        &self,
        input: SequenceInput<RecurrentState>,
    ) -> (Tensor<3>, RecurrentState) {
        self.try_forward_input(input)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs the layer over `input.input` (`[batch, seq, d_input]`) from `input.state`, with
    /// `input.lengths` (`[batch]`) respected as PyTorch's packed sequences: outputs past a
    /// length are exactly 0, the final state is each sequence's at its last valid step, and
    /// the reverse direction starts there.
    ///
    /// Errors: a wrong shape, bad lengths, or a state of the wrong kind.
    pub fn try_forward_input(
        &self,
        input: SequenceInput<RecurrentState>,
    ) -> Result<(Tensor<3>, RecurrentState)> {
        let kind = self.kind();
        let SequenceInput {
            input,
            state,
            lengths,
        } = input;
        fn with<S>(
            input: Tensor<3>,
            lengths: Option<Tensor<1, Int>>,
            state: Option<S>,
        ) -> SequenceInput<S> {
            SequenceInput {
                input,
                state,
                lengths,
            }
        }
        Ok(match self {
            Self::Rnn(l) => {
                let state = state.map(|s| s.into_hidden(kind)).transpose()?;
                let (out, h) = l.try_forward_input(with(input, lengths, state))?;
                (out, RecurrentState::Hidden(h))
            }
            Self::Gru(l) => {
                let state = state.map(|s| s.into_hidden(kind)).transpose()?;
                let (out, h) = l.try_forward_input(with(input, lengths, state))?;
                (out, RecurrentState::Hidden(h))
            }
            Self::Lstm(l) => {
                let state = state.map(|s| s.into_hidden_cell(kind)).transpose()?;
                let (out, (h, c)) = l.try_forward_input(with(input, lengths, state))?;
                (out, RecurrentState::HiddenCell(h, c))
            }
            Self::LnLstm(l) => {
                let state = state.map(|s| s.into_hidden_cell(kind)).transpose()?;
                let (out, (h, c)) = l.try_forward_input(with(input, lengths, state))?;
                (out, RecurrentState::HiddenCell(h, c))
            }
        })
    }

    /// The cell.
    pub fn kind(&self) -> RecurrentKind {
        match self {
            Self::Rnn(_) => RecurrentKind::Rnn,
            Self::Lstm(_) => RecurrentKind::Lstm,
            Self::Gru(_) => RecurrentKind::Gru,
            Self::LnLstm(_) => RecurrentKind::LnLstm,
        }
    }

    /// Size of the input features.
    pub fn d_input(&self) -> usize {
        self.shape().d_input
    }

    /// Size of each direction's hidden state.
    pub fn d_hidden(&self) -> usize {
        self.shape().d_hidden
    }

    /// Number of directions (1 or 2).
    pub fn dirs(&self) -> usize {
        self.shape().dirs
    }

    /// Number of stacked layers.
    pub fn n_layers(&self) -> usize {
        self.shape().n_layers
    }

    /// Size of each output step: `dirs * d_hidden`.
    pub fn d_output(&self) -> usize {
        self.dirs() * self.d_hidden()
    }

    fn shape(&self) -> LayerShape {
        fn of<L: RecurrentLayer>(l: &L) -> LayerShape {
            LayerShape {
                d_input: l.d_input(),
                d_hidden: l.d_hidden(),
                dirs: l.stack().dirs(),
                n_layers: l.stack().n_layers,
            }
        }
        match self {
            Self::Rnn(l) => of(l),
            Self::Lstm(l) => of(l),
            Self::Gru(l) => of(l),
            Self::LnLstm(l) => of(l),
        }
    }

    /// The zero state for `batch` sequences on `device`.
    pub fn zero_state(&self, batch: usize, device: &Device) -> RecurrentState {
        let h = Tensor::zeros(
            [self.n_layers() * self.dirs(), batch, self.d_hidden()],
            device,
        );
        if self.kind().has_cell_state() {
            RecurrentState::HiddenCell(h.clone(), h)
        } else {
            RecurrentState::Hidden(h)
        }
    }
}

impl PytorchWeights for Recurrent {
    /// PyTorch's names of `nn.RNN/LSTM/GRU` (`weight_ih_l0`, `bias_hh_l1_reverse`, ...);
    /// the LayerNorm LSTM adds its norms (see [`recurrent_cells::LnLstm`]).
    fn export(&self, prefix: &str, what: Export<'_>) -> StateDict {
        fn one<L: RecurrentLayer>(l: &L, prefix: &str, what: Export<'_>) -> StateDict {
            match what {
                Export::Values => l.state_dict(prefix),
                Export::Grads(grads) => l.pytorch_grads(grads, prefix),
            }
        }
        match self {
            Self::Rnn(l) => one(l, prefix, what),
            Self::Lstm(l) => one(l, prefix, what),
            Self::Gru(l) => one(l, prefix, what),
            Self::LnLstm(l) => one(l, prefix, what),
        }
    }

    fn load(self, dict: &StateDict, prefix: &str) -> Result<Self> {
        Ok(match self {
            Self::Rnn(l) => Self::Rnn(l.load_state_dict(dict, prefix)?),
            Self::Lstm(l) => Self::Lstm(l.load_state_dict(dict, prefix)?),
            Self::Gru(l) => Self::Gru(l.load_state_dict(dict, prefix)?),
            Self::LnLstm(l) => Self::LnLstm(l.load_state_dict(dict, prefix)?),
        })
    }
}
