//! The task models: shapes, weights that reload to the same outputs, padding that never
//! reaches a real token, and decoding (step by step equals one pass; beam width 1 is greedy).

mod common;

use burn::tensor::{Device, Int, Tensor, TensorData};
use common::{cpu_devices, lengths, max_diff, seeded, values};
use recurrent_cells::RnnActivation;
use recurrent_zoo::decode::{Sampling, StepModel, generate};
use recurrent_zoo::models::{
    CharLmConfig, ForecastArchitecture, ForecasterConfig, Pooling, SequenceClassifierConfig,
    TaggerArchitecture, TaggerConfig,
};
use recurrent_zoo::{MergeMode, PytorchWeights, RecurrentKind, ZooError};

fn ids<const D: usize>(values: Vec<i64>, shape: [usize; D], device: &Device) -> Tensor<D, Int> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

#[test]
fn char_lm_steps_like_one_pass_and_reloads() {
    for (backend, device) in cpu_devices() {
        for kind in RecurrentKind::ALL {
            let config = CharLmConfig::new(11)
                .with_kind(kind)
                .with_d_hidden(8)
                .with_n_layers(2)
                .with_residual(true);
            let model = config.init(&device);
            let x = ids(vec![1, 4, 2, 7, 3, 5, 9, 10], [2, 4], &device);
            let (logits, _) = model.forward(x.clone(), None);
            assert_eq!(logits.dims(), [2, 4, 11]);
            // The same sequence one token at a time through the carried state.
            let mut state = None;
            let mut last = None;
            for t in 0..4 {
                let (l, s) = model.step(x.clone().narrow(1, t, 1), state);
                state = Some(s);
                last = Some(l);
            }
            let one_pass = values(&logits.narrow(1, 3, 1));
            assert!(
                max_diff(&values(&last.unwrap()), &one_pass) < 1e-5,
                "{kind} on {backend}"
            );
            // Weights reload into a fresh model of the same configuration.
            let fresh = config
                .init(&device)
                .load_state_dict(&model.state_dict(""), "")
                .unwrap();
            assert_eq!(
                values(&fresh.forward(x, None).0),
                values(
                    &model
                        .forward(ids(vec![1, 4, 2, 7, 3, 5, 9, 10], [2, 4], &device), None)
                        .0
                )
            );
        }
    }
}

#[test]
fn beam_width_one_is_greedy_and_decoding_checks_its_settings() {
    let device = Device::flex();
    let model = CharLmConfig::new(9).with_d_hidden(8).init(&device);
    let greedy = generate(&model, &[1, 2, 3], 12, Sampling::Greedy, &[0], 0, &device).unwrap();
    let beam = generate(
        &model,
        &[1, 2, 3],
        12,
        Sampling::Beam { width: 1 },
        &[0],
        0,
        &device,
    )
    .unwrap();
    assert_eq!(greedy, beam);
    assert!(!greedy.contains(&0), "banned tokens are never chosen");
    let wide = generate(
        &model,
        &[1, 2, 3],
        12,
        Sampling::Beam { width: 4 },
        &[0],
        0,
        &device,
    )
    .unwrap();
    assert_eq!(wide.len(), 12);
    let sampled = |seed| {
        let s = Sampling::Random {
            temperature: 0.8,
            top_k: Some(3),
        };
        generate(&model, &[1, 2, 3], 20, s, &[0], seed, &device).unwrap()
    };
    assert_eq!(sampled(7), sampled(7), "sampling is seeded");
    let bad = Sampling::Random {
        temperature: 0.0,
        top_k: None,
    };
    assert!(matches!(
        generate(&model, &[1], 3, bad, &[], 0, &device),
        Err(ZooError::Value { .. })
    ));
    assert!(generate(&model, &[], 3, Sampling::Greedy, &[], 0, &device).is_err());
    assert!(
        generate(
            &model,
            &[1],
            3,
            Sampling::Beam { width: 0 },
            &[],
            0,
            &device
        )
        .is_err()
    );
}

