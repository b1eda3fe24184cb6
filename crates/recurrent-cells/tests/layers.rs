//! Behaviour of the sequence layers: stepping by hand, lengths, direction, layout, weights
//! in and out, and errors on bad input.

mod common;

use burn::tensor::{Int, Tensor, TensorData};
use common::{device, max_diff, uniform, values};
use recurrent_cells::prelude::*;
use recurrent_cells::{Error, LayerState, lengths_tensor};

const EPS: f32 = 1e-5;

/// Runs a cell step by step over `[batch, seq, d_input]`, collecting the hidden states.
fn step_by_hand<C: RecurrentCell>(cell: &C, x: Tensor<3>) -> (Tensor<3>, C::State) {
    let [batch, seq, _] = x.dims();
    let mut state = cell.zero_state(batch, &x.device());
    let mut outputs = Vec::new();
    for t in 0..seq {
        let x_t = x.clone().narrow(1, t, 1).squeeze_dim::<2>(1);
        state = cell.step(x_t, state);
        outputs.push(state.hidden());
    }
    (Tensor::stack(outputs, 1), state)
}

#[test]
fn stepping_each_cell_by_hand_equals_the_layer() {
    let device = device();
    let x = uniform([3, 5, 4], &device);

    let lstm = LstmConfig::new(4, 6).init(&device);
    let (out, (h_n, c_n)) = lstm.forward(x.clone(), None);
    let (hand, state) = step_by_hand(&lstm.stack.cells[0], x.clone());
    assert!(max_diff(&out, &hand) < EPS);
    let (seq, seq_state) = lstm.stack.cells[0].seq(x.clone(), None);
    assert!(max_diff(&seq, &hand) < EPS);
    assert!(max_diff(&seq_state.cell, &state.cell) < EPS);
    assert!(max_diff(&h_n.squeeze_dim::<2>(0), &state.hidden) < EPS);
    assert!(max_diff(&c_n.squeeze_dim::<2>(0), &state.cell) < EPS);

    for reset_after in [true, false] {
        let gru = GruConfig::new(4, 6)
            .with_reset_after(reset_after)
            .init(&device);
        let (out, h_n) = gru.forward(x.clone(), None);
        let (hand, state) = step_by_hand(&gru.stack.cells[0], x.clone());
        assert!(max_diff(&out, &hand) < EPS);
        assert!(max_diff(&h_n.squeeze_dim::<2>(0), &state) < EPS);
    }

    for activation in [RnnActivation::Tanh, RnnActivation::Relu] {
        let rnn = RnnConfig::new(4, 6)
            .with_activation(activation)
            .init(&device);
        let (out, _) = rnn.forward(x.clone(), None);
        let (hand, _) = step_by_hand(&rnn.stack.cells[0], x.clone());
        assert!(max_diff(&out, &hand) < EPS);
    }
}

/// A one-unit GRU with every weight 0.5, `b_hn = 1` and the other biases 0.
fn tiny_gru(reset_after: bool) -> Gru {
    let device = device();
    let mut dict = StateDict::default();
    dict.insert("weight_ih_l0", TensorData::new(vec![0.5f32; 3], [3, 1]));
    dict.insert("weight_hh_l0", TensorData::new(vec![0.5f32; 3], [3, 1]));
    dict.insert("bias_ih_l0", TensorData::new(vec![0.0f32; 3], [3]));
    dict.insert("bias_hh_l0", TensorData::new(vec![0.0f32, 0.0, 1.0], [3]));
    GruConfig::new(1, 1)
        .with_reset_after(reset_after)
        .init(&device)
        .load_state_dict(&dict, "")
        .unwrap()
}

