//! Batched decoding with an end token: greedy, sampling (temperature, top-k, top-p) and beam
//! search (width, length normalisation, maximum length), for models that emit one token per
//! row per step ([`BatchStep`]) such as [`crate::models::Seq2Seq`].
//!
//! The search itself runs on the host over the rows' logits; the model only feeds tokens and
//! keeps (and reorders) its per-row state. Beam search with width 1 is greedy decoding.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::decode::log_softmax;
use crate::error::{Result, ZooError};

/// A model decoded in rows (one hypothesis each), one token per row per step.
pub trait BatchStep {
    /// Reorders the rows first, so that new row `i` continues old row `parents[i]` (rows may
    /// be repeated or dropped; at the first step `parents` indexes the input batch), then
    /// feeds `tokens[i]` to row `i`. Returns the next-token logits of every row, `[rows][vocab]`.
    fn step(&mut self, parents: &[usize], tokens: &[u32]) -> Result<Vec<Vec<f32>>>;
}

/// How to pick tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Search {
    /// The most likely token at every step.
    Greedy,
    /// Sampling from `softmax(logits / temperature)`, among the `top_k` most likely tokens
    /// and the smallest set whose probability reaches `top_p` when set.
    Sample {
        /// Softmax temperature (> 0).
        temperature: f64,
        /// Keep only the k most likely tokens.
        top_k: Option<usize>,
        /// Keep the most likely tokens up to this cumulative probability (nucleus sampling).
        top_p: Option<f64>,
        /// Seed of the sampler.
        seed: u64,
    },
    /// Beam search: the `width` most likely continuations by summed log-probability; a
    /// finished hypothesis scores `log p / length^length_penalty` (0: no normalisation, 1:
    /// mean log-probability per token, end token included).
    Beam {
        /// Hypotheses kept per input row.
        width: usize,
        /// Exponent of the length normalisation.
        length_penalty: f64,
    },
}

/// Where a decoded sequence starts and stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The token fed first.
    pub bos: u32,
    /// The token that ends a sequence (not included in the result).
    pub eos: u32,
    /// The most tokens a sequence may get (the end token included).
    pub max_len: usize,
}

/// Decodes `batch` input rows with `model`: each row's tokens, without the start and end
/// tokens.
///
/// Errors: a temperature that is not above 0, a `top_p` outside `(0, 1]`, a beam width of 0,
/// a maximum length of 0, or a model that returns the wrong number of rows.
pub fn decode_batch(
    model: &mut impl BatchStep,
    batch: usize,
    search: Search,
    limits: Limits,
) -> Result<Vec<Vec<u32>>> {
    if limits.max_len == 0 {
        return Err(ZooError::value("max_len", "0 (must be at least 1)"));
    }
    match search {
        Search::Greedy => beam(model, batch, 1, 0.0, limits),
        Search::Beam { width: 0, .. } => {
            Err(ZooError::value("beam width", "0 (must be at least 1)"))
        }
        Search::Beam {
            width,
            length_penalty,
        } => beam(model, batch, width, length_penalty, limits),
        Search::Sample {
            temperature,
            top_k,
            top_p,
            seed,
        } => {
            if !(temperature > 0.0 && temperature.is_finite()) {
                return Err(ZooError::value(
                    "temperature",
                    format!("{temperature} (must be above 0)"),
                ));
            }
            if let Some(p) = top_p
                && !(p > 0.0 && p <= 1.0)
            {
                return Err(ZooError::value("top_p", format!("{p} (must be in (0, 1])")));
            }
            sample(model, batch, temperature, top_k, top_p, seed, limits)
        }
    }
}

/// Calls the model and checks that every row has logits.
fn run(model: &mut impl BatchStep, parents: &[usize], tokens: &[u32]) -> Result<Vec<Vec<f32>>> {
    let logits = model.step(parents, tokens)?;
    if logits.len() != tokens.len() || logits.iter().any(Vec::is_empty) {
        return Err(ZooError::value(
            "model step",
            format!(
                "{} rows of logits for {} tokens",
                logits.len(),
                tokens.len()
            ),
        ));
    }
    Ok(logits)
}

/// One hypothesis of a beam.
#[derive(Debug, Clone)]
struct Hypothesis {
    tokens: Vec<u32>,
    log_prob: f64,
}