#[test]
fn tagger_architectures_keep_padding_away_from_real_tokens() {
    for (backend, device) in cpu_devices() {
        for architecture in [
            TaggerArchitecture::BiRecurrent,
            TaggerArchitecture::BiRecurrentAttention,
            TaggerArchitecture::CnnBiRecurrent,
        ] {
            for merge in [MergeMode::Concat, MergeMode::Ave] {
                let config = TaggerConfig::new(20, 12, 5)
                    .with_architecture(architecture)
                    .with_merge(merge)
                    .with_d_hidden(8)
                    .with_char_features(6)
                    .with_conv_channels(8)
                    .with_n_heads(2)
                    .with_n_layers(2);
                let tagger = config.init(&device);
                // Sentence 2 has 2 tokens; its padding holds different ids in the two runs.
                let words = |pad: i64| ids(vec![3, 4, 5, 6, 7, pad], [2, 3], &device);
                let chars = |pad: i64| {
                    ids(
                        vec![1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 9, 0, 2, 2, 0, pad, pad, pad],
                        [2, 3, 3],
                        &device,
                    )
                };
                let lens = lengths(&[3, 2], &device);
                let a = tagger.forward(words(0), chars(0), lens.clone());
                let b = tagger.forward(words(11), chars(5), lens);
                assert_eq!(a.dims(), [2, 3, 5]);
                let (a, b) = (values(&a), values(&b));
                assert!(
                    max_diff(&a[..25], &b[..25]) < 1e-5,
                    "{architecture} {merge} on {backend}"
                );
                // Weights reload under their names.
                let dict = tagger.state_dict("");
                assert!(dict.get("encoder.layers.1.backward.weight_hh_l0").is_some());
                let again = config.init(&device).load_state_dict(&dict, "").unwrap();
                let c = values(&again.forward(words(0), chars(0), lengths(&[3, 2], &device)));
                assert!(max_diff(&a, &c) < 1e-6);
            }
        }
    }
}

#[test]
fn forecaster_architectures_forecast_and_only_the_plain_one_rolls_out() {
    let device = Device::flex();
    let x = seeded([3, 8, 2], 1, &device);
    for architecture in [
        ForecastArchitecture::Recurrent,
        ForecastArchitecture::CnnRecurrent,
        ForecastArchitecture::RecurrentAttention,
    ] {
        let config = ForecasterConfig::new(2, 4)
            .with_architecture(architecture)
            .with_kind(RecurrentKind::Gru)
            .with_d_hidden(6);
        let model = config.init(&device);
        let y = model.forward_direct(x.clone());
        assert_eq!(y.dims(), [3, 4]);
        let again = config
            .init(&device)
            .load_state_dict(&model.state_dict(""), "")
            .unwrap();
        assert_eq!(values(&again.forward_direct(x.clone())), values(&y));
        // A roll-out feeds the 4 outputs back into 2 inputs: an error, not a panic.
        let err = model
            .forward_autoregressive(x.clone(), 3, None, false, None)
            .unwrap_err();
        assert!(matches!(err, ZooError::Config { .. }), "{err}");
        // With outputs that fit, only the plain recurrent network rolls out.
        let one_step = ForecasterConfig {
            n_outputs: 2,
            ..config.clone()
        }
        .init(&device);
        let rolled = one_step.forward_autoregressive(x.clone(), 3, None, false, None);
        assert_eq!(
            rolled.is_ok(),
            architecture == ForecastArchitecture::Recurrent,
            "{architecture}"
        );
    }
    // Autoregressive (n_outputs = the 2 columns): teacher forcing with every truth fed in one
    // pass equals the step-by-step roll-out fed the same truth.
    let model = ForecasterConfig::new(2, 2).with_d_hidden(5).init(&device);
    let truth = seeded([3, 4, 2], 3, &device);
    let feed = Tensor::<3>::ones([3, 3, 1], &device);
    let fast = model
        .forward_autoregressive(
            x.clone(),
            4,
            Some((truth.clone(), feed.clone())),
            true,
            None,
        )
        .unwrap();
    let slow = model
        .forward_autoregressive(x, 4, Some((truth, feed)), false, None)
        .unwrap();
    assert!(max_diff(&values(&fast), &values(&slow)) < 1e-5);
}

