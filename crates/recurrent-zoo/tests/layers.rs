//! `Recurrent`, `Bidirectional` and `RecurrentStack`: every kind runs, states of the wrong
//! kind are errors, merge modes follow their formulas, the backward direction starts at each
//! sequence's last valid step, and residual stacks follow `x + f(x)` with padding exactly 0.

mod common;

use burn::tensor::{Device, Tensor};
use common::{cpu_devices, lengths, max_diff, reverse_valid, seeded, values};
use proptest::prelude::*;
use recurrent_cells::SequenceInput;
use recurrent_zoo::{
    BidirectionalConfig, MergeMode, PytorchWeights, RecurrentConfig, RecurrentKind,
    RecurrentStackConfig, RecurrentState, ZooError,
};

#[test]
fn every_kind_runs_with_lengths_and_reports_its_state() {
    for (backend, device) in cpu_devices() {
        for kind in RecurrentKind::ALL {
            let layer = RecurrentConfig::new(kind, 3, 4)
                .with_n_layers(2)
                .with_bidirectional(true)
                .init(&device);
            let x = seeded([2, 5, 3], 1, &device);
            let input = SequenceInput::new(x).lengths(lengths(&[5, 2], &device));
            let (out, state) = layer.forward_input(input);
            assert_eq!(out.dims(), [2, 5, 8], "{kind} on {backend}");
            assert_eq!(state.hidden().dims(), [4, 2, 4]);
            assert_eq!(state.cell().is_some(), kind.has_cell_state(), "{kind}");
            // Padding outputs are exactly 0.
            let pad = values(&out.narrow(0, 1, 1).narrow(1, 2, 3));
            assert!(pad.iter().all(|&v| v == 0.0), "{kind} on {backend}");
        }
    }
}

#[test]
fn a_state_of_the_wrong_kind_is_an_error_naming_both() {
    let device = Device::flex();
    let lstm = RecurrentConfig::new(RecurrentKind::Lstm, 3, 4).init(&device);
    let x = Tensor::<3>::zeros([2, 5, 3], &device);
    let h = RecurrentState::Hidden(Tensor::zeros([1, 2, 4], &device));
    let err = lstm
        .try_forward_input(SequenceInput::new(x).state(h))
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("lstm") && msg.contains("(h, c)"), "{msg}");
}

#[test]
fn weights_round_trip_under_pytorch_names_and_strict_loading_names_the_tensor() {
    let device = Device::flex();
    for kind in RecurrentKind::ALL {
        let a = RecurrentConfig::new(kind, 3, 4)
            .with_n_layers(2)
            .init(&device);
        let b = RecurrentConfig::new(kind, 3, 4)
            .with_n_layers(2)
            .init(&device);
        let dict = a.state_dict("rnn.");
        assert!(dict.get("rnn.weight_ih_l1").is_some(), "{kind}");
        let b = b.load_state_dict(&dict, "rnn.").unwrap();
        let x = seeded([2, 5, 3], 2, &device);
        assert_eq!(
            values(&a.forward(x.clone(), None).0),
            values(&b.forward(x, None).0)
        );
    }
    let lstm = RecurrentConfig::new(RecurrentKind::Lstm, 3, 4).init(&device);
    let mut dict = lstm.state_dict("");
    dict.insert(
        "stray.weight",
        burn::tensor::TensorData::new(vec![0.0f32], [1]),
    );
    match lstm.load_state_dict(&dict, "") {
        Err(ZooError::UnexpectedTensor { name }) => assert_eq!(name, "stray.weight"),
        other => panic!("expected an unexpected-tensor error, got {other:?}"),
    }
}

