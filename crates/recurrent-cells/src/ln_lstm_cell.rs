//! The layer-normalised LSTM cell of Ba, Kiros & Hinton (2016), "Layer Normalization", §6.
//!
//! ```text
//! i, f, g, o = split(LN_ih(x_t W_ih) + LN_hh(h_{t-1} W_hh) + b_ih + b_hh)
//! c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
//! h_t = sigmoid(o) * tanh(LN_c(c_t))
//! ```
//!
//! Each `LN` normalises over its whole vector (all four gate blocks for `LN_ih` and `LN_hh`,
//! the `d_hidden` units for `LN_c`) with a learned gain and bias, as in the paper's
//! equations. Normalising the two projections separately keeps the recurrence well scaled
//! whatever the input's magnitude; normalising the cell before the output `tanh` keeps `h`
//! out of saturation. PyTorch has no such cell: its weights are named like PyTorch's LSTM
//! (`weight_ih_l0`, ...) plus `ln_ih_l0.weight`, `ln_hh_l0.bias`, `ln_c_l0.weight`, ...
//! (see [`crate::LnLstm`]).

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Initializer, LayerNorm, LayerNormConfig};
use burn::tensor::{Device, Tensor};

use crate::activation::tanh;
use crate::cell::RecurrentCell;
use crate::gates::{FusedGates, GateOrder};
use crate::lstm_cell::{LstmState, gate_update};

/// Configuration of an [`LnLstmCell`].
#[derive(Config, Debug)]
pub struct LnLstmCellConfig {
    /// Size of the input features.
    pub d_input: usize,
    /// Size of the hidden state.
    pub d_hidden: usize,
    /// Whether the cell has biases `b_ih` and `b_hh` (besides the layer norms' own).
    #[config(default = true)]
    pub bias: bool,
    /// The layer norms' epsilon.
    #[config(default = 1e-5)]
    pub epsilon: f64,
    /// Weight initializer; `None` is PyTorch's LSTM `U(-1/sqrt(d_hidden), 1/sqrt(d_hidden))`.
    /// The layer norms start at gain 1 and bias 0.
    #[config(default = "None")]
    pub initializer: Option<Initializer>,
}

impl LnLstmCellConfig {
    /// Builds the cell on `device`.
    pub fn init(&self, device: &Device) -> LnLstmCell {
        let width = 4 * self.d_hidden;
        let norm = |d: usize| {
            LayerNormConfig::new(d)
                .with_epsilon(self.epsilon)
                .init(device)
        };
        LnLstmCell {
            gates: FusedGates::new(
                self.d_input,
                self.d_hidden,
                4,
                self.bias,
                self.initializer.as_ref(),
                device,
            ),
            ln_ih: norm(width),
            ln_hh: norm(width),
            ln_c: norm(self.d_hidden),
        }
    }
}

/// A layer-normalised LSTM cell; steps like [`crate::LstmCell`] and carries the same
/// [`LstmState`].
#[derive(Module, Debug)]
pub struct LnLstmCell {
    /// Fused weights, gate blocks `i, f, o, g` (as [`crate::LstmCell`]).
    pub gates: FusedGates,
    /// Layer norm of the input projection `x W_ih`, over `4 * d_hidden` (blocks `i, f, o, g`).
    pub ln_ih: LayerNorm,
    /// Layer norm of the hidden projection `h W_hh`, over `4 * d_hidden` (blocks `i, f, o, g`).
    pub ln_hh: LayerNorm,
    /// Layer norm of the cell state before the output `tanh`, over `d_hidden`.
    pub ln_c: LayerNorm,
}

impl RecurrentCell for LnLstmCell {
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