#[test]
fn classifier_pooling_modes() {
    let device = Device::flex();
    let lens = [5, 2];
    let x = seeded([2, 5, 3], 4, &device);
    for pooling in [Pooling::Last, Pooling::Mean, Pooling::Attention] {
        for bidirectional in [false, true] {
            let model = SequenceClassifierConfig::new(3, 4)
                .with_widths(vec![6, 4])
                .with_bidirectional(bidirectional)
                .with_pooling(pooling)
                .init(&device);
            let logits = model.forward(x.clone(), Some(lengths(&lens, &device)));
            assert_eq!(logits.dims(), [2, 4]);
            // The second sequence alone, without padding, scores the same.
            let alone = model.forward(x.clone().narrow(0, 1, 1).narrow(1, 0, 2), None);
            let row = values(&logits.narrow(0, 1, 1));
            assert!(
                max_diff(&row, &values(&alone)) < 1e-5,
                "{pooling} bi={bidirectional}"
            );
        }
    }
    // The Keras tutorial: SimpleRNN(64, relu), Dense(1, sigmoid): one logit.
    let tutorial = SequenceClassifierConfig::new(1, 2)
        .with_kind(RecurrentKind::Rnn)
        .with_activation(RnnActivation::Relu)
        .init(&device);
    let p = tutorial.probabilities(tutorial.forward(seeded([4, 10, 1], 2, &device), None));
    assert_eq!(p.dims(), [4, 1]);
    assert!(values(&p).iter().all(|&v| (0.0..=1.0).contains(&v)));
    assert!(
        SequenceClassifierConfig::new(3, 1)
            .try_init(&device)
            .is_err()
    );
}

/// A char-LM whose logits turn NaN from its `from`-th step on (0: the prime's step).
struct Diverging {
    model: recurrent_zoo::models::CharLm,
    calls: std::cell::Cell<usize>,
    from: usize,
}

impl StepModel for Diverging {
    type State = <recurrent_zoo::models::CharLm as StepModel>::State;

    fn step(&self, ids: Tensor<2, Int>, state: Option<Self::State>) -> (Tensor<2>, Self::State) {
        let (logits, state) = self.model.step(ids, state);
        let call = self.calls.get();
        self.calls.set(call + 1);
        if call >= self.from {
            (logits.mul_scalar(f32::NAN), state)
        } else {
            (logits, state)
        }
    }

    fn reorder(state: Self::State, index: Tensor<1, Int>) -> Self::State {
        <recurrent_zoo::models::CharLm as StepModel>::reorder(state, index)
    }
}

#[test]
fn non_finite_logits_stop_generation_with_an_error_naming_the_step() {
    let device = Device::flex();
    for sampling in [
        Sampling::Greedy,
        Sampling::Beam { width: 3 },
        Sampling::Random {
            temperature: 1.0,
            top_k: None,
        },
    ] {
        for from in [0, 4] {
            let model = Diverging {
                model: CharLmConfig::new(9).with_d_hidden(8).init(&device),
                calls: std::cell::Cell::new(0),
                from,
            };
            let err = generate(&model, &[1, 2], 10, sampling, &[0], 0, &device).unwrap_err();
            let message = err.to_string();
            assert!(
                message.contains(&format!("NaN at generation step {from}"))
                    && message.contains("not finite"),
                "{sampling:?}: {message}"
            );
        }
        // Finite logits all the way: no error.
        let model = Diverging {
            model: CharLmConfig::new(9).with_d_hidden(8).init(&device),
            calls: std::cell::Cell::new(0),
            from: usize::MAX,
        };
        assert_eq!(
            generate(&model, &[1, 2], 10, sampling, &[0], 0, &device)
                .unwrap()
                .len(),
            10
        );
    }
}
