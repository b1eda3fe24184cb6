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

    /// Adds `b_ih` only: `b_hh` sits inside the step, where the reset gate scales its
    /// candidate block.
    fn fused_kind(&self) -> Option<crate::fused::CellKind> {
        Some(crate::fused::CellKind::Gru {
            reset_after: self.reset_after,
        })
    }

    fn project_input<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        self.gates.project(input, false)
    }

    fn step_projected(&self, projected: Tensor<2>, state: Tensor<2>) -> Tensor<2> {
        self.step_with_hidden(projected, state.clone(), state)
    }

    /// Masks `h_{t-1}` in the hidden matmuls only; `z * h_{t-1}` keeps the unmasked state,
    /// as Keras' GRU does with `recurrent_dropout`.
    fn step_projected_masked(
        &self,
        projected: Tensor<2>,
        state: Tensor<2>,
        mask: &Tensor<2>,
    ) -> Tensor<2> {
        self.step_with_hidden(projected, state.clone() * mask.clone(), state)
    }
}

impl GruCell {
    /// One step where `matmul_state` is the `h_{t-1}` the hidden matmuls see and `state` the
    /// one the update gate interpolates with (they differ under recurrent dropout).
    fn step_with_hidden(
        &self,
        projected: Tensor<2>,
        matmul_state: Tensor<2>,
        state: Tensor<2>,
    ) -> Tensor<2> {
        let h = self.gates.d_hidden;
        let w_hh = self.gates.weight_hh.val();
        let b_hh = self
            .gates
            .bias_hh
            .as_ref()
            .map(|b| b.val().unsqueeze_dim::<2>(0));
        let (update, candidate) = if self.reset_after {
            // hidden = h W_hh + b_hh, all three blocks: [batch, 3 * d_hidden].
            let mut hidden = matmul_state.matmul(w_hh);
            if let Some(b) = b_hh {
                hidden = hidden + b;
            }
            if let Some(next) = crate::fused::gpu_gru_gates(&projected, &hidden, &state) {
                return next;
            }
            let rz =
                sigmoid(projected.clone().narrow(1, 0, 2 * h) + hidden.clone().narrow(1, 0, 2 * h));
            let reset = rz.clone().narrow(1, 0, h);
            let update = rz.narrow(1, h, h);
            let candidate = projected.narrow(1, 2 * h, h) + reset * hidden.narrow(1, 2 * h, h);
            (update, candidate)
        } else {
            let mut hidden_rz = matmul_state
                .clone()
                .matmul(w_hh.clone().narrow(1, 0, 2 * h));
            let mut hidden_n_bias = None;
            if let Some(b) = b_hh {
                hidden_rz = hidden_rz + b.clone().narrow(1, 0, 2 * h);
                hidden_n_bias = Some(b.narrow(1, 2 * h, h));
            }
            // Through two GPU kernels where they apply, one each side of the candidate's
            // matmul; burn ops otherwise.
            let (reset_state, update) =
                match crate::fused::gpu_gru_reset_gates(&projected, &hidden_rz, &matmul_state) {
                    Some(parts) => parts,
                    None => {
                        let rz = sigmoid(projected.clone().narrow(1, 0, 2 * h) + hidden_rz);
                        let reset = rz.clone().narrow(1, 0, h);
                        (reset * matmul_state, rz.narrow(1, h, h))
                    }
                };
            let mut hidden_n = reset_state.matmul(w_hh.narrow(1, 2 * h, h));
            if let Some(b) = hidden_n_bias {
                hidden_n = hidden_n + b;
            }
            if let Some(next) =
                crate::fused::gpu_gru_candidate(&projected, &hidden_n, &update, &state)
            {
                return next;
            }
            let candidate = projected.narrow(1, 2 * h, h) + hidden_n;
            (update, candidate)
        };
        let n = tanh(candidate);
        // h' = (1 - z) * n + z * h = n + z * (h - n)
        n.clone() + update * (state - n)
    }
}
