//! Variational recurrent dropout (Gal & Ghahramani 2016; Keras `recurrent_dropout`): one
//! mask per sequence reused at every step, on `h_{t-1}` in the hidden matmul only, and none
//! at inference.

mod common;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use common::values;
use recurrent_cells::prelude::*;

const UNITS: usize = 16;
const BATCH: usize = 4;
const STEPS: usize = 5;

/// PyTorch-layout weights of one layer: `w_ih` `[gates * UNITS, 1]`, `w_hh` `[gates * UNITS,
/// UNITS]`, zero biases.
fn weights(gates: usize, w_hh: Vec<f32>) -> StateDict {
    let rows = gates * UNITS;
    let mut dict = StateDict::default();
    dict.insert(
        "weight_ih_l0",
        TensorData::new(vec![0.0f32; rows], [rows, 1]),
    );
    dict.insert("weight_hh_l0", TensorData::new(w_hh, [rows, UNITS]));
    dict.insert("bias_ih_l0", TensorData::new(vec![0.0f32; rows], [rows]));
    dict.insert("bias_hh_l0", TensorData::new(vec![0.0f32; rows], [rows]));
    dict
}

fn identity() -> Vec<f32> {
    let mut w = vec![0.0f32; UNITS * UNITS];
    for i in 0..UNITS {
        w[i * UNITS + i] = 1.0;
    }
    w
}

fn zeros_input(device: &Device) -> Tensor<3> {
    Tensor::zeros([BATCH, STEPS, 1], device)
}

fn ones_state(device: &Device) -> Tensor<3> {
    Tensor::ones([1, BATCH, UNITS], device)
}

#[test]
fn the_same_mask_drops_the_same_units_at_every_step() {
    // h_t = relu(h_{t-1} W_hh) with W_hh = I, x W_ih = 0 and h_0 = 1: under recurrent dropout
    // h_t = m^t elementwise, m in {0, 2} (p = 0.5). With one mask per sequence, a unit is
    // either 0 at every step or 2^t; a fresh mask per step would zero more units over time.
    let device = common::device().autodiff();
    device.seed(3);
    let rnn = RnnConfig::new(1, UNITS)
        .with_activation(RnnActivation::Relu)
        .with_recurrent_dropout(0.5)
        .init(&device)
        .load_state_dict(&weights(1, identity()), "")
        .unwrap();
    let (out, _) = rnn.forward(zeros_input(&device), Some(ones_state(&device)));
    let out = values(&out.inner()); // [batch, steps, units]
    let at = |b: usize, t: usize, u: usize| out[(b * STEPS + t) * UNITS + u];
    let (mut kept, mut dropped) = (0, 0);
    for b in 0..BATCH {
        for u in 0..UNITS {
            let alive = at(b, 0, u) != 0.0;
            if alive {
                kept += 1
            } else {
                dropped += 1
            }
            for t in 0..STEPS {
                let expected = if alive { 2f32.powi(t as i32 + 1) } else { 0.0 };
                assert_eq!(at(b, t, u), expected, "batch {b}, step {t}, unit {u}");
            }
        }
    }
    // 64 draws at p = 0.5: both kinds occur (all alike has probability 2^-63).
    assert!(kept > 0 && dropped > 0, "kept {kept}, dropped {dropped}");
}

#[test]
fn no_mask_at_inference() {
    // The same layer on a device without autodiff: h_t = h_0 = 1 at every step.
    let device = common::device();
    let rnn = RnnConfig::new(1, UNITS)
        .with_activation(RnnActivation::Relu)
        .with_recurrent_dropout(0.5)
        .init(&device)
        .load_state_dict(&weights(1, identity()), "")
        .unwrap();
    let (out, _) = rnn.forward(zeros_input(&device), Some(ones_state(&device)));
    assert!(values(&out).iter().all(|&v| v == 1.0));
    // And a model trained on the autodiff device, taken off it with `valid()`, too.
    let device = common::device().autodiff();
    let rnn = RnnConfig::new(1, UNITS)
        .with_activation(RnnActivation::Relu)
        .with_recurrent_dropout(0.5)
        .init(&device)
        .load_state_dict(&weights(1, identity()), "")
        .unwrap()
        .valid();
    let plain = device.clone().inner();
    let (out, _) = rnn.forward(zeros_input(&plain), Some(ones_state(&plain)));
    assert!(values(&out).iter().all(|&v| v == 1.0));
}

#[test]
fn gru_masks_only_the_hidden_matmul() {
    // W_hh = 0 and zero biases: r = z = sigmoid(0) = 0.5 and n = tanh(0) = 0, so
    // h_t = z * h_{t-1} = 0.5^t whatever the mask on the (zero) hidden matmul. Masking
    // h_{t-1} in z * h_{t-1} as well would zero about half of the units.
    let device = common::device().autodiff();
    device.seed(5);
    let gru = GruConfig::new(1, UNITS)
        .with_recurrent_dropout(0.5)
        .init(&device)
        .load_state_dict(&weights(3, vec![0.0; 3 * UNITS * UNITS]), "")
        .unwrap();
    let (out, _) = gru.forward(zeros_input(&device), Some(ones_state(&device)));
    let out = values(&out.inner());
    for (i, v) in out.iter().enumerate() {
        let t = (i / UNITS) % STEPS;
        assert_eq!(*v, 0.5f32.powi(t as i32 + 1), "element {i}");
    }
}

#[test]
fn lstm_masks_only_the_hidden_matmul() {
    // With W_hh = 0 the hidden matmul is 0 with or without a mask: the cell state (never
    // masked) and the outputs equal those of the layer without recurrent dropout.
    let device = common::device().autodiff();
    device.seed(9);
    let input = common::seeded([BATCH, STEPS, 1], 4, &device);
    let mut dict = weights(4, vec![0.0; 4 * UNITS * UNITS]);
    dict.insert(
        "weight_ih_l0",
        TensorData::new(common::lcg_values(4 * UNITS, 8, 1.0), [4 * UNITS, 1]),
    );
    let with = LstmConfig::new(1, UNITS)
        .with_recurrent_dropout(0.5)
        .init(&device)
        .load_state_dict(&dict, "")
        .unwrap();
    let without = LstmConfig::new(1, UNITS)
        .init(&device)
        .load_state_dict(&dict, "")
        .unwrap();
    let (a, (ha, ca)) = with.forward(input.clone(), None);
    let (b, (hb, cb)) = without.forward(input, None);
    // The layer without recurrent dropout may run the fused kernel: equal to a few ulps.
    for (x, y) in [(a, b), (ha, hb), (ca, cb)] {
        assert!(common::max_diff(&x.inner(), &y.inner()) < 1e-6);
    }
}

#[test]
fn a_rate_outside_zero_to_one_is_a_config_error() {
    let device = common::device();
    let err = LstmConfig::new(2, 3)
        .with_recurrent_dropout(1.0)
        .try_init(&device)
        .unwrap_err();
    assert!(err.to_string().contains("recurrent_dropout"), "{err}");
}
