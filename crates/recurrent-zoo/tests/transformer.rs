//! The Transformer models: masks worked by hand, the key/value cache against full passes,
//! reordering, padding invariance, decoding, and weights round trips.

mod common;

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use common::{cpu_devices, max_diff, values};
use recurrent_zoo::PytorchWeights;
use recurrent_zoo::decode::{Sampling, StepModel, generate};
use recurrent_zoo::models::{TaggerArchitecture, TaggerConfig};
use recurrent_zoo::search::{Limits, Search};
use recurrent_zoo::transformer::{
    FeedForwardActivation, KvCache, PositionKind, TransformerClassifierConfig, TransformerLm,
    TransformerLmConfig, TransformerSeq2SeqConfig, causal_mask, padding_mask,
};

fn ids(rows: &[&[u32]], device: &Device) -> Tensor<2, Int> {
    let width = rows[0].len();
    let flat: Vec<i64> = rows
        .iter()
        .flat_map(|r| r.iter().map(|&t| i64::from(t)))
        .collect();
    Tensor::from_data(TensorData::new(flat, [rows.len(), width]), device)
}

fn bools<const D: usize>(t: Tensor<D, Bool>) -> Vec<bool> {
    t.into_data().try_into_vec::<bool>().unwrap()
}

fn index(rows: &[i64], device: &Device) -> Tensor<1, Int> {
    Tensor::from_data(TensorData::new(rows.to_vec(), [rows.len()]), device)
}

/// Every LM variant the tests cover: pre- and post-norm, sinusoidal and learned positions,
/// ReLU and GELU.
fn lm_configs() -> Vec<TransformerLmConfig> {
    vec![
        TransformerLmConfig::new(11)
            .with_d_model(16)
            .with_n_heads(4)
            .with_d_ff(24)
            .with_max_len(12),
        TransformerLmConfig::new(11)
            .with_d_model(12)
            .with_n_heads(3)
            .with_d_ff(20)
            .with_n_layers(3)
            .with_max_len(12)
            .with_norm_first(false)
            .with_positions(PositionKind::Learned)
            .with_activation(FeedForwardActivation::Relu),
    ]
}

#[test]
fn masks_worked_by_hand() {
    let device = Device::flex();
    // Query i sits at position offset + i and may see keys 0..=offset + i.
    let mask = causal_mask(1, 2, 1, &device);
    assert_eq!(mask.dims(), [1, 2, 3]);
    assert_eq!(bools(mask), vec![false, false, true, false, false, false]);
    let mask = causal_mask(2, 3, 0, &device);
    let row = vec![false, true, true, false, false, true, false, false, false];
    assert_eq!(bools(mask), [row.clone(), row].concat());
    // Padding is true past each length.
    let lengths = Tensor::<1, Int>::from_data(TensorData::new(vec![2i64, 3, 1], [3]), &device);
    assert_eq!(
        bools(padding_mask(lengths, 3)),
        vec![false, false, true, false, false, false, false, true, true]
    );
}

#[test]
fn cached_steps_give_the_full_pass_logits() {
    for (backend, device) in cpu_devices() {
        for config in lm_configs() {
            let lm = config.init(&device);
            let tokens: &[u32] = &[3, 7, 1, 9, 4, 4, 2, 10];
            let full = lm.forward(ids(&[tokens], &device));
            // Two tokens, then one at a time, then three.
            let mut cache = KvCache::new();
            let mut parts = Vec::new();
            for chunk in [&tokens[..2], &tokens[2..3], &tokens[3..5], &tokens[5..]] {
                parts.push(
                    lm.forward_cached(ids(&[chunk], &device), &mut cache)
                        .unwrap(),
                );
            }
            assert_eq!(cache.len(), tokens.len());
            let cached = Tensor::cat(parts, 1);
            let diff = max_diff(&values(&full), &values(&cached));
            assert!(diff < 1e-5, "{backend} {config:?}: cached vs full {diff}");
        }
    }
}

#[test]
fn later_tokens_never_change_earlier_logits() {
    let device = Device::flex();
    let lm = lm_configs()[0].init(&device);
    let a = lm.forward(ids(&[&[1, 2, 3, 4, 5]], &device));
    let b = lm.forward(ids(&[&[1, 2, 3, 9, 0]], &device));
    let first = |t: Tensor<3>| values(&t.narrow(1, 0, 3));
    assert!(max_diff(&first(a.clone()), &first(b.clone())) < 1e-6);
    assert!(max_diff(&values(&a), &values(&b)) > 1e-3);
}

