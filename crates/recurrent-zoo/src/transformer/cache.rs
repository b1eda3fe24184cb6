//! The keys and values of the steps seen so far, per layer, for incremental decoding.

use burn::tensor::{Int, Tensor};

/// Keys and values of every attention layer, `[rows, heads, steps, d_k]` each, and the
/// number of steps they hold. Unlike burn's autoregressive cache, its rows can be reordered
/// ([`KvCache::reorder`]), which beam search needs: a hypothesis that continues another
/// takes its parent's keys and values.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    layers: Vec<Option<(Tensor<4>, Tensor<4>)>>,
    len: usize,
}

impl KvCache {
    /// An empty cache (no steps yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// Steps held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no step is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Rows (hypotheses) held; 0 when empty.
    pub fn rows(&self) -> usize {
        self.layers
            .iter()
            .flatten()
            .next()
            .map_or(0, |(k, _)| k.dims()[0])
    }

    /// The cache of rows `index` (`[rows']`, repeats allowed), in that order.
    pub fn reorder(self, index: Tensor<1, Int>) -> Self {
        Self {
            layers: self
                .layers
                .into_iter()
                .map(|kv| kv.map(|(k, v)| (k.select(0, index.clone()), v.select(0, index.clone()))))
                .collect(),
            len: self.len,
        }
    }

    /// Appends the new steps' `keys` and `values` of `layer` (`[rows, heads, n, d_k]`) and
    /// returns that layer's keys and values of every step so far.
    pub(crate) fn extend(
        &mut self,
        layer: usize,
        keys: Tensor<4>,
        values: Tensor<4>,
    ) -> (Tensor<4>, Tensor<4>) {
        if self.layers.len() <= layer {
            self.layers.resize(layer + 1, None);
        }
        let joined = match self.layers[layer].take() {
            Some((k, v)) => (
                Tensor::cat(vec![k, keys], 2),
                Tensor::cat(vec![v, values], 2),
            ),
            None => (keys, values),
        };
        self.layers[layer] = Some(joined.clone());
        joined
    }

    /// Counts `n` more steps (after every layer has been extended).
    pub(crate) fn advance(&mut self, n: usize) {
        self.len += n;
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, TensorData};

    use super::*;

    /// `[rows, 1 head, steps, 1]` from per-row values.
    fn column(rows: &[&[f32]], device: &Device) -> Tensor<4> {
        let steps = rows[0].len();
        let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        Tensor::from_data(TensorData::new(flat, [rows.len(), 1, steps, 1]), device)
    }

    fn values(t: Tensor<4>) -> Vec<f32> {
        t.into_data().try_into_vec::<f32>().unwrap()
    }

    #[test]
    fn extends_along_steps_and_reorders_rows_worked_by_hand() {
        let device = Device::flex();
        let mut cache = KvCache::new();
        assert!(cache.is_empty() && cache.rows() == 0);
        // Two rows, one step: keys 1 and 2, values 10 and 20.
        cache.extend(
            0,
            column(&[&[1.0], &[2.0]], &device),
            column(&[&[10.0], &[20.0]], &device),
        );
        cache.advance(1);
        // New row 0 continues old row 1, new rows 1 and 2 continue old row 0.
        let index = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 0, 0], [3]), &device);
        let mut cache = cache.reorder(index);
        assert_eq!((cache.len(), cache.rows()), (1, 3));
        let (k, v) = cache.extend(
            0,
            column(&[&[3.0], &[4.0], &[5.0]], &device),
            column(&[&[30.0], &[40.0], &[50.0]], &device),
        );
        cache.advance(1);
        assert_eq!(values(k), vec![2.0, 3.0, 1.0, 4.0, 1.0, 5.0]);
        assert_eq!(values(v), vec![20.0, 30.0, 10.0, 40.0, 10.0, 50.0]);
        assert_eq!(cache.len(), 2);
    }
}