#[test]
fn gru_reset_after_and_reset_before_follow_their_formulas() {
    // x = 1, h0 = 1:
    // r = z = sigmoid(0.5*1 + 0.5*1) = sigmoid(1) = 0.7310586
    // reset after:  n = tanh(0.5 + r * (0.5*1 + 1)) = tanh(1.5965879) = 0.9211533
    // reset before: n = tanh(0.5 + (r*1)*0.5 + 1) = tanh(1.8655293) = 0.9531871
    // h1 = (1 - z) * n + z * h0 = 0.9787949 (after), 0.9874101 (before)
    let device = device();
    let x = Tensor::<3>::ones([1, 1, 1], &device);
    let h0 = Tensor::<3>::ones([1, 1, 1], &device);
    let z = 0.731_058_6f32;
    for (reset_after, n) in [(true, 0.921_153_3f32), (false, 0.953_187_1)] {
        let (_, h1) = tiny_gru(reset_after).forward(x.clone(), Some(h0.clone()));
        let expected = (1.0 - z) * n + z;
        let got = values(&h1)[0];
        assert!(
            (got - expected).abs() < 1e-5,
            "reset_after={reset_after}: {got} vs {expected}"
        );
    }
}

#[test]
fn lengths_follow_pack_padded_sequence() {
    let device = device().autodiff();
    let lengths = [5usize, 2, 4];
    let x = uniform([3, 5, 3], &device).require_grad();
    let lstm = LstmConfig::new(3, 4).with_bidirectional(true).init(&device);
    let input = SequenceInput::new(x.clone()).lengths(lengths_tensor(&lengths, &device));
    let (out, (h_n, c_n)) = lstm.forward_input(input);

    for (b, &len) in lengths.iter().enumerate() {
        // Each sequence alone, truncated to its length, gives the same valid outputs and
        // final states as the padded batch.
        let alone = x.clone().narrow(0, b, 1).narrow(1, 0, len);
        let (out_alone, (h_alone, c_alone)) = lstm.forward(alone, None);
        let valid = out.clone().narrow(0, b, 1).narrow(1, 0, len);
        assert!(max_diff(&valid, &out_alone) < EPS, "sequence {b}");
        assert!(max_diff(&h_n.clone().narrow(1, b, 1), &h_alone) < EPS);
        assert!(max_diff(&c_n.clone().narrow(1, b, 1), &c_alone) < EPS);
        // Outputs past the length are exactly zero.
        if len < 5 {
            let pad = out.clone().narrow(0, b, 1).narrow(1, len, 5 - len);
            assert!(
                values(&pad).iter().all(|v| *v == 0.0),
                "padding of {b} is not 0"
            );
        }
    }

    // No gradient reaches the padded inputs.
    let loss = out.sum() + h_n.sum() + c_n.sum();
    let grads = loss.backward();
    let g = x.grad(&grads).unwrap();
    let pad = g.clone().narrow(0, 1, 1).narrow(1, 2, 3);
    assert!(values(&pad).iter().all(|v| *v == 0.0));
    let valid = g.narrow(0, 1, 1).narrow(1, 0, 2);
    assert!(values(&valid).iter().any(|v| *v != 0.0));
}

#[test]
fn masks_and_lengths_convert_both_ways() {
    let device = device();
    let lengths = lengths_tensor(&[3, 0, 1], &device);
    let mask = lengths_to_mask(lengths.clone(), 4);
    assert_eq!(
        mask.to_data().try_to_vec::<bool>().unwrap(),
        vec![
            true, true, true, false, //
            false, false, false, false, //
            true, false, false, false
        ]
    );
    let back = recurrent_cells::mask_to_lengths(mask);
    assert_eq!(
        back.to_data().try_to_vec_as::<i64>().unwrap(),
        vec![3, 0, 1]
    );
}

#[test]
fn a_zero_length_sequence_keeps_its_initial_state() {
    let device = device();
    let gru = GruConfig::new(2, 3).init(&device);
    let x = uniform([2, 4, 2], &device);
    let h0 = uniform([1, 2, 3], &device);
    let input = SequenceInput::new(x)
        .state(h0.clone())
        .lengths(lengths_tensor(&[4, 0], &device));
    let (out, h_n) = gru.forward_input(input);
    assert!(max_diff(&h_n.narrow(1, 1, 1), &h0.narrow(1, 1, 1)) == 0.0);
    assert!(values(&out.narrow(0, 1, 1)).iter().all(|v| *v == 0.0));
}

