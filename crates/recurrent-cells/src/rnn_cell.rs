//! The Elman RNN cell: `h_t = act(x_t W_ih + b_ih + h_{t-1} W_hh + b_hh)`.

use burn::config::Config;
use burn::module::Module;
use burn::nn::Initializer;
use burn::tensor::activation::relu;

use crate::activation::tanh;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::cell::RecurrentCell;
use crate::gates::{FusedGates, GateOrder};

/// The nonlinearity of a simple RNN (PyTorch's `nonlinearity`, Keras' `activation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum RnnActivation {
    /// `tanh` (the default in PyTorch and Keras).
    #[default]
    Tanh,
    /// `relu`.
    Relu,
}

impl RnnActivation {
    fn code(self) -> usize {
        match self {
            Self::Tanh => 0,
            Self::Relu => 1,
        }
    }

    fn from_code(code: usize) -> Self {
        if code == 1 { Self::Relu } else { Self::Tanh }
    }
}

/// Configuration of an [`RnnCell`].
#[derive(Config, Debug)]
pub struct RnnCellConfig {
    /// Size of the input features.
    pub d_input: usize,
    /// Size of the hidden state.
    pub d_hidden: usize,
    /// The nonlinearity.
    #[config(default = "RnnActivation::Tanh")]
    pub activation: RnnActivation,
    /// Whether the cell has biases `b_ih` and `b_hh`.
    #[config(default = true)]
    pub bias: bool,
    /// Weight initializer; `None` is PyTorch's `U(-1/sqrt(d_hidden), 1/sqrt(d_hidden))`.
    #[config(default = "None")]
    pub initializer: Option<Initializer>,
}

impl RnnCellConfig {
    /// Builds the cell on `device`.
    pub fn init(&self, device: &Device) -> RnnCell {
        RnnCell {
            gates: FusedGates::new(
                self.d_input,
                self.d_hidden,
                1,
                self.bias,
                self.initializer.as_ref(),
                device,
            ),
            activation: self.activation.code(),
        }
    }
}

/// A simple (Elman) RNN cell with a tanh or relu nonlinearity.
#[derive(Module, Debug)]
pub struct RnnCell {
    /// Fused weights (one gate).
    pub gates: FusedGates,
    /// The nonlinearity, as a code: 0 for tanh, 1 for relu (see [`RnnCell::activation`]).
    activation: usize,
}

impl RnnCell {
    /// The cell's nonlinearity.
    pub fn activation(&self) -> RnnActivation {
        RnnActivation::from_code(self.activation)
    }
}

impl RecurrentCell for RnnCell {
    type State = Tensor<2>;
    const GATE_ORDER: GateOrder = GateOrder(&[0]);

    fn gates(&self) -> &FusedGates {
        &self.gates
    }

    fn with_gates(mut self, gates: FusedGates) -> Self {
        self.gates = gates;
        self
    }

    fn fused_kind(&self) -> Option<crate::fused::CellKind> {
        Some(crate::fused::CellKind::Rnn {
            relu: self.activation() == RnnActivation::Relu,
        })
    }

    fn project_input<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        self.gates.project(input, true)
    }

    /// `h_t = act(projected + h_{t-1} W_hh)`, `[batch, d_hidden]`.
    fn step_projected(&self, projected: Tensor<2>, state: Tensor<2>) -> Tensor<2> {
        let hidden = state.matmul(self.gates.weight_hh.val());
        let is_relu = self.activation() == RnnActivation::Relu;
        if let Some(next) = crate::fused::gpu_rnn_gates(&projected, &hidden, is_relu) {
            return next;
        }
        let pre = projected + hidden;
        match self.activation() {
            RnnActivation::Tanh => tanh(pre),
            RnnActivation::Relu => relu(pre),
        }
    }
}
