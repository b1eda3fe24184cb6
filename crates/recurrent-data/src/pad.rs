//! Padding and truncation of variable-length sequences, with Keras' `pad_sequences`
//! options, and the lengths and masks the recurrent layers take.
//!
//! ```
//! use recurrent_data::{PadOptions, Padding, pad_sequences};
//!
//! let padded = pad_sequences(&[vec![1u32, 2, 3], vec![4]], &PadOptions::new(0)).unwrap();
//! assert_eq!(padded.values, [1, 2, 3, 4, 0, 0]);
//! assert_eq!(padded.lengths, [3, 1]);
//!
//! let pre = PadOptions::new(0).padding(Padding::Pre).maxlen(2);
//! let padded = pad_sequences(&[vec![1u32, 2, 3], vec![4]], &pre).unwrap();
//! assert_eq!(padded.values, [2, 3, 0, 4]); // truncating defaults to `pre`, as in Keras
//! ```

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// Which side of a short sequence receives the padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    /// Padding before the values (Keras' default). The valid steps are then at the end,
    /// which the masked layers of `recurrent-cells` do not expect: use [`Padded::mask`].
    Pre,
    /// Padding after the values: valid steps first, so `lengths` alone describe the batch
    /// (what `SequenceInput::lengths` and PyTorch's `pack_padded_sequence` want).
    #[default]
    Post,
}

/// Which end of a long sequence is cut off when it exceeds `maxlen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Truncating {
    /// Drop the first values, keep the last `maxlen` (Keras' default).
    #[default]
    Pre,
    /// Drop the last values, keep the first `maxlen`.
    Post,
}

impl std::str::FromStr for Padding {
    type Err = DataError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "pre" => Ok(Self::Pre),
            "post" => Ok(Self::Post),
            other => Err(DataError::invalid(
                "padding",
                format!("{other:?} (expected pre or post)"),
            )),
        }
    }
}

impl std::str::FromStr for Truncating {
    type Err = DataError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "pre" => Ok(Self::Pre),
            "post" => Ok(Self::Post),
            other => Err(DataError::invalid(
                "truncating",
                format!("{other:?} (expected pre or post)"),
            )),
        }
    }
}

/// Options of [`pad_sequences`], named as in Keras.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PadOptions<T> {
    /// Length of every padded sequence; `None` pads to the longest sequence.
    pub maxlen: Option<usize>,
    /// Where the padding goes (default [`Padding::Post`]).
    pub padding: Padding,
    /// Which end of a too-long sequence is dropped (default [`Truncating::Pre`], as Keras).
    pub truncating: Truncating,
    /// The padding value (e.g. the `<pad>` id).
    pub value: T,
}

impl<T> PadOptions<T> {
    /// Post-padding with `value` to the longest sequence.
    pub fn new(value: T) -> Self {
        Self {
            maxlen: None,
            padding: Padding::Post,
            truncating: Truncating::Pre,
            value,
        }
    }

    /// Pads (and truncates) every sequence to `maxlen`.
    pub fn maxlen(mut self, maxlen: usize) -> Self {
        self.maxlen = Some(maxlen);
        self
    }

    /// Sets the padding side.
    pub fn padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    /// Sets the truncation side.
    pub fn truncating(mut self, truncating: Truncating) -> Self {
        self.truncating = truncating;
        self
    }
}

impl<T: Default> Default for PadOptions<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

/// Sequences padded to one length, on the host. `values` is row-major
/// `[batch, maxlen, width]` (`width` values per step, 1 for token ids).
#[derive(Debug, Clone, PartialEq)]
pub struct Padded<T> {
    /// The padded values, `[batch, maxlen, width]` row-major.
    pub values: Vec<T>,
    /// Valid steps of each sequence after truncation, `[batch]`.
    pub lengths: Vec<usize>,
    /// The padded length.
    pub maxlen: usize,
    /// Values per step.
    pub width: usize,
    /// Where the padding went.
    pub padding: Padding,
}

/// The part of `sequence` kept when it is capped at `max` steps: the last `max` values
/// for [`Truncating::Pre`], the first `max` for [`Truncating::Post`].
pub fn cap_length<T>(sequence: &[T], max: usize, truncating: Truncating) -> &[T] {
    if sequence.len() <= max {
        return sequence;
    }
    match truncating {
        Truncating::Pre => &sequence[sequence.len() - max..],
        Truncating::Post => &sequence[..max],
    }
}

/// Pads `sequences` of scalars (token ids, values) to one length, as Keras'
/// `pad_sequences`; returns the values `[batch, maxlen]` and the lengths.
///
/// `maxlen: Some(0)` is an error; an empty list gives an empty batch.
pub fn pad_sequences<T: Clone, S: AsRef<[T]>>(
    sequences: &[S],
    options: &PadOptions<T>,
) -> Result<Padded<T>> {
    pad_steps(sequences, 1, options)
}