impl Hypothesis {
    /// The score that ranks finished hypotheses.
    fn normalised(&self, length_penalty: f64, ended: bool) -> f64 {
        let length = self.tokens.len() + usize::from(ended);
        self.log_prob / (length.max(1) as f64).powf(length_penalty)
    }
}

fn beam(
    model: &mut impl BatchStep,
    batch: usize,
    width: usize,
    length_penalty: f64,
    limits: Limits,
) -> Result<Vec<Vec<u32>>> {
    // Row b * width + k is beam k of input b; only beam 0 is alive at the start, so that
    // the first expansion does not repeat the same continuation `width` times.
    let mut alive: Vec<Vec<Option<Hypothesis>>> = (0..batch)
        .map(|_| {
            let mut beams = vec![None; width];
            beams[0] = Some(Hypothesis {
                tokens: Vec::new(),
                log_prob: 0.0,
            });
            beams
        })
        .collect();
    let mut finished: Vec<Vec<(f64, Vec<u32>)>> = vec![Vec::new(); batch];
    let mut done = vec![false; batch];
    let mut parents: Vec<usize> = (0..batch * width).map(|row| row / width).collect();
    let mut tokens = vec![limits.bos; batch * width];
    for step in 0..limits.max_len {
        let logits = run(model, &parents, &tokens)?;
        let mut next_parents = Vec::with_capacity(batch * width);
        let mut next_tokens = Vec::with_capacity(batch * width);
        for b in 0..batch {
            let rows = b * width..(b + 1) * width;
            if done[b] {
                // Finished inputs keep their rows (any token) so every input keeps `width`.
                next_parents.extend(rows.clone());
                next_tokens.extend(std::iter::repeat_n(limits.eos, width));
                continue;
            }
            // Every continuation of every live beam, best first.
            let mut candidates: Vec<(f64, usize, u32)> = Vec::new();
            for (k, hyp) in alive[b].iter().enumerate() {
                let Some(hyp) = hyp else { continue };
                for (token, lp) in log_softmax(&logits[b * width + k]).into_iter().enumerate() {
                    candidates.push((hyp.log_prob + lp, k, token as u32));
                }
            }
            candidates.sort_by(|x, y| y.0.total_cmp(&x.0));
            candidates.truncate(width);
            let last_step = step + 1 == limits.max_len;
            let mut beams = vec![None; width];
            let mut slot = 0;
            for (log_prob, k, token) in candidates {
                let parent = alive[b][k].as_ref().expect("a live beam");
                if token == limits.eos {
                    let hyp = Hypothesis {
                        tokens: parent.tokens.clone(),
                        log_prob,
                    };
                    finished[b].push((hyp.normalised(length_penalty, true), hyp.tokens));
                    continue;
                }
                let mut hyp_tokens = parent.tokens.clone();
                hyp_tokens.push(token);
                let hyp = Hypothesis {
                    tokens: hyp_tokens,
                    log_prob,
                };
                if last_step {
                    // Out of length: it ends here, without an end token.
                    finished[b].push((hyp.normalised(length_penalty, false), hyp.tokens));
                    continue;
                }
                beams[slot] = Some(hyp);
                next_parents.push(b * width + k);
                next_tokens.push(token);
                slot += 1;
            }
            // Empty slots continue beam 0's row (their results are ignored).
            for _ in slot..width {
                next_parents.push(b * width);
                next_tokens.push(limits.eos);
            }
            alive[b] = beams;
            done[b] = slot == 0 || finished[b].len() >= width;
        }
        if done.iter().all(|&d| d) {
            break;
        }
        parents = next_parents;
        tokens = next_tokens;
    }
    Ok(finished
        .into_iter()
        .map(|hyps| {
            hyps.into_iter()
                .max_by(|x, y| x.0.total_cmp(&y.0))
                .map(|(_, tokens)| tokens)
                .unwrap_or_default()
        })
        .collect())
}

