//! A batcher for burn's `DataLoader` that pads each batch to its own longest sequence
//! (not to the dataset's), caps very long sequences, and counts the padding it adds.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

use crate::error::{DataError, Result};
use crate::pad::{PadOptions, Padding, Truncating, cap_length, pad_sequences};

/// What a sequence is labelled with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SequenceTarget {
    /// No label (inference).
    None,
    /// One class for the whole sequence (classification).
    Class(u32),
    /// One label per step (tagging, language modelling); as long as the tokens.
    Steps(Vec<u32>),
}

/// One sequence of token ids with its target, and optionally the sub-token ids (e.g. the
/// characters of each word, for character features of a tagger).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceItem {
    /// Token ids, `[len]`.
    pub tokens: Vec<u32>,
    /// The target.
    pub target: SequenceTarget,
    /// Sub-token ids per token (`[len][chars]`), or empty when unused.
    pub subtokens: Vec<Vec<u32>>,
}

impl SequenceItem {
    /// An unlabelled sequence.
    pub fn new(tokens: Vec<u32>) -> Self {
        Self {
            tokens,
            target: SequenceTarget::None,
            subtokens: Vec::new(),
        }
    }

    /// A sequence with one class.
    pub fn with_class(tokens: Vec<u32>, class: u32) -> Self {
        Self {
            target: SequenceTarget::Class(class),
            ..Self::new(tokens)
        }
    }

    /// A sequence with one label per step; the lengths must agree.
    pub fn with_steps(tokens: Vec<u32>, labels: Vec<u32>) -> Result<Self> {
        if tokens.len() != labels.len() {
            return Err(DataError::invalid(
                "sequence item",
                format!("{} tokens but {} step labels", tokens.len(), labels.len()),
            ));
        }
        Ok(Self {
            target: SequenceTarget::Steps(labels),
            ..Self::new(tokens)
        })
    }

