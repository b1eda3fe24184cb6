//! The tagger as a [`FitTask`]: bucketed batches of training sentences, the masked
//! cross-entropy with token accuracy as a training metric, and validation scores (loss,
//! accuracy, macro F1, entity F1 for BIO tags).

use std::collections::BTreeMap;

use burn::tensor::Device;
use rand::RngExt;
use rand::rngs::StdRng;
use recurrent_data::bucket_order;

use super::batch::{TaggerBatch, make_batch, masked_cross_entropy};
use super::data::{EncodedSentence, TaggerData};
use super::eval::{score, tag_probabilities};
use crate::error::{Result, TrainError};
use crate::fit::{FitTask, StepContext, StepOutput};
use recurrent_zoo::models::Tagger;

/// Training a [`Tagger`] on a [`TaggerData`].
#[derive(Debug)]
pub struct TaggerTask<'a> {
    data: &'a TaggerData,
    batch_size: usize,
    /// The autodiff device batches of training live on.
    device: Device,
    /// The same device without autodiff, for validation.
    eval_device: Device,
}

impl<'a> TaggerTask<'a> {
    /// The task over `data` with batches of `batch_size` sentences on `device` (an autodiff
    /// device).
    ///
    /// Errors: a zero batch size.
    pub fn new(data: &'a TaggerData, batch_size: usize, device: &Device) -> Result<Self> {
        if batch_size == 0 {
            return Err(TrainError::invalid("batch size", "0 (must be at least 1)"));
        }
        Ok(Self {
            data,
            batch_size,
            device: device.clone(),
            eval_device: device.clone().inner(),
        })
    }
}

impl FitTask for TaggerTask<'_> {
    type Model = Tagger;
    type Batch = TaggerBatch;

    /// Sentences of similar length batched together (pools of 50 batches sorted by length),
    /// batches in a random order.
    fn train_batches(&self, _epoch: usize, rng: &mut StdRng) -> Result<Vec<TaggerBatch>> {
        let encoded = &self.data.train.encoded;
        let lengths: Vec<usize> = encoded.iter().map(EncodedSentence::len).collect();
        let order = bucket_order(&lengths, self.batch_size, 50, rng.random())?;
        let n_tags = self.data.vocabs.n_tags();
        order
            .chunks(self.batch_size)
            .map(|chunk| {
                let sentences: Vec<&EncodedSentence> = chunk.iter().map(|&i| &encoded[i]).collect();
                make_batch(&sentences, n_tags, &self.device)
            })
            .collect()
    }

    fn step(
        &self,
        model: &Tagger,
        batch: &TaggerBatch,
        _ctx: &mut StepContext<'_>,
    ) -> Result<StepOutput> {
        let logits = model.forward(
            batch.words.clone(),
            batch.chars.clone(),
            batch.lengths.clone(),
        );
        let predicted = logits
            .clone()
            .argmax(2)
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .map_err(|e| TrainError::invalid("tagger predictions", format!("{e:?}")))?;
        let seq = batch.words.dims()[1];
        let mut correct = 0usize;
        for (b, gold) in batch.gold.iter().enumerate() {
            correct += gold
                .iter()
                .enumerate()
                .filter(|&(t, &tag)| predicted[b * seq + t] == i64::from(tag))
                .count();
        }
        let loss = masked_cross_entropy(
            logits,
            batch.targets.clone(),
            batch.weights.clone(),
            batch.scored,
        );
        Ok(StepOutput::new(loss, batch.scored as f64).with_metric(
            "accuracy",
            correct as f64,
            batch.scored as f64,
        ))
    }

    /// `loss`, `accuracy`, `macro_f1`, and `entity_f1` for BIO tags, on the validation part.
    fn validate(&self, model: &Tagger) -> Result<BTreeMap<String, f64>> {
        let vocabs = &self.data.vocabs;
        let part = &self.data.valid;
        let probs = tag_probabilities(
            std::slice::from_ref(model),
            &part.encoded,
            vocabs.n_tags(),
            self.batch_size.max(64),
            &self.eval_device,
        )?;
        let scores = score(&probs, part, vocabs)?;
        let mut out = BTreeMap::from([
            ("loss".to_owned(), scores.loss),
            ("accuracy".to_owned(), scores.token_accuracy),
            ("macro_f1".to_owned(), scores.macro_f1),
        ]);
        if let Some(f1) = scores.entity_f1 {
            out.insert("entity_f1".to_owned(), f1);
        }
        Ok(out)
    }
}