#[allow(clippy::too_many_arguments)]
fn sample(
    model: &mut impl BatchStep,
    batch: usize,
    temperature: f64,
    top_k: Option<usize>,
    top_p: Option<f64>,
    seed: u64,
    limits: Limits,
) -> Result<Vec<Vec<u32>>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = vec![Vec::new(); batch];
    let mut done = vec![false; batch];
    let parents: Vec<usize> = (0..batch).collect();
    let mut tokens = vec![limits.bos; batch];
    for _ in 0..limits.max_len {
        let logits = run(model, &parents, &tokens)?;
        for (b, row) in logits.iter().enumerate() {
            if done[b] {
                continue;
            }
            let token = pick(row, temperature, top_k, top_p, &mut rng);
            if token == limits.eos {
                done[b] = true;
            } else {
                out[b].push(token);
                tokens[b] = token;
            }
        }
        if done.iter().all(|&d| d) {
            break;
        }
    }
    Ok(out)
}

/// A token drawn from `softmax(logits / temperature)` restricted to the top-k and top-p sets.
fn pick(
    logits: &[f32],
    temperature: f64,
    top_k: Option<usize>,
    top_p: Option<f64>,
    rng: &mut StdRng,
) -> u32 {
    let scaled: Vec<f32> = logits
        .iter()
        .map(|&l| (f64::from(l) / temperature) as f32)
        .collect();
    let mut ranked: Vec<(u32, f64)> = log_softmax(&scaled)
        .into_iter()
        .enumerate()
        .map(|(i, lp)| (i as u32, lp.exp()))
        .collect();
    ranked.sort_by(|x, y| y.1.total_cmp(&x.1));
    if let Some(k) = top_k {
        ranked.truncate(k.max(1));
    }
    if let Some(p) = top_p {
        let mut total = 0.0;
        let keep = ranked
            .iter()
            .position(|&(_, q)| {
                total += q;
                total >= p
            })
            .map_or(ranked.len(), |i| i + 1);
        ranked.truncate(keep);
    }
    let total: f64 = ranked.iter().map(|r| r.1).sum();
    let mut u = rng.random::<f64>() * total;
    for &(token, q) in &ranked {
        if u < q {
            return token;
        }
        u -= q;
    }
    ranked.last().map_or(0, |r| r.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model whose next-token probabilities depend only on the last token fed: a table
    /// `probs[last][next]`, with vocabulary {0: bos, 1: eos, 2: a, 3: b}.
    struct Table {
        probs: Vec<Vec<f64>>,
        last: Vec<u32>,
    }

    impl BatchStep for Table {
        fn step(&mut self, _parents: &[usize], tokens: &[u32]) -> Result<Vec<Vec<f32>>> {
            self.last = tokens.to_vec();
            Ok(tokens
                .iter()
                .map(|&t| {
                    self.probs[t as usize]
                        .iter()
                        .map(|&p| p.max(1e-12).ln() as f32)
                        .collect()
                })
                .collect())
        }
    }

    fn table() -> Table {
        Table {
            probs: vec![
                // After bos: a 0.5, b 0.4, eos 0.1.
                vec![0.0, 0.1, 0.5, 0.4],
                // After eos (never used for a live beam).
                vec![0.0, 1.0, 0.0, 0.0],
                // After a: eos 0.3, a 0.35, b 0.35.
                vec![0.0, 0.3, 0.35, 0.35],
                // After b: eos 0.9, a 0.05, b 0.05.
                vec![0.0, 0.9, 0.05, 0.05],
            ],
            last: Vec::new(),
        }
    }

    const LIMITS: Limits = Limits {
        bos: 0,
        eos: 1,
        max_len: 5,
    };

    #[test]
    fn greedy_follows_the_most_likely_token() {
        // a (0.5), then a or b tie at 0.35: the first listed (a) wins; then again a ...
        // until the maximum length: [a, a, a, a, a].
        let out = decode_batch(&mut table(), 1, Search::Greedy, LIMITS).unwrap();
        assert_eq!(out, vec![vec![2, 2, 2, 2, 2]]);
    }

    #[test]
    fn beam_search_finds_the_sequence_greedy_misses() {
        // By hand: p(b, eos) = 0.4 * 0.9 = 0.36 beats every continuation of a (p(a, eos) =
        // 0.15, p(a, a, ...) <= 0.175 and shrinking). Width 2 keeps b after step 1 and
        // returns [b].
        let search = Search::Beam {
            width: 2,
            length_penalty: 0.0,
        };
        let out = decode_batch(&mut table(), 1, search, LIMITS).unwrap();
        assert_eq!(out, vec![vec![3]]);
    }

    #[test]
    fn beam_width_one_is_greedy() {
        for length_penalty in [0.0, 1.0] {
            let search = Search::Beam {
                width: 1,
                length_penalty,
            };
            let beam = decode_batch(&mut table(), 3, search, LIMITS).unwrap();
            let greedy = decode_batch(&mut table(), 3, Search::Greedy, LIMITS).unwrap();
            assert_eq!(beam, greedy);
        }
    }

    #[test]
    fn length_normalisation_divides_by_the_length_to_a_power() {
        // Two tokens and an end token: length 3 (2 without the end token).
        let hyp = Hypothesis {
            tokens: vec![2, 3],
            log_prob: -3.0,
        };
        assert!((hyp.normalised(0.0, true) - -3.0).abs() < 1e-12);
        assert!((hyp.normalised(1.0, true) - -1.0).abs() < 1e-12);
        assert!((hyp.normalised(1.0, false) - -1.5).abs() < 1e-12);
        assert!((hyp.normalised(0.5, true) - -3.0 / 3f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn length_normalisation_changes_the_choice() {
        // Vocabulary {0: bos, 1: eos, 2: a, 3: b, 4: c}. By hand: p([a]) = 0.6 * 0.7 = 0.42
        // and p([b, c]) = 0.4 * 0.995 * 0.99 = 0.394. Raw log-probabilities: -0.868 against
        // -0.931, so [a]. Per token (end included): -0.868 / 2 = -0.434 against -0.931 / 3 =
        // -0.310, so [b, c].
        let mut model = Table {
            probs: vec![
                vec![0.0, 0.0, 0.6, 0.4, 0.0],
                vec![0.0, 1.0, 0.0, 0.0, 0.0],
                vec![0.0, 0.7, 0.1, 0.1, 0.1],
                vec![0.0, 0.005, 0.0, 0.0, 0.995],
                vec![0.0, 0.99, 0.005, 0.005, 0.0],
            ],
            last: Vec::new(),
        };
        let beam = |length_penalty| Search::Beam {
            width: 2,
            length_penalty,
        };
        let raw = decode_batch(&mut model, 1, beam(0.0), LIMITS).unwrap();
        assert_eq!(raw, vec![vec![2]], "p(a) = 0.42 beats p(b, c) = 0.394");
        let per_token = decode_batch(&mut model, 1, beam(1.0), LIMITS).unwrap();
        assert_eq!(per_token, vec![vec![3, 4]], "-0.31 per token beats -0.43");
    }

    #[test]
    fn sampling_respects_top_k_and_the_end_token() {
        // top_k = 1 is greedy whatever the seed.
        for seed in 0..5 {
            let search = Search::Sample {
                temperature: 1.0,
                top_k: Some(1),
                top_p: None,
                seed,
            };
            let out = decode_batch(&mut table(), 2, search, LIMITS).unwrap();
            assert_eq!(out, vec![vec![2, 2, 2, 2, 2]; 2]);
        }
        // A tiny top_p keeps only the most likely token too.
        let search = Search::Sample {
            temperature: 1.0,
            top_k: None,
            top_p: Some(0.01),
            seed: 3,
        };
        let out = decode_batch(&mut table(), 1, search, LIMITS).unwrap();
        assert_eq!(out, vec![vec![2, 2, 2, 2, 2]]);
    }

    #[test]
    fn bad_settings_are_refused() {
        let bad = [
            Search::Beam {
                width: 0,
                length_penalty: 0.0,
            },
            Search::Sample {
                temperature: 0.0,
                top_k: None,
                top_p: None,
                seed: 0,
            },
            Search::Sample {
                temperature: 1.0,
                top_k: None,
                top_p: Some(1.5),
                seed: 0,
            },
        ];
        for search in bad {
            assert!(decode_batch(&mut table(), 1, search, LIMITS).is_err());
        }
        let no_room = Limits {
            max_len: 0,
            ..LIMITS
        };
        assert!(decode_batch(&mut table(), 1, Search::Greedy, no_room).is_err());
    }
}