#[test]
fn reverse_runs_the_flipped_sequence_with_aligned_outputs() {
    let device = device();
    let x = uniform([2, 5, 3], &device);
    let forward = RnnConfig::new(3, 4).init(&device);
    let reverse = RnnConfig::new(3, 4)
        .with_reverse(true)
        .init(&device)
        .load_state_dict(&forward.state_dict(""), "")
        .unwrap();
    let (out_rev, h_rev) = reverse.forward(x.clone(), None);
    let (out_fwd, h_fwd) = forward.forward(x.flip([1]), None);
    assert!(max_diff(&out_rev, &out_fwd.flip([1])) < EPS);
    assert!(max_diff(&h_rev, &h_fwd) < EPS);
}

#[test]
fn time_major_layout_matches_batch_first() {
    let device = device();
    let x = uniform([2, 5, 3], &device);
    let batch_first = GruConfig::new(3, 4).with_n_layers(2).init(&device);
    let time_major = GruConfig::new(3, 4)
        .with_n_layers(2)
        .with_batch_first(false)
        .init(&device)
        .load_state_dict(&batch_first.state_dict(""), "")
        .unwrap();
    let (a, ha) = batch_first.forward(x.clone(), None);
    let (b, hb) = time_major.forward(x.swap_dims(0, 1), None);
    assert_eq!(b.dims(), [5, 2, 4]);
    assert!(max_diff(&a, &b.swap_dims(0, 1)) < EPS);
    assert!(max_diff(&ha, &hb) < EPS);
}

#[test]
fn state_dict_round_trips_through_a_safetensors_file() {
    let device = device();
    let lstm = LstmConfig::new(3, 4)
        .with_n_layers(2)
        .with_bidirectional(true)
        .init(&device);
    let dict = lstm.state_dict("");
    let mut names: Vec<&str> = dict.names().collect();
    names.sort();
    assert_eq!(names.len(), 16);
    assert!(names.contains(&"weight_hh_l1_reverse"));
    assert_eq!(
        dict.get("weight_ih_l1").unwrap().shape().as_slice(),
        &[16, 8]
    );

    let path =
        std::env::temp_dir().join(format!("recurrent-lstm-{}.safetensors", std::process::id()));
    lstm.save_safetensors(&path).unwrap();
    let loaded = LstmConfig::new(3, 4)
        .with_n_layers(2)
        .with_bidirectional(true)
        .init(&device)
        .load_safetensors(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    let x = uniform([2, 3, 3], &device);
    let (a, (ha, ca)) = lstm.forward(x.clone(), None);
    let (b, (hb, cb)) = loaded.forward(x, None);
    assert_eq!(values(&a), values(&b));
    assert_eq!(values(&ha), values(&hb));
    assert_eq!(values(&ca), values(&cb));
}

#[test]
fn weight_mismatches_name_the_tensor_and_both_shapes() {
    let device = device();
    let small = GruConfig::new(3, 4).init(&device);
    let big = GruConfig::new(3, 5).init(&device);
    let err = big.load_state_dict(&small.state_dict(""), "").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Shape { .. }), "{msg}");
    assert!(
        msg.contains("weight_ih_l0") && msg.contains("[15, 3]") && msg.contains("[12, 3]"),
        "{msg}"
    );

    let mut dict = small.state_dict("");
    dict.remove("weight_hh_l0");
    let err = GruConfig::new(3, 4)
        .init(&device)
        .load_state_dict(&dict, "")
        .unwrap_err();
    assert!(err.to_string().contains("weight_hh_l0"), "{err}");

    let two_layers = GruConfig::new(3, 4)
        .with_n_layers(2)
        .init(&device)
        .state_dict("");
    let err = GruConfig::new(3, 4)
        .init(&device)
        .load_state_dict(&two_layers, "")
        .unwrap_err();
    assert!(
        matches!(err, Error::UnexpectedTensor { ref name } if name.ends_with("_l1")),
        "{err}"
    );

    let no_bias = GruConfig::new(3, 4)
        .with_bias(false)
        .init(&device)
        .state_dict("");
    let err = GruConfig::new(3, 4)
        .init(&device)
        .load_state_dict(&no_bias, "")
        .unwrap_err();
    assert!(err.to_string().contains("bias_ih_l0"), "{err}");
}

