//! The GRU cell (Cho et al. 2014), in both of its formulations.
//!
//! With `reset_after = true` (PyTorch, and Keras' default `reset_after=True`):
//! ```text
//! r = sigmoid(x W_ir + b_ir + h W_hr + b_hr)
//! z = sigmoid(x W_iz + b_iz + h W_hz + b_hz)
//! n = tanh(x W_in + b_in + r * (h W_hn + b_hn))
//! h' = (1 - z) * n + z * h
//! ```
//! With `reset_after = false` (the paper, Keras `reset_after=False`), the reset gate applies
//! to the state before its matmul: `n = tanh(x W_in + b_in + (r * h) W_hn + b_hn)`.

use burn::config::Config;
use burn::module::Module;
use burn::nn::Initializer;
use burn::tensor::{Device, Tensor};

use crate::activation::{sigmoid, tanh};
use crate::cell::RecurrentCell;
use crate::gates::{FusedGates, GateOrder};

/// Configuration of a [`GruCell`].
#[derive(Config, Debug)]
pub struct GruCellConfig {
    /// Size of the input features.
    pub d_input: usize,
    /// Size of the hidden state.
    pub d_hidden: usize,
    /// Whether the cell has biases `b_ih` and `b_hh`.
    #[config(default = true)]
    pub bias: bool,
    /// Apply the reset gate after the hidden matmul (PyTorch; Keras `reset_after=True`) or
    /// before it (Cho et al. 2014; Keras `reset_after=False`).
    #[config(default = true)]
    pub reset_after: bool,
    /// Weight initializer; `None` is PyTorch's `U(-1/sqrt(d_hidden), 1/sqrt(d_hidden))`.
    #[config(default = "None")]
    pub initializer: Option<Initializer>,
}

impl GruCellConfig {
    /// Builds the cell on `device`.
    pub fn init(&self, device: &Device) -> GruCell {
        GruCell {
            gates: FusedGates::new(
                self.d_input,
                self.d_hidden,
                3,
                self.bias,
                self.initializer.as_ref(),
                device,
            ),
            reset_after: self.reset_after,
        }
    }
}

/// A GRU cell.
#[derive(Module, Debug)]
pub struct GruCell {
    /// Fused weights, gate blocks `r, z, n` (PyTorch's order).
    pub gates: FusedGates,
    /// Whether the reset gate is applied after the hidden matmul (PyTorch's formulation).
    pub reset_after: bool,
}

impl RecurrentCell for GruCell {
    type State = Tensor<2>;
    const GATE_ORDER: GateOrder = GateOrder(&[0, 1, 2]);

    fn gates(&self) -> &FusedGates {
        &self.gates
    }

    fn with_gates(mut self, gates: FusedGates) -> Self {
        self.gates = gates;
        self
    }

    /// Adds `b_ih`, and `b_hh` of the reset and update gates, to the input projection;
    /// `b_hn` stays inside the step because the reset gate scales it.
    fn project_input<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        let h = self.gates.d_hidden;
        let mut out = self.gates.project(input, false);
        if let Some(b_hh) = &self.gates.bias_hh {
            let rz = b_hh.val().narrow(0, 0, 2 * h);
            let zeros = Tensor::zeros([h], &rz.device());
            out = out + Tensor::cat(vec![rz, zeros], 0).unsqueeze::<D>();
        }
        out
    }

    fn step_projected(&self, projected: Tensor<2>, state: Tensor<2>) -> Tensor<2> {
        let h = self.gates.d_hidden;
        let w_hh = self.gates.weight_hh.val();
        let b_hn = self
            .gates
            .bias_hh
            .as_ref()
            .map(|b| b.val().narrow(0, 2 * h, h).unsqueeze_dim(0));
        let (update, candidate) = if self.reset_after {
            let hidden = state.clone().matmul(w_hh);
            let rz =
                sigmoid(projected.clone().narrow(1, 0, 2 * h) + hidden.clone().narrow(1, 0, 2 * h));
            let mut hn = hidden.narrow(1, 2 * h, h);
            if let Some(b) = b_hn {
                hn = hn + b;
            }
            let reset = rz.clone().narrow(1, 0, h);
            let update = rz.narrow(1, h, h);
            let candidate = projected.narrow(1, 2 * h, h) + reset * hn;
            (update, candidate)
        } else {
            let hidden_rz = state.clone().matmul(w_hh.clone().narrow(1, 0, 2 * h));
            let rz = sigmoid(projected.clone().narrow(1, 0, 2 * h) + hidden_rz);
            let reset = rz.clone().narrow(1, 0, h);
            let update = rz.narrow(1, h, h);
            let mut hn = (reset * state.clone()).matmul(w_hh.narrow(1, 2 * h, h));
            if let Some(b) = b_hn {
                hn = hn + b;
            }
            let candidate = projected.narrow(1, 2 * h, h) + hn;
            (update, candidate)
        };
        let n = tanh(candidate);
        // h' = (1 - z) * n + z * h = n + z * (h - n)
        n.clone() + update * (state - n)
    }
}
