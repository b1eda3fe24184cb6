//! The input of a sequence layer: the sequence, an optional initial state and optional lengths.

use burn::tensor::{Bool, Device, Int, Tensor};

/// Everything a sequence layer takes, in the style of burn's `TransformerEncoderInput`:
///
/// ```rust
/// use burn::tensor::{Device, Tensor};
/// use recurrent_cells::{lengths_tensor, prelude::*};
///
/// let device = Device::flex();
/// let lstm = LstmConfig::new(3, 5).init(&device);
/// let x = Tensor::<3>::ones([2, 4, 3], &device);
/// let input = SequenceInput::new(x).lengths(lengths_tensor(&[4, 2], &device));
/// let (output, (h_n, c_n)) = lstm.forward_input(input);
/// // The second sequence has two valid steps: its outputs after them are exactly zero.
/// let padding = output.narrow(0, 1, 1).narrow(1, 2, 2);
/// assert_eq!(padding.abs().sum().into_scalar::<f32>(), 0.0);
/// ```
#[derive(Debug, Clone)]
pub struct SequenceInput<S> {
    /// The sequence: `[batch, seq, d_input]` (or `[seq, batch, d_input]` for a time-major layer).
    pub input: Tensor<3>,
    /// The initial state, in PyTorch's `[n_layers * dirs, batch, d_hidden]` layout.
    pub state: Option<S>,
    /// Valid length of each sequence, `[batch]`; steps past it are padding.
    pub lengths: Option<Tensor<1, Int>>,
}

impl<S> SequenceInput<S> {
    /// An input with zero initial state and no padding.
    pub fn new(input: Tensor<3>) -> Self {
        Self {
            input,
            state: None,
            lengths: None,
        }
    }

    /// Sets the initial state.
    pub fn state(mut self, state: S) -> Self {
        self.state = Some(state);
        self
    }

    /// Sets the initial state if `state` is `Some`.
    pub fn state_opt(mut self, state: Option<S>) -> Self {
        self.state = state;
        self
    }

    /// Sets the valid length of each sequence (`[batch]`), with PyTorch
    /// `pack_padded_sequence` semantics: outputs past a sequence's length are 0, its final
    /// state is the state at its last valid step, and the reverse direction starts there.
    /// The batch need not be sorted.
    pub fn lengths(mut self, lengths: Tensor<1, Int>) -> Self {
        self.lengths = Some(lengths);
        self
    }
}

/// The padding mask of a batch from its lengths: `[batch, seq]`, true at valid steps.
///
/// `lengths: [batch]` → `[batch, seq_length]`.
pub fn lengths_to_mask(lengths: Tensor<1, Int>, seq_length: usize) -> Tensor<2, Bool> {
    let device = lengths.device();
    let steps = Tensor::<1, Int>::arange(0..seq_length as i64, &device).unsqueeze_dim::<2>(0);
    steps.lower(lengths.unsqueeze_dim::<2>(1))
}

/// Lengths from a padding mask (`[batch, seq]`, true at valid steps): the number of valid
/// steps of each sequence. `mask: [batch, seq]` → `[batch]`.
///
/// The mask must be a prefix mask (valid steps first), as [`lengths_to_mask`] makes.
pub fn mask_to_lengths(mask: Tensor<2, Bool>) -> Tensor<1, Int> {
    mask.int().sum_dim(1).squeeze_dim(1)
}

/// Lengths on `device` from host values.
pub fn lengths_tensor(lengths: &[usize], device: &Device) -> Tensor<1, Int> {
    let values: Vec<i64> = lengths.iter().map(|&l| l as i64).collect();
    Tensor::from_data(
        burn::tensor::TensorData::new(values, [lengths.len()]),
        device,
    )
}