/// Greedy decoding by full passes over the whole prefix, without any cache.
fn greedy_uncached(lm: &TransformerLm, prime: &[u32], length: usize, device: &Device) -> Vec<u32> {
    let mut seq = prime.to_vec();
    for _ in 0..length {
        let logits = lm.forward(ids(&[&seq], device));
        let steps = seq.len();
        let last = values(&logits.narrow(1, steps - 1, 1));
        let best = last
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        seq.push(best as u32);
    }
    seq[prime.len()..].to_vec()
}

#[test]
fn cached_and_uncached_generation_give_the_same_tokens() {
    for (backend, device) in cpu_devices() {
        for config in lm_configs() {
            let lm = config.init(&device);
            let prime = [4u32, 2, 8];
            // 9 new tokens fill the 12 positions exactly.
            let cached = generate(&lm, &prime, 9, Sampling::Greedy, &[], 0, &device).unwrap();
            let uncached = greedy_uncached(&lm, &prime, 9, &device);
            assert_eq!(cached, uncached, "{backend} {config:?}");
            // Beam width 1 is greedy.
            let beam =
                generate(&lm, &prime, 9, Sampling::Beam { width: 1 }, &[], 0, &device).unwrap();
            assert_eq!(beam, cached, "{backend} {config:?}");
        }
    }
}

#[test]
fn generation_past_the_context_rebuilds_it_from_the_recent_half() {
    let device = Device::flex();
    let lm = lm_configs()[0].init(&device);
    let out = generate(
        &lm,
        &[1, 2, 3],
        40,
        Sampling::Beam { width: 3 },
        &[0],
        0,
        &device,
    )
    .unwrap();
    assert_eq!(out.len(), 40);
    assert!(!out.contains(&0));
    // The state after the context fills holds the recent half plus the new token.
    let (_, state) = lm.step(ids(&[&[1; 12]], &device), None);
    assert_eq!(state.cache.len(), 12);
    let (_, state) = lm.step(ids(&[&[5]], &device), Some(state));
    assert_eq!(state.cache.len(), 7);
    assert_eq!(state.tokens.dims(), [1, 7]);
}

#[test]
fn reordered_cache_rows_continue_their_parents() {
    for (backend, device) in cpu_devices() {
        let lm = lm_configs()[1].init(&device);
        let rows: [&[u32]; 2] = [&[1, 2, 3], &[7, 6, 5]];
        let (_, state) = lm.step(ids(&rows, &device), None);
        // New rows: old row 1, old row 1, old row 0, each fed its own next token.
        let state = TransformerLm::reorder(state, index(&[1, 1, 0], &device));
        assert_eq!(state.cache.rows(), 3);
        let (logits, _) = lm.step(ids(&[&[4], &[9], &[8]], &device), Some(state));
        let expected: Vec<Vec<u32>> = vec![vec![7, 6, 5, 4], vec![7, 6, 5, 9], vec![1, 2, 3, 8]];
        for (row, seq) in expected.iter().enumerate() {
            let full = lm.forward(ids(&[seq], &device));
            let want = values(&full.narrow(1, 3, 1));
            let got = values(&logits.clone().narrow(0, row, 1));
            let diff = max_diff(&want, &got);
            assert!(diff < 1e-5, "{backend}: row {row} differs by {diff}");
        }
    }
}

#[test]
fn lm_weights_round_trip_under_their_names() {
    let device = Device::flex();
    for config in lm_configs() {
        let a = config.init(&device);
        let dict = a.state_dict("");
        assert!(
            dict.get("encoder.layers.0.self_attn.in_proj_weight")
                .is_some()
        );
        assert_eq!(
            dict.get("encoder.layers.0.self_attn.in_proj_weight")
                .unwrap()
                .shape()
                .to_vec(),
            vec![3 * config.d_model, config.d_model]
        );
        assert_eq!(
            dict.get("encoder.norm.weight").is_some(),
            config.norm_first,
            "a final norm only after pre-norm layers"
        );
        assert_eq!(
            dict.get("positions.weight").is_some(),
            config.positions == PositionKind::Learned
        );
        let b = config.init(&device).load_state_dict(&dict, "").unwrap();
        let x = ids(&[&[1, 2, 3, 4]], &device);
        let diff = max_diff(&values(&a.forward(x.clone())), &values(&b.forward(x)));
        assert_eq!(diff, 0.0);
    }
}