    /// Adds sub-token ids, one list per token.
    pub fn with_subtokens(mut self, subtokens: Vec<Vec<u32>>) -> Result<Self> {
        if subtokens.len() != self.tokens.len() {
            return Err(DataError::invalid(
                "sequence item",
                format!(
                    "{} tokens but sub-tokens for {}",
                    self.tokens.len(),
                    subtokens.len()
                ),
            ));
        }
        self.subtokens = subtokens;
        Ok(self)
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the sequence has no steps.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

/// A padded batch, post-padded (valid steps first) so `lengths` describe it.
#[derive(Debug, Clone)]
pub struct SequenceBatch {
    /// Token ids, `[batch, seq]`, padded with the batcher's pad id.
    pub tokens: Tensor<2, Int>,
    /// Valid steps per sequence, `[batch]`.
    pub lengths: Tensor<1, Int>,
    /// The same lengths on the host.
    pub lengths_host: Vec<usize>,
    /// True at valid steps, `[batch, seq]`.
    pub mask: Tensor<2, Bool>,
    /// Classes `[batch]`, when every item has a class.
    pub classes: Option<Tensor<1, Int>>,
    /// Per-step labels `[batch, seq]` padded with the batcher's target pad, when every
    /// item has step labels. Ignore padded steps with `mask`.
    pub step_targets: Option<Tensor<2, Int>>,
    /// Sub-token ids `[batch, seq, max_subtokens]` padded with the pad id, when items carry
    /// them.
    pub subtokens: Option<Tensor<3, Int>>,
    /// Fraction of this batch's steps that are padding.
    pub padding_ratio: f64,
}

/// Running count of valid and padded steps over the batches a batcher has made. Clones
/// share the count (the `DataLoader` clones its batcher across workers).
#[derive(Debug, Clone, Default)]
pub struct PaddingStats {
    valid: Arc<AtomicU64>,
    padded: Arc<AtomicU64>,
}

impl PaddingStats {
    /// Records one batch.
    pub fn record(&self, valid: usize, padded: usize) {
        self.valid.fetch_add(valid as u64, Ordering::Relaxed);
        self.padded.fetch_add(padded as u64, Ordering::Relaxed);
    }

    /// Valid steps so far.
    pub fn valid_steps(&self) -> u64 {
        self.valid.load(Ordering::Relaxed)
    }

    /// Padding steps so far.
    pub fn padded_steps(&self) -> u64 {
        self.padded.load(Ordering::Relaxed)
    }

    /// Fraction of all batched steps that were padding (0 before any batch).
    pub fn ratio(&self) -> f64 {
        let (v, p) = (self.valid_steps(), self.padded_steps());
        if v + p == 0 {
            0.0
        } else {
            p as f64 / (v + p) as f64
        }
    }

    /// Starts counting again (e.g. each epoch).
    pub fn reset(&self) {
        self.valid.store(0, Ordering::Relaxed);
        self.padded.store(0, Ordering::Relaxed);
    }
}

/// Pads [`SequenceItem`]s per batch into a [`SequenceBatch`] on the device the
/// `DataLoader` (or the caller) names.
#[derive(Debug, Clone)]
pub struct SequenceBatcher {
    /// Id used for padded tokens (and sub-tokens).
    pub pad_id: u32,
    /// Value of padded step targets.
    pub target_pad: u32,
    /// Sequences longer than this are cut (see `truncating`); `None` keeps them whole.
    pub max_len: Option<usize>,
    /// Which end a capped sequence loses (default: the end, [`Truncating::Post`], so a
    /// tagged sentence keeps its beginning).
    pub truncating: Truncating,
    /// Padding counts over all batches.
    pub stats: PaddingStats,
}

impl SequenceBatcher {
    /// A batcher padding with `pad_id` (targets too), no cap.
    pub fn new(pad_id: u32) -> Self {
        Self {
            pad_id,
            target_pad: pad_id,
            max_len: None,
            truncating: Truncating::Post,
            stats: PaddingStats::default(),
        }
    }

    /// Pads step targets with `target_pad`.
    pub fn target_pad(mut self, target_pad: u32) -> Self {
        self.target_pad = target_pad;
        self
    }

    /// Caps sequences at `max_len` steps, dropping the `truncating` end.
    pub fn max_len(mut self, max_len: usize, truncating: Truncating) -> Self {
        self.max_len = Some(max_len);
        self.truncating = truncating;
        self
    }

    /// Batches `items` on `device`; mixed targets (some classes, some step labels), an
    /// empty sequence, or `max_len` 0 are errors.
    pub fn try_batch(&self, items: &[SequenceItem], device: &Device) -> Result<SequenceBatch> {
        if items.is_empty() {
            return Err(DataError::invalid("batch", "no items"));
        }
        if self.max_len == Some(0) {
            return Err(DataError::invalid("max_len", "0 (must be at least 1)"));
        }
        if let Some(i) = items.iter().position(SequenceItem::is_empty) {
            return Err(DataError::invalid(
                "batch",
                format!("item {i} has no steps; recurrent layers need at least one"),
            ));
        }
        let cap = self.max_len.unwrap_or(usize::MAX);
        let tokens: Vec<&[u32]> = items
            .iter()
            .map(|it| cap_length(&it.tokens, cap, self.truncating))
            .collect();
        let options = PadOptions::new(self.pad_id).padding(Padding::Post);
        let padded = pad_sequences(&tokens, &options)?;
        let (batch, seq) = (padded.batch(), padded.maxlen);
        let valid: usize = padded.lengths.iter().sum();
        self.stats.record(valid, batch * seq - valid);

        let classes = match items
            .iter()
            .all(|it| matches!(it.target, SequenceTarget::Class(_)))
        {
            true => Some(int_tensor(
                items
                    .iter()
                    .map(|it| match it.target {
                        SequenceTarget::Class(c) => c,
                        _ => 0,
                    })
                    .collect(),
                [batch],
                device,
            )),
            false => None,
        };
        let steps: Vec<&[u32]> = items
            .iter()
            .filter_map(|it| match &it.target {
                SequenceTarget::Steps(labels) => Some(cap_length(labels, cap, self.truncating)),
                _ => None,
            })
            .collect();
        let step_targets = if steps.len() == batch {
            let options = PadOptions::new(self.target_pad).maxlen(seq);
            Some(pad_sequences(&steps, &options)?.to_int_tensor(device)?)
        } else {
            None
        };
        let labelled = classes.is_some() || step_targets.is_some();
        if !labelled && items.iter().any(|it| it.target != SequenceTarget::None) {
            return Err(DataError::invalid(
                "batch",
                "items mix class targets, step targets and no targets",
            ));
        }
        let subtokens = self.subtokens(items, seq, device)?;
        Ok(SequenceBatch {
            tokens: padded.to_int_tensor(device)?,
            lengths: padded.lengths_tensor(device),
            mask: padded.mask(device),
            lengths_host: padded.lengths.clone(),
            classes,
            step_targets,
            subtokens,
            padding_ratio: padded.padding_ratio(),
        })
    }

    fn subtokens(
        &self,
        items: &[SequenceItem],
        seq: usize,
        device: &Device,
    ) -> Result<Option<Tensor<3, Int>>> {
        if items.iter().all(|it| it.subtokens.is_empty()) {
            return Ok(None);
        }
        if let Some(i) = items
            .iter()
            .position(|it| it.subtokens.len() != it.tokens.len())
        {
            return Err(DataError::invalid(
                "batch",
                format!("item {i} has sub-tokens for some sequences of the batch but not all"),
            ));
        }
        let cap = self.max_len.unwrap_or(usize::MAX);
        let width = items
            .iter()
            .flat_map(|it| it.subtokens.iter().map(Vec::len))
            .max()
            .unwrap_or(0)
            .max(1);
        let mut values = vec![self.pad_id as i64; items.len() * seq * width];
        for (b, item) in items.iter().enumerate() {
            let kept = cap_length(&item.subtokens, cap, self.truncating);
            for (t, sub) in kept.iter().enumerate() {
                let at = (b * seq + t) * width;
                for (k, &id) in sub.iter().enumerate() {
                    values[at + k] = id as i64;
                }
            }
        }
        Ok(Some(Tensor::from_data(
            TensorData::new(values, [items.len(), seq, width]),
            device,
        )))
    }
}

fn int_tensor(values: Vec<u32>, shape: [usize; 1], device: &Device) -> Tensor<1, Int> {
    let values: Vec<i64> = values.into_iter().map(i64::from).collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

impl Batcher<SequenceItem, SequenceBatch> for SequenceBatcher {
    /// # Panics
    ///
    /// When [`SequenceBatcher::try_batch`] fails: the items were built inconsistently
    /// (mixed targets or an empty sequence). Datasets of this crate never do that.
    fn batch(&self, items: Vec<SequenceItem>, device: &Device) -> SequenceBatch {
        match self.try_batch(&items, device) {
            Ok(batch) => batch,
            Err(err) => panic!("SequenceBatcher: {err}"),
        }
    }
}