    /// `LN_ih(x W_ih) + b_ih + b_hh`: `input: [..., d_input]` → `[..., 4 * d_hidden]`.
    fn project_input<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        let projected = input.matmul(self.gates.weight_ih.val().unsqueeze::<D>());
        let mut out = self.ln_ih.forward(projected);
        for bias in [&self.gates.bias_ih, &self.gates.bias_hh]
            .into_iter()
            .flatten()
        {
            out = out + bias.val().unsqueeze::<D>();
        }
        out
    }

    fn step_projected(&self, projected: Tensor<2>, state: LstmState) -> LstmState {
        let hidden = self
            .ln_hh
            .forward(state.hidden.matmul(self.gates.weight_hh.val()));
        let (output_gate, cell) = gate_update(projected + hidden, state.cell, self.gates.d_hidden);
        let hidden = output_gate * tanh(self.ln_c.forward(cell.clone()));
        LstmState { hidden, cell }
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Tensor, TensorData};

    use super::*;
    use crate::cell::RecurrentCell;

    fn values(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_into_vec_as::<f32>().unwrap()
    }

    #[test]
    fn one_step_matches_the_hand_computed_formula() {
        // d_input = 1, d_hidden = 1, no biases, gains 1 and norm biases 0 (the initial
        // values). Weights, in the internal block order i, f, o, g:
        //   W_ih = [1, 2, 3, 4], W_hh = [0.5, -0.5, 1, -1]; x = 1, h = 0.5, c = 2.
        // x W_ih = [1, 2, 3, 4]: mean 2.5, variance 1.25, so
        //   LN_ih = ([1, 2, 3, 4] - 2.5) / sqrt(1.25 + 1e-5)
        //         = [-1.341635, -0.447212, 0.447212, 1.341635]
        // h W_hh = [0.25, -0.25, 0.5, -0.5]: mean 0, variance 0.15625, so
        //   LN_hh = [0.632435, -0.632435, 1.264871, -1.264871]
        // pre = LN_ih + LN_hh = [-0.709200, -1.079647, 1.712082, 0.076765]
        // i = sigmoid(-0.709200) = 0.329776, f = sigmoid(-1.079647) = 0.253573,
        // o = sigmoid(1.712082) = 0.847106, g = tanh(0.076765) = 0.076614
        // c' = f * c + i * g = 0.507146 + 0.025265 = 0.532411
        // LN_c over a single unit is (c' - c') / sqrt(0 + eps) = 0, so h' = o * tanh(0) = 0.
        let device = Device::flex();
        let mut cell = LnLstmCellConfig::new(1, 1).with_bias(false).init(&device);
        cell.gates.weight_ih = burn::module::Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [1, 4]),
            &device,
        ));
        cell.gates.weight_hh = burn::module::Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![0.5f32, -0.5, 1.0, -1.0], [1, 4]),
            &device,
        ));
        let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32], [1, 1]), &device);
        let state = LstmState::new(
            Tensor::from_data(TensorData::new(vec![0.5f32], [1, 1]), &device),
            Tensor::from_data(TensorData::new(vec![2.0f32], [1, 1]), &device),
        );
        let next = cell.step(x, state);
        let c = values(next.cell)[0];
        let h = values(next.hidden)[0];
        assert!((c - 0.532411).abs() < 2e-6, "c' = {c}");
        assert!(h.abs() < 1e-6, "h' = {h}");
    }

    #[test]
    fn random_step_matches_a_host_computation() {
        // Random weights and biases, two hidden units (so LN_c is not degenerate), zero
        // state: the step computed here on the host, element by element, from the formula.
        let device = Device::flex();
        let cell = LnLstmCellConfig::new(3, 2).init(&device);
        let x = [0.3f32, -0.2, 0.9];
        let host = |t: Tensor<2>| values(t);
        let w = host(cell.gates.weight_ih.val()); // [3, 8], blocks i, f, o, g
        let b_ih = cell.gates.bias_ih.as_ref().unwrap().val().into_data();
        let b_hh = cell.gates.bias_hh.as_ref().unwrap().val().into_data();
        let b: Vec<f32> = b_ih
            .try_to_vec::<f32>()
            .unwrap()
            .iter()
            .zip(b_hh.try_to_vec::<f32>().unwrap())
            .map(|(a, b)| a + b)
            .collect();
        let norm = |v: &[f32]| -> Vec<f32> {
            let n = v.len() as f32;
            let mean = v.iter().sum::<f32>() / n;
            let var = v.iter().map(|a| (a - mean).powi(2)).sum::<f32>() / n;
            v.iter().map(|a| (a - mean) / (var + 1e-5).sqrt()).collect()
        };
        let proj: Vec<f32> = (0..8)
            .map(|j| (0..3).map(|k| x[k] * w[k * 8 + j]).sum())
            .collect();
        // h = 0: h W_hh = 0 and its layer norm is 0.
        let pre: Vec<f32> = norm(&proj).iter().zip(&b).map(|(p, b)| p + b).collect();
        let sig = |v: f32| 1.0 / (1.0 + (-v).exp());
        let c: Vec<f32> = (0..2).map(|u| sig(pre[u]) * pre[6 + u].tanh()).collect();
        let c_norm = norm(&c);
        let h: Vec<f32> = (0..2).map(|u| sig(pre[4 + u]) * c_norm[u].tanh()).collect();

        let input = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [1, 3]), &device);
        let next = cell.step(input, cell.zero_state(1, &device));
        for (got, want) in host(next.cell).iter().zip(&c) {
            assert!((got - want).abs() < 1e-5, "c: {got} vs {want}");
        }
        for (got, want) in host(next.hidden).iter().zip(&h) {
            assert!((got - want).abs() < 1e-5, "h: {got} vs {want}");
        }
    }
}