/// Pads sequences whose steps hold `width` values each (row-major `[len, width]` per
/// sequence, e.g. several features per time step) to `[batch, maxlen, width]`.
///
/// A sequence whose length is not a multiple of `width` is an error naming it.
pub fn pad_steps<T: Clone, S: AsRef<[T]>>(
    sequences: &[S],
    width: usize,
    options: &PadOptions<T>,
) -> Result<Padded<T>> {
    if width == 0 {
        return Err(DataError::invalid("width", "0 values per step"));
    }
    if options.maxlen == Some(0) {
        return Err(DataError::invalid("maxlen", "0 (must be at least 1)"));
    }
    let mut steps = Vec::with_capacity(sequences.len());
    for (i, seq) in sequences.iter().enumerate() {
        let len = seq.as_ref().len();
        if len % width != 0 {
            return Err(DataError::invalid(
                "sequence",
                format!("sequence {i} has {len} values, not a multiple of {width} per step"),
            ));
        }
        steps.push(len / width);
    }
    let maxlen = options
        .maxlen
        .unwrap_or_else(|| steps.iter().copied().max().unwrap_or(0));
    let mut values = Vec::with_capacity(sequences.len() * maxlen * width);
    let mut lengths = Vec::with_capacity(sequences.len());
    for (seq, &n) in sequences.iter().zip(&steps) {
        let seq = seq.as_ref();
        let kept = n.min(maxlen);
        let start = match options.truncating {
            Truncating::Pre => n - kept,
            Truncating::Post => 0,
        };
        let body = &seq[start * width..(start + kept) * width];
        let pad = (maxlen - kept) * width;
        if options.padding == Padding::Pre {
            values.extend(std::iter::repeat_n(options.value.clone(), pad));
        }
        values.extend_from_slice(body);
        if options.padding == Padding::Post {
            values.extend(std::iter::repeat_n(options.value.clone(), pad));
        }
        lengths.push(kept);
    }
    Ok(Padded {
        values,
        lengths,
        maxlen,
        width,
        padding: options.padding,
    })
}

impl<T> Padded<T> {
    /// Number of sequences.
    pub fn batch(&self) -> usize {
        self.lengths.len()
    }

    /// Whether step `step` of sequence `row` holds a value (not padding).
    pub fn is_valid(&self, row: usize, step: usize) -> bool {
        let len = self.lengths[row];
        match self.padding {
            Padding::Post => step < len,
            Padding::Pre => step >= self.maxlen - len,
        }
    }

    /// The mask on the host, `[batch, maxlen]` row-major, true at valid steps.
    pub fn mask_values(&self) -> Vec<bool> {
        (0..self.batch())
            .flat_map(|row| (0..self.maxlen).map(move |step| (row, step)))
            .map(|(row, step)| self.is_valid(row, step))
            .collect()
    }

    /// The mask `[batch, maxlen]` on `device`, true at valid steps, on either padding side.
    pub fn mask(&self, device: &Device) -> Tensor<2, Bool> {
        Tensor::from_data(
            TensorData::new(self.mask_values(), [self.batch(), self.maxlen]),
            device,
        )
    }

    /// The lengths `[batch]` on `device`.
    pub fn lengths_tensor(&self, device: &Device) -> Tensor<1, Int> {
        recurrent_cells::lengths_tensor(&self.lengths, device)
    }

    /// Fraction of the `batch * maxlen` steps that are padding (0 for an empty batch).
    pub fn padding_ratio(&self) -> f64 {
        let total = self.batch() * self.maxlen;
        if total == 0 {
            return 0.0;
        }
        let valid: usize = self.lengths.iter().sum();
        (total - valid) as f64 / total as f64
    }
}

impl<T: Copy + Into<i64>> Padded<T> {
    /// Integer values (token ids) `[batch, maxlen]` on `device`; `width` must be 1.
    pub fn to_int_tensor(&self, device: &Device) -> Result<Tensor<2, Int>> {
        self.expect_width(1)?;
        let values: Vec<i64> = self.values.iter().map(|&v| v.into()).collect();
        Ok(Tensor::from_data(
            TensorData::new(values, [self.batch(), self.maxlen]),
            device,
        ))
    }
}

impl Padded<f32> {
    /// Values `[batch, maxlen]` on `device`; `width` must be 1.
    pub fn to_tensor(&self, device: &Device) -> Result<Tensor<2>> {
        self.expect_width(1)?;
        Ok(Tensor::from_data(
            TensorData::new(self.values.clone(), [self.batch(), self.maxlen]),
            device,
        ))
    }

    /// Values `[batch, maxlen, width]` on `device`.
    pub fn to_tensor3(&self, device: &Device) -> Tensor<3> {
        Tensor::from_data(
            TensorData::new(self.values.clone(), [self.batch(), self.maxlen, self.width]),
            device,
        )
    }
}

impl<T> Padded<T> {
    fn expect_width(&self, width: usize) -> Result<()> {
        if self.width != width {
            return Err(DataError::invalid(
                "width",
                format!("{} values per step where {width} is needed", self.width),
            ));
        }
        Ok(())
    }
}
