//! Tag probabilities of one model or of an ensemble (the mean of its members'
//! probabilities), the tags they predict, and the scores of predictions against gold tags:
//! token accuracy, macro F1 and, for BIO tags, entity-level F1.

use burn::tensor::Device;
use burn::tensor::activation::softmax;
use serde::{Deserialize, Serialize};

use super::batch::make_batch;
use super::data::{EncodedSentence, TaggerPart};
use super::vocabs::TaggerVocabs;
use crate::error::{Result, TrainError};
use crate::metrics::{entity_f1, macro_f1};
use recurrent_zoo::models::Tagger;

/// Tag probabilities of one sentence: `len × tags` values, row-major (token by token).
pub type SentenceProbs = Vec<f32>;

/// The tag probabilities of every sentence under `models`: each model's softmax, averaged
/// over the models (an ensemble of one is the model itself). Sentences run in batches of
/// `batch_size` sorted by length; the result follows the input order.
///
/// Errors: no model, a zero batch size, or an empty sentence.
pub fn tag_probabilities(
    models: &[Tagger],
    sentences: &[EncodedSentence],
    n_tags: usize,
    batch_size: usize,
    device: &Device,
) -> Result<Vec<SentenceProbs>> {
    if models.is_empty() {
        return Err(TrainError::invalid("tagger ensemble", "no model"));
    }
    if batch_size == 0 {
        return Err(TrainError::invalid("batch size", "0 (must be at least 1)"));
    }
    let mut order: Vec<usize> = (0..sentences.len()).collect();
    order.sort_by_key(|&i| sentences[i].len());
    let mut out: Vec<SentenceProbs> = vec![Vec::new(); sentences.len()];
    let scale = 1.0 / models.len() as f32;
    for chunk in order.chunks(batch_size) {
        let batch_sentences: Vec<&EncodedSentence> = chunk.iter().map(|&i| &sentences[i]).collect();
        let batch = make_batch(&batch_sentences, n_tags, device)?;
        let seq = batch.words.dims()[1];
        let mut sum: Option<Vec<f32>> = None;
        for model in models {
            let logits = model.forward(
                batch.words.clone(),
                batch.chars.clone(),
                batch.lengths.clone(),
            );
            let probs: Vec<f32> = softmax(logits, 2)
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .map_err(|e| TrainError::invalid("tag probabilities", format!("{e:?}")))?;
            sum = Some(match sum {
                None => probs,
                Some(mut acc) => {
                    acc.iter_mut().zip(&probs).for_each(|(a, p)| *a += p);
                    acc
                }
            });
        }
        let sum = sum.unwrap_or_default();
        for (b, &index) in chunk.iter().enumerate() {
            let len = sentences[index].len();
            let start = b * seq * n_tags;
            out[index] = sum[start..start + len * n_tags]
                .iter()
                .map(|p| p * scale)
                .collect();
        }
    }
    Ok(out)
}

/// The most probable tag id of each token of `probs` (`len × n_tags`).
pub fn argmax_tags(probs: &[f32], n_tags: usize) -> Vec<u32> {
    probs
        .chunks(n_tags.max(1))
        .map(|row| {
            row.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(i, _)| i as u32)
        })
        .collect()
}

/// The scores of a tagger on one part of the data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TagScores {
    /// Mean negative log-likelihood (nats) of the gold tags over the tokens whose tag is in
    /// the vocabulary.
    pub loss: f64,
    /// The fraction of tokens tagged right (a tag the training data never showed is always
    /// wrong).
    pub token_accuracy: f64,
    /// Macro-averaged F1 over the tags that occur in the gold tags or the predictions (an
    /// unseen gold tag counts as one more class, with F1 0).
    pub macro_f1: f64,
    /// conlleval entity-level F1, when the tags are BIO.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub entity_f1: Option<f64>,
    /// Tokens scored.
    pub tokens: usize,
}

/// Scores the predictions `probs` (from [`tag_probabilities`]) of `part` against its gold
/// tags. Entity F1 is computed when the tag vocabulary is BIO.
///
/// Errors: probabilities that do not match the sentences, or an empty part.
pub fn score(
    probs: &[SentenceProbs],
    part: &TaggerPart,
    vocabs: &TaggerVocabs,
) -> Result<TagScores> {
    let n_tags = vocabs.n_tags();
    if probs.len() != part.encoded.len() {
        return Err(TrainError::LengthMismatch {
            what: "tagger scores: probabilities vs sentences",
            left: probs.len(),
            right: part.encoded.len(),
        });
    }
    let (mut pred, mut gold) = (Vec::new(), Vec::new());
    let (mut nll, mut known) = (0.0f64, 0usize);
    let mut pred_tags: Vec<Vec<String>> = Vec::with_capacity(probs.len());
    for (p, sentence) in probs.iter().zip(&part.encoded) {
        if p.len() != sentence.len() * n_tags {
            return Err(TrainError::invalid(
                "tagger scores",
                format!(
                    "{} probabilities for a sentence of {} tokens and {n_tags} tags",
                    p.len(),
                    sentence.len()
                ),
            ));
        }
        let ids = argmax_tags(p, n_tags);
        for (t, (&predicted, &truth)) in ids.iter().zip(&sentence.tags).enumerate() {
            pred.push(predicted as usize);
            gold.push(truth as usize);
            if (truth as usize) < n_tags {
                let prob = f64::from(p[t * n_tags + truth as usize]).max(1e-12);
                nll -= prob.ln();
                known += 1;
            }
        }
        pred_tags.push(
            ids.iter()
                .map(|&id| vocabs.tags.tag(id).unwrap_or("O").to_owned())
                .collect(),
        );
    }
    if pred.is_empty() {
        return Err(TrainError::Empty {
            what: "tagger scores",
        });
    }
    let correct = pred.iter().zip(&gold).filter(|(p, g)| p == g).count();
    let entity = if vocabs.tags.is_bio() {
        let gold_tags: Vec<Vec<String>> = part.sentences.iter().map(|s| s.tags.clone()).collect();
        Some(entity_f1(&pred_tags, &gold_tags)?.f1)
    } else {
        None
    };
    Ok(TagScores {
        loss: if known > 0 {
            nll / known as f64
        } else {
            f64::NAN
        },
        token_accuracy: correct as f64 / pred.len() as f64,
        macro_f1: macro_f1(&pred, &gold, n_tags + 1, None)?,
        entity_f1: entity,
        tokens: pred.len(),
    })
}