#[test]
fn sequences_longer_than_the_positions_are_refused() {
    let device = Device::flex();
    let lm = lm_configs()[0].init(&device);
    let err = lm.try_forward(ids(&[&[1; 13]], &device)).unwrap_err();
    assert!(err.to_string().contains("12 positions"), "{err}");
    let err = TransformerLmConfig::new(5)
        .with_d_model(10)
        .with_n_heads(4)
        .try_init(&device)
        .unwrap_err();
    assert!(err.to_string().contains("n_heads"), "{err}");
}

#[test]
fn classifier_ignores_padding() {
    for (backend, device) in cpu_devices() {
        let model = TransformerClassifierConfig::new(10, 3)
            .with_d_model(8)
            .with_n_heads(2)
            .with_d_ff(16)
            .try_init(&device)
            .unwrap();
        let lengths = |l: &[i64]| {
            Tensor::<1, Int>::from_data(TensorData::new(l.to_vec(), [l.len()]), &device)
        };
        let padded = model
            .try_forward(
                ids(&[&[3, 4, 5, 0, 0], &[6, 7, 8, 9, 1]], &device),
                lengths(&[3, 5]),
            )
            .unwrap();
        let other_padding = model
            .try_forward(
                ids(&[&[3, 4, 5, 9, 2], &[6, 7, 8, 9, 1]], &device),
                lengths(&[3, 5]),
            )
            .unwrap();
        let alone = model
            .try_forward(ids(&[&[3, 4, 5]], &device), lengths(&[3]))
            .unwrap();
        assert_eq!(padded.dims(), [2, 3]);
        let first = values(&padded.clone().narrow(0, 0, 1));
        assert!(
            max_diff(&first, &values(&other_padding.narrow(0, 0, 1))) < 1e-6,
            "{backend}"
        );
        assert!(max_diff(&first, &values(&alone)) < 1e-5, "{backend}");
    }
}

#[test]
fn transformer_tagger_ignores_padding() {
    let device = Device::flex();
    let tagger = TaggerConfig::new(20, 12, 5)
        .with_architecture(TaggerArchitecture::Transformer)
        .with_d_hidden(8)
        .with_n_heads(2)
        .with_char_features(6)
        .with_dropout(0.0)
        .init(&device);
    let chars = |rows: usize, seq: usize, fill: i64| {
        Tensor::<3, Int>::from_data(
            TensorData::new(vec![fill; rows * seq * 4], [rows, seq, 4]),
            &device,
        )
    };
    let lengths =
        |l: &[i64]| Tensor::<1, Int>::from_data(TensorData::new(l.to_vec(), [l.len()]), &device);
    let padded = tagger.forward(
        ids(&[&[3, 4, 5, 0], &[1, 2, 3, 4]], &device),
        chars(2, 4, 3),
        lengths(&[3, 4]),
    );
    let alone = tagger.forward(ids(&[&[3, 4, 5]], &device), chars(1, 3, 3), lengths(&[3]));
    assert_eq!(padded.dims(), [2, 4, 5]);
    let real = values(&padded.narrow(0, 0, 1).narrow(1, 0, 3));
    assert!(max_diff(&real, &values(&alone)) < 1e-5);
    let dict = tagger.state_dict("");
    assert!(dict.get("transformer.layers.0.linear1.weight").is_some());
    assert!(dict.get("project.weight").is_some());
}

fn seq2seq_config() -> TransformerSeq2SeqConfig {
    TransformerSeq2SeqConfig::new(9, 7)
        .with_d_model(16)
        .with_n_heads(2)
        .with_d_ff(32)
        .with_max_len(16)
        .with_dropout(0.0)
}

#[test]
fn seq2seq_attention_is_a_distribution_over_the_real_source() {
    for (backend, device) in cpu_devices() {
        let model = seq2seq_config().init(&device);
        let src = ids(&[&[2, 3, 4, 5], &[6, 7, 0, 0]], &device);
        let tgt = ids(&[&[0, 3, 4], &[0, 5, 6]], &device);
        let out = model.forward(src, &[4, 2], tgt, 1.0, 0).unwrap();
        assert_eq!(out.logits.dims(), [2, 3, 7]);
        assert_eq!(out.attention.dims(), [2, 3, 4]);
        let w = values(&out.attention);
        for row in w.chunks(4) {
            let sum: f32 = row.iter().sum();
            assert!((sum - 1.0).abs() < 1e-5, "{backend}: {row:?}");
        }
        // The second source has 2 real steps: no weight on its padding.
        for step in w[12..].chunks(4) {
            assert!(step[2] < 1e-6 && step[3] < 1e-6, "{backend}: {step:?}");
        }
    }
}