#[test]
fn prefixed_names_load_from_a_larger_model() {
    let device = device();
    let rnn = RnnConfig::new(2, 3).init(&device);
    let mut dict = rnn.state_dict("encoder.rnn.");
    dict.insert("decoder.weight", TensorData::new(vec![0.0f32; 4], [2, 2]));
    let loaded = RnnConfig::new(2, 3)
        .init(&device)
        .load_state_dict(&dict, "encoder.rnn.")
        .unwrap();
    let x = uniform([1, 2, 2], &device);
    assert_eq!(
        values(&rnn.forward(x.clone(), None).0),
        values(&loaded.forward(x, None).0)
    );
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let device = device();
    let lstm = LstmConfig::new(3, 4).with_n_layers(2).init(&device);
    let x = uniform([2, 5, 7], &device);
    let err = lstm
        .try_forward_input(SequenceInput::new(x))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("input") && err.contains("[2, 5, 3]") && err.contains("[2, 5, 7]"),
        "{err}"
    );

    let x = uniform([2, 5, 3], &device);
    let h0 = Tensor::<3>::zeros([1, 2, 4], &device);
    let c0 = Tensor::<3>::zeros([2, 2, 4], &device);
    let err = lstm
        .try_forward_input(SequenceInput::new(x.clone()).state((h0, c0)))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("h0") && err.contains("[2, 2, 4]") && err.contains("[1, 2, 4]"),
        "{err}"
    );

    let lengths = Tensor::<1, Int>::from_data(TensorData::new(vec![5i64, 6], [2]), &device);
    let err = lstm
        .try_forward_input(SequenceInput::new(x.clone()).lengths(lengths))
        .unwrap_err()
        .to_string();
    assert!(err.contains("lengths[1]") && err.contains('6'), "{err}");

    let lengths = Tensor::<1, Int>::from_data(TensorData::new(vec![5i64, 5, 5], [3]), &device);
    let err = lstm
        .try_forward_input(SequenceInput::new(x).lengths(lengths))
        .unwrap_err()
        .to_string();
    assert!(err.contains("lengths") && err.contains("[3]"), "{err}");

    let err = LstmConfig::new(3, 4)
        .with_dropout(1.5)
        .try_init(&device)
        .unwrap_err()
        .to_string();
    assert!(err.contains("dropout") && err.contains("1.5"), "{err}");
    assert!(LstmConfig::new(3, 0).try_init(&device).is_err());
    assert!(
        LstmConfig::new(3, 4)
            .with_reverse(true)
            .with_bidirectional(true)
            .try_init(&device)
            .is_err()
    );
}

#[test]
fn dropout_between_layers_acts_only_in_training() {
    let device = device();
    let x = uniform([4, 6, 3], &device);
    let lstm = LstmConfig::new(3, 8)
        .with_n_layers(2)
        .with_dropout(0.5)
        .init(&device);
    // Without autodiff (inference) dropout is the identity: two runs agree.
    let (a, _) = lstm.forward(x.clone(), None);
    let (b, _) = lstm.forward(x.clone(), None);
    assert_eq!(values(&a), values(&b));

    // On an autodiff device (training) the two runs differ.
    let ad = device.autodiff();
    let lstm = LstmConfig::new(3, 8)
        .with_n_layers(2)
        .with_dropout(0.5)
        .init(&ad);
    let x = x.autodiff();
    let (a, _) = lstm.forward(x.clone(), None);
    let (b, _) = lstm.forward(x, None);
    assert!(max_diff(&a.inner(), &b.inner()) > 1e-3);
}