fn bidirectional_case(merge: MergeMode, device: &Device) {
    let config = RecurrentConfig::new(RecurrentKind::Gru, 3, 4);
    let bi = BidirectionalConfig::new(config)
        .with_merge(merge)
        .init(device);
    let lens = [5, 3, 1];
    let x = seeded([3, 5, 3], 7, device);
    let out = bi
        .try_forward_input(SequenceInput::new(x.clone()).lengths(lengths(&lens, device)))
        .unwrap();
    // Forward: the same layer run on its own.
    let (fwd, _) = bi
        .forward
        .forward_input(SequenceInput::new(x.clone()).lengths(lengths(&lens, device)));
    // Backward: a plain forward run of the backward layer's weights over each sequence's
    // valid steps reversed, then reversed back.
    let as_forward = RecurrentConfig::new(RecurrentKind::Gru, 3, 4)
        .init(device)
        .load_state_dict(&bi.backward.state_dict(""), "")
        .unwrap();
    let (bwd_rev, _) = as_forward.forward_input(
        SequenceInput::new(reverse_valid(&x, &lens)).lengths(lengths(&lens, device)),
    );
    let bwd = reverse_valid(&bwd_rev, &lens);
    assert!(max_diff(&values(&out.forward), &values(&fwd)) < 1e-6);
    assert!(
        max_diff(&values(&out.backward), &values(&bwd)) < 1e-5,
        "the backward direction starts at each sequence's last valid step"
    );
    let (f, b) = (values(&fwd), values(&bwd));
    let expected: Vec<f32> = match merge {
        MergeMode::Concat | MergeMode::None => f
            .chunks(4)
            .zip(b.chunks(4))
            .flat_map(|(x, y)| x.iter().chain(y).copied().collect::<Vec<_>>())
            .collect(),
        MergeMode::Sum => f.iter().zip(&b).map(|(x, y)| x + y).collect(),
        MergeMode::Mul => f.iter().zip(&b).map(|(x, y)| x * y).collect(),
        MergeMode::Ave => f.iter().zip(&b).map(|(x, y)| (x + y) / 2.0).collect(),
    };
    match (merge, out.output) {
        (MergeMode::None, None) => {}
        (MergeMode::None, Some(_)) => panic!("none returns no merged output"),
        (_, Some(merged)) => {
            assert!(max_diff(&values(&merged), &expected) < 1e-5, "{merge}");
            // Padding stays exactly 0 after the merge.
            let pad = values(&merged.narrow(0, 2, 1).narrow(1, 1, 4));
            assert!(pad.iter().all(|&v| v == 0.0), "{merge}");
        }
        (_, None) => panic!("{merge} returns a merged output"),
    }
    // Final states: forward at the last valid step, backward after step 0.
    let last_f: Vec<f32> = (0..3)
        .flat_map(|s| f[(s * 5 + lens[s] - 1) * 4..(s * 5 + lens[s]) * 4].to_vec())
        .collect();
    assert!(max_diff(&values(&out.state_forward.hidden()), &last_f) < 1e-6);
    let first_b: Vec<f32> = (0..3)
        .flat_map(|s| b[s * 20..s * 20 + 4].to_vec())
        .collect();
    assert!(max_diff(&values(&out.state_backward.hidden()), &first_b) < 1e-5);
}

#[test]
fn merge_modes_follow_their_formulas_with_lengths() {
    for (_, device) in cpu_devices() {
        for merge in [
            MergeMode::Concat,
            MergeMode::Sum,
            MergeMode::Mul,
            MergeMode::Ave,
            MergeMode::None,
        ] {
            bidirectional_case(merge, &device);
        }
    }
}

