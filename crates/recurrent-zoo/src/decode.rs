//! Decoding a step model token by token: greedy, sampling (temperature, top-k) and beam
//! search, over any model that maps the tokens so far and a state to next-token logits
//! ([`StepModel`]).

use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::error::{Result, ZooError};

/// How to pick the next token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    /// The most likely token.
    Greedy,
    /// Beam search: keep the `width` most likely continuations (by summed log-probability)
    /// and return the best one. Width 1 is greedy.
    Beam {
        /// Number of hypotheses kept.
        width: usize,
    },
    /// Sample from `softmax(logits / temperature)`, among the `top_k` most likely when set.
    Random {
        /// Softmax temperature (> 0).
        temperature: f64,
        /// Keep only the k most likely tokens.
        top_k: Option<usize>,
    },
}

/// A model decoded one step at a time.
pub trait StepModel {
    /// What is carried between steps (a recurrent state).
    type State: Clone;

    /// Runs `ids` (`[k, n]`: `k` hypotheses, `n` new tokens each) from `state` (the start
    /// when `None`): the next-token logits after the last token, `[k, vocab]`, and the
    /// state after it.
    fn step(&self, ids: Tensor<2, Int>, state: Option<Self::State>) -> (Tensor<2>, Self::State);

    /// The state of the hypotheses `index` (`[k']`), in that order.
    fn reorder(state: Self::State, index: Tensor<1, Int>) -> Self::State;
}

/// Generates `length` tokens after `prime` with `model`, never choosing a token of
/// `banned` (padding, unknown, ...); `seed` drives [`Sampling::Random`].
///
/// Errors: an empty prime, a temperature that is not above 0, a beam width of 0, or logits
/// that are not finite (NaN or infinite: a diverged or damaged model), naming the step.
pub fn generate<M: StepModel>(
    model: &M,
    prime: &[u32],
    length: usize,
    sampling: Sampling,
    banned: &[u32],
    seed: u64,
    device: &Device,
) -> Result<Vec<u32>> {
    if prime.is_empty() {
        return Err(ZooError::value("prime", "no tokens to start from"));
    }
    match sampling {
        Sampling::Random { temperature, .. } if !(temperature > 0.0 && temperature.is_finite()) => {
            return Err(ZooError::value(
                "temperature",
                format!("{temperature} (must be above 0)"),
            ));
        }
        Sampling::Beam { width: 0 } => {
            return Err(ZooError::value("beam width", "0 (must be at least 1)"));
        }
        Sampling::Beam { width } => {
            return beam_search(model, prime, length, width, banned, device);
        }
        _ => {}
    }
    let (logits, mut state) = model.step(ids_tensor(&[prime.to_vec()], device), None);
    let mut last = finite(host(logits), 0)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(length);
    for step in 0..length {
        let next = pick(&last, sampling, &mut rng, banned);
        out.push(next);
        let (logits, s) = model.step(ids_tensor(&[vec![next]], device), Some(state));
        state = s;
        last = finite(host(logits), step + 1)?;
    }
    Ok(out)
}

/// `logits` when every one is finite; otherwise an error naming the step (0: after the
/// prime), as a model whose weights or state diverged gives NaN or infinite logits and no
/// token can be chosen from them.
fn finite(logits: Vec<f32>, step: usize) -> Result<Vec<f32>> {
    match logits.iter().find(|l| !l.is_finite()) {
        None => Ok(logits),
        Some(bad) => Err(ZooError::value(
            "logits",
            format!(
                "{bad} at generation step {step}: the model's outputs are not finite (diverged \
                 or damaged weights?)"
            ),
        )),
    }
}

/// `[k, n]` ids on `device`.
fn ids_tensor(rows: &[Vec<u32>], device: &Device) -> Tensor<2, Int> {
    let n = rows.first().map_or(0, Vec::len);
    let ids: Vec<i64> = rows.iter().flatten().map(|&i| i64::from(i)).collect();
    Tensor::from_data(TensorData::new(ids, [rows.len(), n]), device)
}

fn host(logits: Tensor<2>) -> Vec<f32> {
    logits
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("float logits")
}

/// The next token of `logits` (`[vocab]`) by `sampling`.
fn pick(logits: &[f32], sampling: Sampling, rng: &mut StdRng, banned: &[u32]) -> u32 {
    let mut scored: Vec<(u32, f32)> = logits
        .iter()
        .enumerate()
        .map(|(i, &l)| (i as u32, l))
        .filter(|(i, _)| !banned.contains(i))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    match sampling {
        Sampling::Greedy | Sampling::Beam { .. } => scored.first().map_or(0, |s| s.0),
        Sampling::Random { temperature, top_k } => {
            if let Some(k) = top_k {
                scored.truncate(k.max(1));
            }
            let max = scored.first().map_or(0.0, |s| f64::from(s.1));
            let weights: Vec<f64> = scored
                .iter()
                .map(|s| ((f64::from(s.1) - max) / temperature).exp())
                .collect();
            let total: f64 = weights.iter().sum();
            let mut u = rng.random::<f64>() * total;
            for (s, w) in scored.iter().zip(&weights) {
                if u < *w {
                    return s.0;
                }
                u -= w;
            }
            scored.last().map_or(0, |s| s.0)
        }
    }
}

/// `log(softmax(logits))` in f64.
pub fn log_softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits.iter().map(|&l| f64::from(l - max).exp()).sum();
    logits
        .iter()
        .map(|&l| f64::from(l - max) - sum.ln())
        .collect()
}

/// Beam search; the hypotheses run as one batch.
fn beam_search<M: StepModel>(
    model: &M,
    prime: &[u32],
    length: usize,
    width: usize,
    banned: &[u32],
    device: &Device,
) -> Result<Vec<u32>> {
    let (logits, mut state) = model.step(ids_tensor(&[prime.to_vec()], device), None);
    let mut last = finite(host(logits), 0)?;
    let vocab = last.len();
    // (tokens so far, summed log-probability) per hypothesis; the rows of `state`.
    let mut beams: Vec<(Vec<u32>, f64)> = vec![(Vec::new(), 0.0)];
    for step in 0..length {
        let mut candidates: Vec<(usize, u32, f64)> = Vec::new();
        for (b, (_, score)) in beams.iter().enumerate() {
            let logp = log_softmax(&last[b * vocab..(b + 1) * vocab]);
            for (id, lp) in logp.iter().enumerate() {
                if !banned.contains(&(id as u32)) {
                    candidates.push((b, id as u32, score + lp));
                }
            }
        }
        candidates.sort_by(|a, b| b.2.total_cmp(&a.2));
        candidates.truncate(width);
        let parents: Vec<i64> = candidates.iter().map(|c| c.0 as i64).collect();
        let index =
            Tensor::<1, Int>::from_data(TensorData::new(parents, [candidates.len()]), device);
        state = M::reorder(state, index);
        beams = candidates
            .iter()
            .map(|&(b, id, score)| {
                let mut tokens = beams[b].0.clone();
                tokens.push(id);
                (tokens, score)
            })
            .collect();
        let next: Vec<Vec<u32>> = candidates.iter().map(|c| vec![c.1]).collect();
        let (logits, s) = model.step(ids_tensor(&next, device), Some(state));
        state = s;
        last = finite(host(logits), step + 1)?;
    }
    Ok(beams
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|b| b.0)
        .unwrap_or_default())
}