#[test]
fn layer_states_use_pytorchs_layout() {
    let device = device();
    let gru = GruConfig::new(3, 4)
        .with_n_layers(3)
        .with_bidirectional(true)
        .init(&device);
    let x = uniform([2, 5, 3], &device);
    let (out, h_n) = gru.forward(x.clone(), None);
    assert_eq!(out.dims(), [2, 5, 8]);
    assert_eq!(h_n.dims(), [6, 2, 4]);
    // The last layer's forward final state is its output at the last step; its reverse final
    // state is the reverse half of the output at the first step.
    let last = out
        .clone()
        .narrow(1, 4, 1)
        .narrow(2, 0, 4)
        .squeeze_dim::<2>(1);
    assert!(max_diff(&h_n.clone().narrow(0, 4, 1).squeeze_dim::<2>(0), &last) < EPS);
    let first = out.narrow(1, 0, 1).narrow(2, 4, 4).squeeze_dim::<2>(1);
    assert!(max_diff(&h_n.narrow(0, 5, 1).squeeze_dim::<2>(0), &first) < EPS);
    assert_eq!(<Tensor<3> as LayerState>::NAMES, &["h"]);
}

#[test]
fn inference_and_training_paths_agree() {
    // Without autodiff the layer projects whole sequences; with autodiff it projects step by
    // step. Both must give the same numbers.
    let device = device();
    let x = uniform([3, 6, 4], &device);
    let lengths = [6usize, 3, 1];
    let plain = GruConfig::new(4, 5)
        .with_n_layers(2)
        .with_bidirectional(true)
        .init(&device);
    let ad = device.clone().autodiff();
    let tracked = GruConfig::new(4, 5)
        .with_n_layers(2)
        .with_bidirectional(true)
        .init(&ad)
        .load_state_dict(&plain.state_dict(""), "")
        .unwrap();
    let (a, ha) = plain
        .forward_input(SequenceInput::new(x.clone()).lengths(lengths_tensor(&lengths, &device)));
    let (b, hb) = tracked
        .forward_input(SequenceInput::new(x.autodiff()).lengths(lengths_tensor(&lengths, &ad)));
    assert!(max_diff(&a, &b.inner()) < EPS);
    assert!(max_diff(&ha, &hb.inner()) < EPS);
}

#[test]
fn pytorch_checkpoints_load_like_safetensors() {
    // fixtures/: one `torch.nn.LSTM(3, 4, bidirectional=True)` saved three ways by PyTorch:
    // `torch.save(lstm.state_dict(), "lstm_bi.pt")`, safetensors' `save_file`, and
    // `torch.save({"epoch": 3, "state_dict": lstm.state_dict()}, "lstm_bi_checkpoint.pt")`.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let from_st = StateDict::load(dir.join("lstm_bi.safetensors")).unwrap();
    let from_pt = StateDict::load(dir.join("lstm_bi.pt")).unwrap();
    let nested =
        StateDict::load_pytorch(dir.join("lstm_bi_checkpoint.pt"), Some("state_dict")).unwrap();
    assert_eq!(from_st.len(), 8);
    for dict in [&from_pt, &nested] {
        assert_eq!(
            dict.names().collect::<Vec<_>>(),
            from_st.names().collect::<Vec<_>>()
        );
        for (name, data) in from_st.iter() {
            assert_eq!(dict.get(name).unwrap(), data, "{name}");
        }
    }
    let device = device();
    let lstm = LstmConfig::new(3, 4)
        .with_bidirectional(true)
        .init(&device)
        .load_state_dict(&from_pt, "")
        .unwrap();
    assert_eq!(
        lstm.state_dict("")
            .get("weight_hh_l0_reverse")
            .unwrap()
            .try_to_vec::<f32>()
            .unwrap(),
        from_st
            .get("weight_hh_l0_reverse")
            .unwrap()
            .try_to_vec::<f32>()
            .unwrap()
    );

    let err = StateDict::load(dir.join("missing.pt"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.pt"), "{err}");
}
