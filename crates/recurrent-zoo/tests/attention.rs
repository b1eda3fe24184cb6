//! Attention modules: scores follow their formulas, masked keys get exactly 0 weight, a
//! fully masked row gives zero weights and a zero context (never NaN), and self-attention
//! never looks at padding.

mod common;

use burn::tensor::{Device, Tensor};
use common::{cpu_devices, lengths, max_diff, seeded, values};
use recurrent_cells::SequenceInput;
use recurrent_zoo::attention::{
    AdditiveAttentionConfig, AttentionInput, AttentionPoolingConfig, DotAttentionConfig,
    LuongScore, RecurrentSelfAttentionConfig, masked_softmax,
};
use recurrent_zoo::{PytorchWeights, RecurrentConfig, RecurrentKind};

/// Softmax over `scores` restricted to the first `valid` entries (0 elsewhere).
fn host_softmax(scores: &[f32], valid: usize) -> Vec<f32> {
    let max = scores[..valid]
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = scores[..valid].iter().map(|s| (s - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    let mut out: Vec<f32> = exp.iter().map(|e| e / sum).collect();
    out.resize(scores.len(), 0.0);
    out
}

#[test]
fn dot_scores_follow_their_formulas() {
    for (_, device) in cpu_devices() {
        let (q, k) = (seeded([2, 1, 4], 1, &device), seeded([2, 3, 4], 2, &device));
        let (qv, kv) = (values(&q), values(&k));
        for score in [LuongScore::Dot, LuongScore::Scaled] {
            let attention = DotAttentionConfig::new(4, 4)
                .with_score(score)
                .init(&device);
            let out = attention.forward(
                AttentionInput::new(q.clone(), k.clone()).lengths(lengths(&[3, 2], &device)),
            );
            let w = values(&out.weights);
            let ctx = values(&out.context);
            for b in 0..2 {
                let valid = [3, 2][b];
                let scale = if score == LuongScore::Scaled {
                    0.5
                } else {
                    1.0
                };
                let scores: Vec<f32> = (0..3)
                    .map(|j| {
                        (0..4)
                            .map(|i| qv[b * 4 + i] * kv[(b * 3 + j) * 4 + i])
                            .sum::<f32>()
                            * scale
                    })
                    .collect();
                let expected = host_softmax(&scores, valid);
                assert!(max_diff(&w[b * 3..b * 3 + 3], &expected) < 1e-6, "{score}");
                assert_eq!(w[b * 3 + 2] == 0.0, valid == 2, "masked keys get exactly 0");
                let context: Vec<f32> = (0..4)
                    .map(|i| (0..3).map(|j| expected[j] * kv[(b * 3 + j) * 4 + i]).sum())
                    .collect();
                assert!(max_diff(&ctx[b * 4..b * 4 + 4], &context) < 1e-6);
            }
        }
    }
}

#[test]
fn additive_scores_follow_the_bahdanau_formula() {
    // score_j = Va · tanh(Wa q + Ua k_j) + b_v, computed here from the module's weights.
    let device = Device::flex();
    let attention = AdditiveAttentionConfig::new(2, 3, 4).init(&device);
    let dict = attention.state_dict("");
    let get = |n: &str| {
        dict.get(n)
            .unwrap()
            .clone()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap()
    };
    let (wa, wb, ua, ub, va, vb) = (
        get("Wa.weight"),
        get("Wa.bias"),
        get("Ua.weight"),
        get("Ua.bias"),
        get("Va.weight"),
        get("Va.bias"),
    );
    let q = seeded([1, 1, 2], 5, &device);
    let k = seeded([1, 3, 3], 6, &device);
    let (qv, kv) = (values(&q), values(&k));
    let scores: Vec<f32> = (0..3)
        .map(|j| {
            (0..4)
                .map(|a| {
                    let wq: f32 = wb[a] + (0..2).map(|i| wa[a * 2 + i] * qv[i]).sum::<f32>();
                    let uk: f32 =
                        ub[a] + (0..3).map(|i| ua[a * 3 + i] * kv[j * 3 + i]).sum::<f32>();
                    va[a] * (wq + uk).tanh()
                })
                .sum::<f32>()
                + vb[0]
        })
        .collect();
    let out = attention.forward(AttentionInput::new(q, k));
    assert!(max_diff(&values(&out.weights), &host_softmax(&scores, 3)) < 1e-6);
}

#[test]
fn a_fully_masked_row_has_zero_weights_and_context() {
    for (_, device) in cpu_devices() {
        let attention = DotAttentionConfig::new(4, 4).init(&device);
        let out = attention.forward(
            AttentionInput::new(seeded([2, 3, 4], 1, &device), seeded([2, 5, 4], 2, &device))
                .lengths(lengths(&[0, 5], &device)),
        );
        let w = values(&out.weights);
        let c = values(&out.context);
        assert!(w.iter().chain(&c).all(|v| v.is_finite()));
        assert!(w[..15].iter().all(|&v| v == 0.0));
        assert!(c[..12].iter().all(|&v| v == 0.0));
        for row in w[15..].chunks(5) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        // And the gradient through an all-masked row is finite too.
        let ad = device.clone().autodiff();
        let scores = seeded([1, 1, 3], 4, &ad).require_grad();
        let valid = recurrent_cells::lengths_to_mask(lengths(&[0], &ad), 3);
        let grads = masked_softmax(scores.clone(), Some(&valid))
            .sum()
            .backward();
        assert!(
            values(&scores.grad(&grads).unwrap())
                .iter()
                .all(|v| v.is_finite())
        );
    }
}

#[test]
fn shape_errors_name_the_input() {
    let device = Device::flex();
    let attention = AdditiveAttentionConfig::new(2, 3, 4).init(&device);
    let err = attention
        .try_forward(AttentionInput::new(
            Tensor::zeros([1, 1, 5], &device),
            Tensor::zeros([1, 3, 3], &device),
        ))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("query: expected shape [batch, n_queries, 2]"),
        "{err}"
    );
    let err = DotAttentionConfig::new(4, 6).try_init(&device).unwrap_err();
    assert!(err.to_string().contains("general"), "{err}");
}

#[test]
fn attention_pooling_weighs_valid_steps_only() {
    let device = Device::flex();
    let pooling = AttentionPoolingConfig::new(3, 5).init(&device);
    let x = seeded([2, 4, 3], 3, &device);
    let valid = recurrent_cells::lengths_to_mask(lengths(&[4, 2], &device), 4);
    let (pooled, weights) = pooling.forward(x.clone(), Some(&valid));
    let (w, xv, p) = (values(&weights), values(&x), values(&pooled));
    assert!(w[6] == 0.0 && w[7] == 0.0);
    for b in 0..2 {
        assert!((w[b * 4..b * 4 + 4].iter().sum::<f32>() - 1.0).abs() < 1e-6);
        let expected: Vec<f32> = (0..3)
            .map(|i| (0..4).map(|t| w[b * 4 + t] * xv[(b * 4 + t) * 3 + i]).sum())
            .collect();
        assert!(max_diff(&p[b * 3..b * 3 + 3], &expected) < 1e-6);
    }
}

#[test]
fn recurrent_self_attention_ignores_padding() {
    for (_, device) in cpu_devices() {
        let block = RecurrentSelfAttentionConfig::new(
            RecurrentConfig::new(RecurrentKind::Lstm, 3, 4).with_bidirectional(true),
        )
        .with_n_heads(2)
        .init(&device);
        let lens = [5, 3];
        let x = seeded([2, 5, 3], 1, &device);
        let mask = recurrent_cells::lengths_to_mask(lengths(&lens, &device), 5)
            .float()
            .unsqueeze_dim::<3>(2);
        let x2 = x.clone() * mask.clone() + seeded([2, 5, 3], 9, &device) * (mask.neg() + 1.0);
        let run = |t| {
            block
                .forward_input(SequenceInput::new(t).lengths(lengths(&lens, &device)))
                .0
        };
        let (a, b) = (run(x), run(x2));
        assert_eq!(a.dims(), [2, 5, 8]);
        assert!(max_diff(&values(&a), &values(&b)) < 1e-5);
        assert!(
            values(&a.narrow(0, 1, 1).narrow(1, 3, 2))
                .iter()
                .all(|&v| v == 0.0)
        );
        let names: Vec<String> = block.state_dict("").names().map(str::to_owned).collect();
        assert!(
            names.contains(&"attention.query.weight".to_owned()),
            "{names:?}"
        );
        assert!(names.contains(&"recurrent.weight_ih_l0_reverse".to_owned()));
    }
    let err = RecurrentSelfAttentionConfig::new(RecurrentConfig::new(RecurrentKind::Gru, 3, 5))
        .with_n_heads(2)
        .try_init(&Device::flex())
        .unwrap_err();
    assert!(err.to_string().contains("n_heads"), "{err}");
}
