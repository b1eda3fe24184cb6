//! Bucketing by length: an order of the items in which each run of `batch_size` items has
//! similar lengths, so per-batch padding stays small, while the order of the batches is
//! still random. Use it with a `DataLoader` built without `shuffle` (which would undo it).

use burn::data::dataset::{Dataset, DatasetError};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::batcher::SequenceItem;
use crate::error::{DataError, Result};

/// An order of `lengths.len()` items for batches of `batch_size`: the items are shuffled
/// with `seed`, cut into pools of `pool_batches * batch_size`, each pool is sorted by
/// length and cut into batches, and the batches are shuffled. The one short batch (when
/// `batch_size` does not divide the count) comes last, so that a loader taking
/// consecutive runs of `batch_size` sees exactly these batches.
///
/// The result is a permutation of `0..lengths.len()`.
pub fn bucket_order(
    lengths: &[usize],
    batch_size: usize,
    pool_batches: usize,
    seed: u64,
) -> Result<Vec<usize>> {
    if batch_size == 0 {
        return Err(DataError::invalid("batch_size", "0 (must be at least 1)"));
    }
    if pool_batches == 0 {
        return Err(DataError::invalid("pool_batches", "0 (must be at least 1)"));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.shuffle(&mut rng);
    let pool = batch_size.saturating_mul(pool_batches);
    let mut batches: Vec<Vec<usize>> = Vec::new();
    for chunk in order.chunks_mut(pool) {
        chunk.sort_by_key(|&i| lengths[i]);
        batches.extend(chunk.chunks(batch_size).map(<[usize]>::to_vec));
    }
    let short = batches
        .iter()
        .position(|b| b.len() < batch_size)
        .map(|i| batches.remove(i));
    batches.shuffle(&mut rng);
    batches.extend(short);
    Ok(batches.into_iter().flatten().collect())
}

/// Fraction of padding when `order` is cut into consecutive batches of `batch_size`, each
/// padded to its longest item.
pub fn padding_ratio(lengths: &[usize], order: &[usize], batch_size: usize) -> f64 {
    let (mut valid, mut total) = (0usize, 0usize);
    for batch in order.chunks(batch_size.max(1)) {
        let max = batch.iter().map(|&i| lengths[i]).max().unwrap_or(0);
        valid += batch.iter().map(|&i| lengths[i]).sum::<usize>();
        total += max * batch.len();
    }
    if total == 0 {
        0.0
    } else {
        (total - valid) as f64 / total as f64
    }
}

/// A dataset seen in a bucketed order (see [`bucket_order`]). Build a new one with another
/// seed for a new order each epoch.
pub struct BucketedDataset<D> {
    inner: D,
    order: Vec<usize>,
}

impl<D: Dataset<SequenceItem>> BucketedDataset<D> {
    /// Reads every item's length once and orders `inner` for batches of `batch_size`
    /// (pools of 50 batches).
    pub fn new(inner: D, batch_size: usize, seed: u64) -> Result<Self> {
        let mut lengths = Vec::with_capacity(inner.len());
        for i in 0..inner.len() {
            let item = inner
                .get(i)
                .map_err(|e| DataError::invalid("dataset", format!("item {i}: {e}")))?;
            lengths.push(item.len());
        }
        let order = bucket_order(&lengths, batch_size, 50, seed)?;
        Ok(Self { inner, order })
    }

    /// The order: position → index in the inner dataset.
    pub fn order(&self) -> &[usize] {
        &self.order
    }
}

impl<D: Dataset<SequenceItem>> Dataset<SequenceItem> for BucketedDataset<D> {
    fn get(&self, index: usize) -> Result<SequenceItem, DatasetError> {
        self.inner.get(self.order[index])
    }

    fn len(&self) -> usize {
        self.order.len()
    }
}