#[test]
fn a_residual_stack_adds_each_layer_input_and_keeps_padding_zero() {
    for (_, device) in cpu_devices() {
        let stack = RecurrentStackConfig::new(RecurrentKind::Lstm, 3, vec![4, 4])
            .with_residual(true)
            .with_layer_norm(true)
            .init(&device);
        let lens = [4, 2];
        let x = seeded([2, 4, 3], 3, &device);
        let (out, _) =
            stack.forward_input(SequenceInput::new(x.clone()).lengths(lengths(&lens, &device)));
        // The same computation by hand from the stack's parts.
        let (recurrent, projection, norm) = match (&stack.layers[0], &stack.layers[1]) {
            (
                recurrent_zoo::StackLayer::Unidirectional(a),
                recurrent_zoo::StackLayer::Unidirectional(b),
            ) => (
                (a, b),
                stack.projections[0].as_ref().unwrap(),
                stack.norms[0].as_ref().unwrap(),
            ),
            _ => unreachable!(),
        };
        assert!(
            stack.projections[1].is_none(),
            "equal widths need no projection"
        );
        let input = |t: Tensor<3>| SequenceInput::new(t).lengths(lengths(&lens, &device));
        let y0 = recurrent.0.forward_input(input(x.clone())).0 + projection.forward(x.clone());
        let y0 = norm.forward(y0);
        let mask = recurrent_cells::lengths_to_mask(lengths(&lens, &device), 4)
            .float()
            .unsqueeze_dim::<3>(2);
        let y0 = y0 * mask.clone();
        let y1 = (recurrent.1.forward_input(input(y0.clone())).0 + y0) * mask;
        assert!(max_diff(&values(&out), &values(&y1)) < 1e-5);
        let pad = values(&out.narrow(0, 1, 1).narrow(1, 2, 2));
        assert!(pad.iter().all(|&v| v == 0.0));
    }
}

#[test]
fn a_stack_of_keras_widths_chains_its_layers() {
    // LSTM(6, return_sequences=True) then LSTM(2): the second layer reads the first's
    // outputs; the stack's last hidden state is the second layer's last output.
    let device = Device::flex();
    let stack = RecurrentStackConfig::new(RecurrentKind::Lstm, 3, vec![6, 2]).init(&device);
    let x = seeded([2, 5, 3], 9, &device);
    let (out, state) = stack.forward(x, None);
    assert_eq!(out.dims(), [2, 5, 2]);
    let last = values(&stack.last_hidden(&state));
    let expected: Vec<f32> = values(&out.narrow(1, 4, 1));
    assert!(max_diff(&last, &expected) < 1e-7);
    assert!(matches!(
        RecurrentStackConfig::new(RecurrentKind::Lstm, 3, vec![]).try_init(&device),
        Err(ZooError::Config { .. })
    ));
    assert!(
        RecurrentStackConfig::new(RecurrentKind::Gru, 3, vec![4])
            .with_bidirectional(true)
            .with_merge(MergeMode::None)
            .try_init(&device)
            .is_err()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Whatever the padding holds, the valid outputs of a bidirectional residual stack are
    /// the same and its padding outputs are exactly 0.
    #[test]
    fn padding_never_reaches_a_valid_output(
        lens in proptest::collection::vec(1usize..=6, 1..4),
        merge in prop_oneof![Just(MergeMode::Concat), Just(MergeMode::Sum), Just(MergeMode::Mul), Just(MergeMode::Ave)],
        seed in 0u64..1000,
    ) {
        let device = Device::flex();
        let stack = RecurrentStackConfig::new(RecurrentKind::Gru, 2, vec![3, 3])
            .with_bidirectional(true)
            .with_merge(merge)
            .with_residual(true)
            .init(&device);
        let batch = lens.len();
        let x = seeded([batch, 6, 2], seed, &device);
        let noise = seeded([batch, 6, 2], seed + 1, &device);
        let mask = recurrent_cells::lengths_to_mask(lengths(&lens, &device), 6)
            .float()
            .unsqueeze_dim::<3>(2);
        // Same valid steps, different padding.
        let x2 = x.clone() * mask.clone() + noise * (mask.clone().neg() + 1.0);
        let run = |t: Tensor<3>| stack.forward_input(SequenceInput::new(t).lengths(lengths(&lens, &device))).0;
        let (a, b) = (run(x), run(x2));
        prop_assert!(max_diff(&values(&a), &values(&b)) < 1e-6);
        let d = a.dims()[2];
        let a_values = values(&a);
        for (s, &l) in lens.iter().enumerate() {
            for t in l..6 {
                let row = &a_values[(s * 6 + t) * d..(s * 6 + t + 1) * d];
                prop_assert!(row.iter().all(|&v| v == 0.0));
            }
        }
    }
}