#[test]
fn seq2seq_decoding_matches_its_teacher_forced_pass() {
    for (backend, device) in cpu_devices() {
        let model = seq2seq_config().init(&device);
        let src = ids(&[&[2, 3, 4, 5], &[6, 7, 8, 0]], &device);
        let limits = Limits {
            bos: 0,
            eos: 1,
            max_len: 6,
        };
        let greedy = model
            .translate(src.clone(), &[4, 3], Search::Greedy, limits)
            .unwrap();
        let beam1 = model
            .translate(
                src.clone(),
                &[4, 3],
                Search::Beam {
                    width: 1,
                    length_penalty: 1.0,
                },
                limits,
            )
            .unwrap();
        assert_eq!(greedy, beam1, "{backend}");
        // Feeding the greedy output back with teacher forcing gives the same argmax steps.
        for (row, tokens) in greedy.iter().enumerate() {
            let mut tgt_in = vec![0u32];
            tgt_in.extend(tokens);
            let src_row = src.clone().narrow(0, row, 1);
            let length = [4, 3][row];
            let out = model
                .forward(src_row, &[length], ids(&[&tgt_in], &device), 1.0, 0)
                .unwrap();
            let logits = values(&out.logits);
            let argmax: Vec<u32> = logits
                .chunks(7)
                .map(|l| {
                    l.iter()
                        .enumerate()
                        .max_by(|a, b| a.1.total_cmp(b.1))
                        .unwrap()
                        .0 as u32
                })
                .collect();
            // The first `tokens.len()` predictions are the tokens; the next ends the row
            // (unless the row ran into the maximum length).
            assert_eq!(&argmax[..tokens.len()], &tokens[..], "{backend} row {row}");
            if tokens.len() < limits.max_len {
                assert_eq!(argmax[tokens.len()], 1, "{backend} row {row}");
            }
        }
        let wide = model
            .translate(
                src,
                &[4, 3],
                Search::Beam {
                    width: 3,
                    length_penalty: 1.0,
                },
                limits,
            )
            .unwrap();
        assert_eq!(wide.len(), 2);
    }
}

#[test]
fn seq2seq_scheduled_sampling_changes_only_what_it_feeds() {
    let device = Device::flex();
    let model = seq2seq_config().init(&device);
    let src = ids(&[&[2, 3, 4, 5]], &device);
    let tgt = ids(&[&[0, 3, 4, 5, 6]], &device);
    let forced = model
        .forward(src.clone(), &[4], tgt.clone(), 1.0, 7)
        .unwrap();
    let own = model
        .forward(src.clone(), &[4], tgt.clone(), 0.0, 7)
        .unwrap();
    // Step 0 always sees the start token.
    let first = |t: &Tensor<3>| values(&t.clone().narrow(1, 0, 1));
    assert!(max_diff(&first(&forced.logits), &first(&own.logits)) < 1e-6);
    let err = model.forward(src, &[4], tgt, 1.5, 0).unwrap_err();
    assert!(err.to_string().contains("teacher_forcing"), "{err}");
}

#[test]
fn seq2seq_weights_use_pytorch_names_and_round_trip() {
    let device = Device::flex();
    let a = seq2seq_config().init(&device);
    let dict = a.state_dict("");
    for name in [
        "encoder.layers.1.self_attn.in_proj_weight",
        "decoder.0.multihead_attn.in_proj_bias",
        "decoder.1.norm3.weight",
        "decoder_norm.bias",
        "out.weight",
    ] {
        assert!(dict.get(name).is_some(), "{name}");
    }
    let b = seq2seq_config()
        .init(&device)
        .load_state_dict(&dict, "")
        .unwrap();
    let src = ids(&[&[2, 3, 4]], &device);
    let tgt = ids(&[&[0, 3]], &device);
    let x = a.forward(src.clone(), &[3], tgt.clone(), 1.0, 0).unwrap();
    let y = b.forward(src, &[3], tgt, 1.0, 0).unwrap();
    assert_eq!(max_diff(&values(&x.logits), &values(&y.logits)), 0.0);
}
