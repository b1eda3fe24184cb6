//! The LSTM cell (Hochreiter & Schmidhuber 1997, with a forget gate), as PyTorch computes it.
//!
//! ```text
//! i, f, g, o = split(x_t W_ih + b_ih + h_{t-1} W_hh + b_hh)
//! c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
//! h_t = sigmoid(o) * tanh(c_t)
//! ```
//! The fused weights hold the gates in the order `i, f, o, g` (PyTorch's is `i, f, g, o`) so
//! that one sigmoid covers the three sigmoid gates.

use burn::config::Config;
use burn::module::Module;
use burn::nn::Initializer;
use burn::tensor::{Device, Tensor};

use crate::activation::{sigmoid, tanh};
use crate::cell::{CellState, RecurrentCell};
use crate::gates::{FusedGates, GateOrder};

/// Configuration of an [`LstmCell`].
#[derive(Config, Debug)]
pub struct LstmCellConfig {
    /// Size of the input features.
    pub d_input: usize,
    /// Size of the hidden state.
    pub d_hidden: usize,
    /// Whether the cell has biases `b_ih` and `b_hh`.
    #[config(default = true)]
    pub bias: bool,
    /// Weight initializer; `None` is PyTorch's `U(-1/sqrt(d_hidden), 1/sqrt(d_hidden))`.
    #[config(default = "None")]
    pub initializer: Option<Initializer>,
}

impl LstmCellConfig {
    /// Builds the cell on `device`.
    pub fn init(&self, device: &Device) -> LstmCell {
        LstmCell {
            gates: FusedGates::new(
                self.d_input,
                self.d_hidden,
                4,
                self.bias,
                self.initializer.as_ref(),
                device,
            ),
        }
    }
}

/// An LSTM cell.
#[derive(Module, Debug)]
pub struct LstmCell {
    /// Fused weights, gate blocks `i, f, o, g`.
    pub gates: FusedGates,
}

/// The state of an LSTM cell: hidden state and cell state, each `[batch, d_hidden]`.
#[derive(Debug, Clone)]
pub struct LstmState {
    /// Hidden state `h`.
    pub hidden: Tensor<2>,
    /// Cell state `c`.
    pub cell: Tensor<2>,
}

impl LstmState {
    /// A state from its hidden and cell tensors.
    pub fn new(hidden: Tensor<2>, cell: Tensor<2>) -> Self {
        Self { hidden, cell }
    }
}

impl CellState for LstmState {
    const N_PARTS: usize = 2;

    fn hidden(&self) -> Tensor<2> {
        self.hidden.clone()
    }

    fn into_parts(self) -> Vec<Tensor<2>> {
        vec![self.hidden, self.cell]
    }

    fn from_parts(parts: Vec<Tensor<2>>) -> Self {
        let [hidden, cell]: [Tensor<2>; 2] = parts
            .try_into()
            .unwrap_or_else(|p: Vec<_>| panic!("an LSTM state has 2 parts, got {}", p.len()));
        Self { hidden, cell }
    }
}

impl RecurrentCell for LstmCell {
    type State = LstmState;
    // Internal block k holds PyTorch's block ORDER[k]: i, f, o, g.
    const GATE_ORDER: GateOrder = GateOrder(&[0, 1, 3, 2]);

    fn gates(&self) -> &FusedGates {
        &self.gates
    }

    fn with_gates(mut self, gates: FusedGates) -> Self {
        self.gates = gates;
        self
    }

    fn fused_kind(&self) -> Option<crate::fused::CellKind> {
        Some(crate::fused::CellKind::Lstm)
    }

    fn project_input<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        self.gates.project(input, true)
    }

    fn step_projected(&self, projected: Tensor<2>, state: LstmState) -> LstmState {
        let pre = projected + state.hidden.matmul(self.gates.weight_hh.val());
        if let Some((hidden, cell)) = crate::fused::gpu_lstm_gates(&pre, &state.cell) {
            return LstmState { hidden, cell };
        }
        let (output_gate, cell) = gate_update(pre, state.cell, self.gates.d_hidden);
        let hidden = output_gate * tanh(cell.clone());
        LstmState { hidden, cell }
    }
}

/// The gate arithmetic LSTM cells share: from the pre-activations `pre` (`[batch, 4 *
/// d_hidden]`, blocks `i, f, o, g`) and the previous cell state, the output gate
/// `sigmoid(o)` and the new cell state `sigmoid(f) * c + sigmoid(i) * tanh(g)`.
pub(crate) fn gate_update(pre: Tensor<2>, cell: Tensor<2>, h: usize) -> (Tensor<2>, Tensor<2>) {
    let sig = sigmoid(pre.clone().narrow(1, 0, 3 * h));
    let candidate = tanh(pre.narrow(1, 3 * h, h));
    let input_gate = sig.clone().narrow(1, 0, h);
    let forget_gate = sig.clone().narrow(1, h, h);
    let output_gate = sig.narrow(1, 2 * h, h);
    (output_gate, forget_gate * cell + input_gate * candidate)
}
