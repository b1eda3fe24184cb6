//! Padded batches of encoded sentences for the tagger, and the masked cross-entropy that
//! scores only real tokens.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use recurrent_data::{SequenceBatcher, SequenceItem};

use super::data::EncodedSentence;
use crate::error::{Result, TrainError};

/// A batch of sentences, post-padded to its longest sentence and longest word.
#[derive(Debug, Clone)]
pub struct TaggerBatch {
    /// Word ids `[batch, seq]`, padded with 0.
    pub words: Tensor<2, Int>,
    /// Character ids `[batch, seq, chars]`, padded with 0.
    pub chars: Tensor<3, Int>,
    /// Tokens per sentence `[batch]`.
    pub lengths: Tensor<1, Int>,
    /// Tag ids `[batch, seq]`; 0 where `weights` is 0.
    pub targets: Tensor<2, Int>,
    /// 1 at tokens the loss scores (real tokens with a tag of the vocabulary), else 0;
    /// `[batch, seq]`.
    pub weights: Tensor<2>,
    /// How many tokens the loss scores (the sum of `weights`).
    pub scored: usize,
    /// The tag ids of each sentence, unpadded (`n_tags` for a tag outside the vocabulary).
    pub gold: Vec<Vec<u32>>,
}

/// Pads `sentences` into a batch on `device`; tags of `n_tags` or more are left out of the
/// loss.
///
/// Errors: [`TrainError::Invalid`] for an empty batch or an empty sentence.
pub fn make_batch(
    sentences: &[&EncodedSentence],
    n_tags: usize,
    device: &Device,
) -> Result<TaggerBatch> {
    let items = sentences
        .iter()
        .map(|s| SequenceItem::new(s.words.clone()).with_subtokens(s.chars.clone()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let padded = SequenceBatcher::new(0).try_batch(&items, device)?;
    let chars = padded
        .subtokens
        .ok_or_else(|| TrainError::invalid("tagger batch", "no character ids"))?;
    let [batch, seq] = padded.tokens.dims();
    let mut targets = vec![0i64; batch * seq];
    let mut weights = vec![0f32; batch * seq];
    let mut scored = 0;
    for (b, sentence) in sentences.iter().enumerate() {
        for (t, &tag) in sentence.tags.iter().enumerate() {
            if (tag as usize) < n_tags {
                targets[b * seq + t] = i64::from(tag);
                weights[b * seq + t] = 1.0;
                scored += 1;
            }
        }
    }
    Ok(TaggerBatch {
        words: padded.tokens,
        chars,
        lengths: padded.lengths,
        targets: Tensor::from_data(TensorData::new(targets, [batch, seq]), device),
        weights: Tensor::from_data(TensorData::new(weights, [batch, seq]), device),
        scored,
        gold: sentences.iter().map(|s| s.tags.clone()).collect(),
    })
}

/// The mean negative log-likelihood of `targets` under `logits` over the tokens where
/// `weights` is 1: `-Σ w·log softmax(logits)[target] / max(Σ w, 1)`, shape `[1]`.
///
/// - `logits`: `[batch, seq, tags]`
/// - `targets`: `[batch, seq]`, each below `tags`
/// - `weights`: `[batch, seq]`, 1 at scored tokens and 0 at padding
pub fn masked_cross_entropy(
    logits: Tensor<3>,
    targets: Tensor<2, Int>,
    weights: Tensor<2>,
    scored: usize,
) -> Tensor<1> {
    let log_probs = log_softmax(logits, 2);
    let picked = log_probs
        .gather(2, targets.unsqueeze_dim::<3>(2))
        .squeeze_dim::<2>(2);
    (picked * weights)
        .sum()
        .neg()
        .div_scalar(scored.max(1) as f32)
}
