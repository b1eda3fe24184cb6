//! Finite-difference gradient checks of every cell on tiny sizes.
//!
//! The loss is `sum(output * u) + sum(h_n * v)`. Each analytic gradient (autodiff) of the
//! input and of a sample of weight entries is compared with the central difference
//! `(L(w + e) - L(w - e)) / 2e`, computed in float32 with `e = 2e-3`. Inputs and weights are
//! deterministic, so a relu kink inside the difference interval would show on every run,
//! not at random.

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use common::{seeded, seeded_weights, values};
use recurrent_cells::LayerState;
use recurrent_cells::prelude::*;

const STEP: f32 = 2e-3;

fn close(analytic: f32, numeric: f32) -> bool {
    (analytic - numeric).abs() <= 2e-3 + 2e-2 * numeric.abs()
}

/// Checks the gradients of `layer` (on an autodiff device) against finite differences.
fn check<L: RecurrentLayer + Clone>(name: &str, layer: L, device: &Device) {
    let [batch, seq] = [2, 3];
    let layer = seeded_weights(layer, 7);
    let x = seeded([batch, seq, layer.d_input()], 1, device);
    let (out, state) = layer.forward_input(SequenceInput::new(x.clone()));
    let u = seeded(out.dims(), 2, device);
    let h_dims = state.into_parts()[0].dims();
    let v = seeded(h_dims, 3, device);

    let loss_of = |layer: &L, x: Tensor<3>| -> Tensor<1> {
        let (out, state) = layer.forward_input(SequenceInput::new(x));
        let h_n = state.into_parts().remove(0);
        (out * u.clone()).sum() + (h_n * v.clone()).sum()
    };
    let scalar = |t: Tensor<1>| values(&t)[0];

    let x_tracked = x.clone().require_grad();
    let grads = loss_of(&layer, x_tracked.clone()).backward();
    let grad_x = values(&x_tracked.grad(&grads).unwrap());
    let grad_w = layer.pytorch_grads(&grads, "");

    // Input gradient, every entry.
    let x_values = values(&x);
    for (i, analytic) in grad_x.iter().enumerate() {
        let shifted = |delta: f32| {
            let mut v = x_values.clone();
            v[i] += delta;
            Tensor::<3>::from_data(TensorData::new(v, x.dims()), device)
        };
        let numeric = (scalar(loss_of(&layer, shifted(STEP)))
            - scalar(loss_of(&layer, shifted(-STEP))))
            / (2.0 * STEP);
        assert!(
            close(*analytic, numeric),
            "{name} input[{i}]: autodiff {analytic}, finite difference {numeric}"
        );
    }

    // Weight gradients: a spread of entries of every tensor.
    let dict = layer.state_dict("");
    for (tensor, data) in dict.iter() {
        let w = data.try_to_vec::<f32>().unwrap();
        let analytic_all = grad_w.get(tensor).unwrap().try_to_vec::<f32>().unwrap();
        for i in (0..w.len()).step_by(w.len().div_ceil(7)) {
            let shifted = |delta: f32| {
                let mut w = w.clone();
                w[i] += delta;
                let mut d = dict.clone();
                d.insert(tensor, TensorData::new(w, data.shape().clone()));
                layer.clone().load_state_dict(&d, "").unwrap()
            };
            let numeric = (scalar(loss_of(&shifted(STEP), x.clone()))
                - scalar(loss_of(&shifted(-STEP), x.clone())))
                / (2.0 * STEP);
            let analytic = analytic_all[i];
            assert!(
                close(analytic, numeric),
                "{name} {tensor}[{i}]: autodiff {analytic}, finite difference {numeric}"
            );
        }
    }
}

#[test]
fn lstm_gradients_match_finite_differences() {
    let device = common::device().autodiff();
    check("lstm", LstmConfig::new(2, 3).init(&device), &device);
}

#[test]
fn gru_gradients_match_finite_differences_in_both_formulations() {
    let device = common::device().autodiff();
    check("gru", GruConfig::new(2, 3).init(&device), &device);
    check(
        "gru reset-before",
        GruConfig::new(2, 3).with_reset_after(false).init(&device),
        &device,
    );
}

#[test]
fn rnn_gradients_match_finite_differences() {
    let device = common::device().autodiff();
    check("rnn tanh", RnnConfig::new(2, 3).init(&device), &device);
    // relu is not differentiable at 0; no pre-activation of these fixed inputs lies within
    // STEP of it (a kink would show as a mismatch on every run).
    check(
        "rnn relu",
        RnnConfig::new(2, 3)
            .with_activation(RnnActivation::Relu)
            .init(&device),
        &device,
    );
}

#[test]
fn stacked_bidirectional_gradients_match_finite_differences() {
    let device = common::device().autodiff();
    check(
        "bi-lstm x2",
        LstmConfig::new(2, 2)
            .with_n_layers(2)
            .with_bidirectional(true)
            .init(&device),
        &device,
    );
}

#[test]
fn ln_lstm_gradients_match_finite_differences() {
    // Every weight of the layer-normalised LSTM, the layer norms' gains and biases included
    // (its state dict holds them, so `check` samples them too), in both directions.
    let device = common::device().autodiff();
    check("ln-lstm", LnLstmConfig::new(2, 3).init(&device), &device);
    check(
        "bi-ln-lstm",
        LnLstmConfig::new(2, 2)
            .with_bidirectional(true)
            .init(&device),
        &device,
    );
}
