//! The encoder-decoder with attention: shapes, source masks, teacher forcing, decoding and
//! weights.

mod common;

use burn::tensor::{Device, Int, Tensor, TensorData};
use common::{cpu_devices, max_diff, values};
use recurrent_zoo::attention::LuongScore;
use recurrent_zoo::models::{Seq2Seq, Seq2SeqAttention, Seq2SeqConfig, sequence_cross_entropy};
use recurrent_zoo::search::{Limits, Search};
use recurrent_zoo::{PytorchWeights, RecurrentKind};

const SRC_VOCAB: usize = 9;
const TGT_VOCAB: usize = 7;
const BOS: u32 = 0;
const EOS: u32 = 1;

fn ids(rows: &[&[u32]], device: &Device) -> Tensor<2, Int> {
    let width = rows[0].len();
    let flat: Vec<i64> = rows
        .iter()
        .flat_map(|r| r.iter().map(|&t| i64::from(t)))
        .collect();
    Tensor::from_data(TensorData::new(flat, [rows.len(), width]), device)
}

/// Every combination of cell, encoder direction and attention the tests cover.
fn configs() -> Vec<Seq2SeqConfig> {
    let mut out = Vec::new();
    for (kind, bidirectional, attention) in [
        (RecurrentKind::Lstm, true, Seq2SeqAttention::Bahdanau),
        (
            RecurrentKind::Gru,
            false,
            Seq2SeqAttention::Luong(LuongScore::Dot),
        ),
        (
            RecurrentKind::Lstm,
            false,
            Seq2SeqAttention::Luong(LuongScore::General),
        ),
        (
            RecurrentKind::Rnn,
            true,
            Seq2SeqAttention::Luong(LuongScore::Scaled),
        ),
    ] {
        out.push(
            Seq2SeqConfig::new(SRC_VOCAB, TGT_VOCAB)
                .with_kind(kind)
                .with_bidirectional(bidirectional)
                .with_attention(attention)
                .with_d_embed(5)
                .with_d_hidden(6)
                .with_n_layers(2),
        );
    }
    out
}

fn sources(device: &Device) -> (Tensor<2, Int>, Vec<usize>) {
    let src = ids(
        &[
            &[2, 3, 4, 5, 6, 7],
            &[8, 2, 3, 0, 0, 0],
            &[4, 0, 0, 0, 0, 0],
        ],
        device,
    );
    (src, vec![6, 3, 1])
}

