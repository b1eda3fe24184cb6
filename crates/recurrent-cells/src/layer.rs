//! What every sequence layer ([`crate::Rnn`], [`crate::Lstm`], [`crate::Gru`]) offers.

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Gradients, Tensor};

use crate::Result;
use crate::cell::RecurrentCell;
use crate::input::SequenceInput;
use crate::stack::{CellStack, LayerState};
use crate::state_dict::StateDict;

/// A multi-layer, optionally bidirectional recurrent layer over whole sequences.
///
/// Implemented by [`crate::Rnn`], [`crate::Lstm`] and [`crate::Gru`]; generic code (the
/// parity harness, benchmarks, model zoo) uses it to treat them alike.
pub trait RecurrentLayer: Sized {
    /// The cell of each layer and direction.
    type Cell: RecurrentCell + Module;
    /// The layer state: `h` (`[n_layers * dirs, batch, d_hidden]`), or `(h, c)` for LSTM.
    type State: LayerState;

    /// The cells, with the layer options.
    fn stack(&self) -> &CellStack<Self::Cell>;

    /// The layer's cells, by value.
    fn into_stack(self) -> CellStack<Self::Cell>;

    /// The layer made of `stack`.
    fn from_stack(stack: CellStack<Self::Cell>) -> Self;

    /// Runs the layer, returning an error for inputs of the wrong shape or bad lengths.
    ///
    /// - `input.input`: `[batch, seq, d_input]` (`[seq, batch, d_input]` if not batch-first)
    /// - `input.state`: each part `[n_layers * dirs, batch, d_hidden]`
    /// - `input.lengths`: `[batch]`, each in `0..=seq`
    ///
    /// Returns the outputs `[batch, seq, dirs * d_hidden]` (forward half first) and the
    /// final state in PyTorch's layout.
    fn try_forward_input(
        &self,
        input: SequenceInput<Self::State>,
    ) -> Result<(Tensor<3>, Self::State)> {
        self.stack().try_forward(input)
    }

    /// As [`RecurrentLayer::try_forward_input`], panicking with the error's message on bad
    /// input.
    fn forward_input(&self, input: SequenceInput<Self::State>) -> (Tensor<3>, Self::State) {
        self.try_forward_input(input)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Loads weights from a PyTorch state dict by PyTorch's names (`weight_ih_l0`,
    /// `bias_hh_l1_reverse`, ...), each preceded by `prefix` (`""` for a bare layer, or for
    /// example `"encoder.rnn."`).
    fn load_state_dict(self, dict: &StateDict, prefix: &str) -> Result<Self> {
        let stack = self.into_stack().load_state_dict(dict, prefix)?;
        Ok(Self::from_stack(stack))
    }

    /// The weights under PyTorch's names and layout, each preceded by `prefix`.
    fn state_dict(&self, prefix: &str) -> StateDict {
        self.stack().state_dict(prefix)
    }

    /// Loads weights from a safetensors file saved from PyTorch (`layer.state_dict()`).
    fn load_safetensors(self, path: impl AsRef<Path>) -> Result<Self> {
        self.load_state_dict(&StateDict::load(path)?, "")
    }

    /// Saves the weights as a safetensors file that PyTorch's `load_state_dict` reads.
    fn save_safetensors(&self, path: impl AsRef<Path>) -> Result<()> {
        self.state_dict("").save(path)
    }

    /// Gradients of the weights, under PyTorch's names and in its layout.
    fn pytorch_grads(&self, grads: &Gradients, prefix: &str) -> StateDict {
        self.stack().pytorch_grads(grads, prefix)
    }

    /// Size of the input features.
    fn d_input(&self) -> usize {
        self.stack().d_input()
    }

    /// Size of each direction's hidden state.
    fn d_hidden(&self) -> usize {
        self.stack().d_hidden()
    }

    /// Size of each output step: `dirs * d_hidden`.
    fn d_output(&self) -> usize {
        self.stack().dirs() * self.stack().d_hidden()
    }
}