#[test]
fn shapes_and_attention_over_valid_source_steps_only() {
    for (name, device) in cpu_devices() {
        for config in configs() {
            let model = config.init(&device);
            let (src, lengths) = sources(&device);
            let tgt = ids(&[&[0, 2, 3, 4], &[0, 5, 6, 2], &[0, 3, 3, 3]], &device);
            let out = model.forward(src, &lengths, tgt, 1.0, 0).unwrap();
            assert_eq!(out.logits.dims(), [3, 4, TGT_VOCAB], "{name}");
            assert_eq!(out.attention.dims(), [3, 4, 6], "{name}");
            let weights = values(&out.attention);
            for (row, &length) in lengths.iter().enumerate() {
                for t in 0..4 {
                    let w = &weights[(row * 4 + t) * 6..][..6];
                    let sum: f32 = w.iter().sum();
                    assert!((sum - 1.0).abs() < 1e-5, "{name} {config:?}: sum {sum}");
                    assert!(
                        w[length..].iter().all(|&v| v == 0.0),
                        "{name}: padding gets no attention: {w:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn tokens_past_a_source_length_change_nothing() {
    for (name, device) in cpu_devices() {
        for config in configs() {
            let model = config.init(&device);
            let (src, lengths) = sources(&device);
            let junk = ids(
                &[
                    &[2, 3, 4, 5, 6, 7],
                    &[8, 2, 3, 7, 7, 8],
                    &[4, 6, 5, 4, 3, 2],
                ],
                &device,
            );
            let tgt = ids(&[&[0, 2, 3], &[0, 5, 6], &[0, 3, 3]], &device);
            let a = model.forward(src, &lengths, tgt.clone(), 1.0, 0).unwrap();
            let b = model.forward(junk, &lengths, tgt, 1.0, 0).unwrap();
            let diff = max_diff(&values(&a.logits), &values(&b.logits));
            assert!(
                diff < 1e-6,
                "{name} {config:?}: padding changed logits by {diff}"
            );
        }
    }
}

#[test]
fn greedy_decoding_is_the_free_running_forward_pass() {
    // With a teacher-forcing ratio of 0 every step is fed the previous step's most likely
    // token: the argmax of its logits is what greedy decoding emits, up to the end token.
    let device = Device::flex();
    for config in configs() {
        let model = config.init(&device);
        let (src, lengths) = sources(&device);
        let steps = 6;
        let tgt = ids(&[&[0; 6], &[0; 6], &[0; 6]], &device);
        let out = model.forward(src.clone(), &lengths, tgt, 0.0, 7).unwrap();
        let argmax: Vec<i64> = out
            .logits
            .argmax(2)
            .into_data()
            .convert::<i64>()
            .try_into_vec::<i64>()
            .unwrap();
        let limits = Limits {
            bos: BOS,
            eos: EOS,
            max_len: steps,
        };
        let greedy = model
            .translate(src, &lengths, Search::Greedy, limits)
            .unwrap();
        for (row, tokens) in greedy.iter().enumerate() {
            let free: Vec<u32> = argmax[row * steps..(row + 1) * steps]
                .iter()
                .map(|&t| t as u32)
                .take_while(|&t| t != EOS)
                .collect();
            assert_eq!(tokens, &free, "{config:?} row {row}");
        }
    }
}

#[test]
fn beam_search_of_width_one_is_greedy_and_wider_beams_run_batched() {
    let device = Device::flex();
    let limits = Limits {
        bos: BOS,
        eos: EOS,
        max_len: 8,
    };
    for config in configs() {
        let model = config.init(&device);
        let (src, lengths) = sources(&device);
        let greedy = model
            .translate(src.clone(), &lengths, Search::Greedy, limits)
            .unwrap();
        let one = Search::Beam {
            width: 1,
            length_penalty: 1.0,
        };
        let beam = model.translate(src.clone(), &lengths, one, limits).unwrap();
        assert_eq!(beam, greedy, "{config:?}");
        let wide = Search::Beam {
            width: 4,
            length_penalty: 0.6,
        };
        let out = model
            .translate(src.clone(), &lengths, wide, limits)
            .unwrap();
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|t| t.len() <= 8 && !t.contains(&EOS)));
        // Each row decodes as it would alone.
        for row in 0..3 {
            let alone = model
                .translate(
                    src.clone().narrow(0, row, 1),
                    &lengths[row..=row],
                    wide,
                    limits,
                )
                .unwrap();
            assert_eq!(alone[0], out[row], "{config:?} row {row}");
        }
    }
}

#[test]
fn teacher_forcing_ratio_one_ignores_the_seed_and_zero_differs() {
    let device = Device::flex();
    let model = configs().remove(0).init(&device);
    let (src, lengths) = sources(&device);
    let run = |tgt: &Tensor<2, Int>, ratio, seed| {
        model
            .forward(src.clone(), &lengths, tgt.clone(), ratio, seed)
            .unwrap()
            .logits
    };
    // The model's own most likely tokens when it runs free (ratio 0)...
    let start = ids(&[&[0, 6, 6, 6], &[0, 6, 6, 6], &[0, 6, 6, 6]], &device);
    let own: Vec<i64> = run(&start, 0.0, 0)
        .argmax(2)
        .into_data()
        .convert::<i64>()
        .try_into_vec::<i64>()
        .unwrap();
    // ... and a target that differs from them at every step after the first.
    let rows: Vec<Vec<u32>> = (0..3)
        .map(|b| {
            (0..4)
                .map(|t| {
                    if t == 0 {
                        0
                    } else {
                        ((own[b * 4 + t - 1] + 1) % TGT_VOCAB as i64) as u32
                    }
                })
                .collect()
        })
        .collect();
    let row_refs: Vec<&[u32]> = rows.iter().map(Vec::as_slice).collect();
    let tgt = ids(&row_refs, &device);
    let teacher = values(&run(&tgt, 1.0, 1));
    assert_eq!(teacher, values(&run(&tgt, 1.0, 2)), "ratio 1 draws nothing");
    assert_eq!(
        values(&run(&tgt, 0.5, 3)),
        values(&run(&tgt, 0.5, 3)),
        "a seed fixes the draws"
    );
    // Ratio 0 feeds the model's own tokens, which differ from the target's: step 1 on differs.
    let free = values(&run(&tgt, 0.0, 0));
    assert!(max_diff(&teacher, &free) > 0.0);
    // Step 0 sees the same start token either way.
    for b in 0..3 {
        let row = b * 4 * TGT_VOCAB;
        assert_eq!(
            &teacher[row..row + TGT_VOCAB],
            &free[row..row + TGT_VOCAB],
            "step 0 of row {b}"
        );
    }
}

#[test]
fn cross_entropy_over_target_lengths_by_hand() {
    let device = Device::flex();
    // Two rows, two steps, three classes. Row 0 scores both steps, row 1 only its first.
    let logits = Tensor::<3>::from_data(
        TensorData::new(
            vec![
                0.0f32, 0.0, 0.0, // uniform: -ln 3 at any target
                2.0, 0.0, 0.0, // target 0: log(e^2 / (e^2 + 2))
                0.0, 1.0, 0.0, // target 1: log(e / (e + 2))
                5.0, 5.0, 5.0, // padding: ignored
            ],
            [2, 2, 3],
        ),
        &device,
    );
    let targets = ids(&[&[2, 0], &[1, 2]], &device);
    let loss = sequence_cross_entropy(logits, targets, &[2, 1]).unwrap();
    let e = std::f64::consts::E;
    let expected = ((3.0f64).ln() - (e * e / (e * e + 2.0)).ln() - (e / (e + 2.0)).ln()) / 3.0;
    let got = f64::from(values(&loss)[0]);
    assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
}

#[test]
fn gradients_reach_every_weight() {
    let device = Device::flex().autodiff();
    for config in configs() {
        let model = config.init(&device);
        let (src, lengths) = sources(&device);
        let tgt_in = ids(&[&[0, 2, 3], &[0, 5, 6], &[0, 3, 3]], &device);
        let tgt_out = ids(&[&[2, 3, 1], &[5, 6, 1], &[3, 1, 1]], &device);
        let out = model.forward(src, &lengths, tgt_in, 0.5, 3).unwrap();
        let loss = sequence_cross_entropy(out.logits, tgt_out, &[3, 3, 2]).unwrap();
        let grads = loss.backward();
        let weights = model.state_dict("");
        let grad_dict = model.grads(&grads, "");
        for name in weights.names() {
            let grad = grad_dict
                .get(name)
                .unwrap_or_else(|| panic!("{config:?}: no gradient for {name}"));
            let grad = grad.clone().try_into_vec_as::<f32>().unwrap();
            assert!(
                grad.iter().any(|&g| g != 0.0),
                "{config:?}: zero gradient for {name}"
            );
        }
    }
}

#[test]
fn weights_round_trip_under_their_names() {
    let device = Device::flex();
    let config = configs().remove(0);
    let a = config.init(&device);
    let b = config
        .init(&device)
        .load_state_dict(&a.state_dict(""), "")
        .unwrap();
    let names: Vec<&str> = a
        .state_dict("")
        .names()
        .map(|n| &*n.to_owned().leak())
        .collect();
    for expected in [
        "src_embed.weight",
        "encoder.weight_ih_l0_reverse",
        "bridge_h.weight",
        "bridge_c.weight",
        "decoder.weight_hh_l1",
        "attention.Wa.weight",
        "out.weight",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    let (src, lengths) = sources(&device);
    let tgt = ids(&[&[0, 2], &[0, 5], &[0, 3]], &device);
    let run = |m: &Seq2Seq| {
        values(
            &m.forward(src.clone(), &lengths, tgt.clone(), 1.0, 0)
                .unwrap()
                .logits,
        )
    };
    assert_eq!(run(&a), run(&b));
}

#[test]
fn bad_input_is_a_clear_error() {
    let device = Device::flex();
    let model = configs().remove(0).init(&device);
    let (src, _) = sources(&device);
    let tgt = ids(&[&[0, 2], &[0, 5], &[0, 3]], &device);
    let message = |lengths: &[usize]| {
        model
            .forward(src.clone(), lengths, tgt.clone(), 1.0, 0)
            .unwrap_err()
            .to_string()
    };
    assert!(
        message(&[6, 0, 1]).contains("sequence 1 has length 0"),
        "{}",
        message(&[6, 0, 1])
    );
    assert!(message(&[6, 3, 7]).contains("sequence 2 has length 7"));
    assert!(message(&[6, 3]).contains("2 lengths for 3 sequences"));
    let short_target = ids(&[&[0, 2]], &device);
    assert!(
        model
            .forward(src.clone(), &[6, 3, 1], short_target, 1.0, 0)
            .is_err()
    );
    assert!(model.forward(src, &[6, 3, 1], tgt, 1.5, 0).is_err());
}

#[test]
fn attention_names_parse_and_print() {
    for (text, attention) in [
        ("bahdanau", Seq2SeqAttention::Bahdanau),
        ("luong-dot", Seq2SeqAttention::Luong(LuongScore::Dot)),
        (
            "luong-general",
            Seq2SeqAttention::Luong(LuongScore::General),
        ),
        ("luong-scaled", Seq2SeqAttention::Luong(LuongScore::Scaled)),
    ] {
        assert_eq!(text.parse::<Seq2SeqAttention>().unwrap(), attention);
        assert_eq!(attention.to_string(), text);
    }
    assert_eq!(
        "luong".parse::<Seq2SeqAttention>().unwrap(),
        Seq2SeqAttention::Luong(LuongScore::Dot)
    );
    assert!("luong-cosine".parse::<Seq2SeqAttention>().is_err());
    assert!("transformer".parse::<Seq2SeqAttention>().is_err());
}
