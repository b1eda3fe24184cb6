//! The cell trait: one step of a recurrence, in the spirit of candle's `RNN` trait.
//!
//! A cell maps `(x_t, state_{t-1})` to `state_t`. Splitting the input projection from the step
//! ([`RecurrentCell::project_input`] and [`RecurrentCell::step_projected`]) lets a sequence
//! runner project every timestep in one matmul, while [`RecurrentCell::step`] keeps the
//! one-step-at-a-time path that streaming inference, teacher forcing and beam search need.

use burn::tensor::{Bool, Device, Tensor};

use crate::gates::{FusedGates, GateOrder};

/// The state a cell carries from one step to the next.
pub trait CellState: Clone + Sized {
    /// Number of tensors in the state (1 for RNN and GRU, 2 for LSTM).
    const N_PARTS: usize;

    /// The output of the step: the hidden state `h_t`, `[batch, d_hidden]`.
    fn hidden(&self) -> Tensor<2>;

    /// The state's tensors, hidden state first; each `[batch, d_hidden]`.
    fn into_parts(self) -> Vec<Tensor<2>>;

    /// Rebuilds a state from [`CellState::into_parts`]'s output.
    fn from_parts(parts: Vec<Tensor<2>>) -> Self;

    /// Keeps `previous` where `keep` is true and `self` elsewhere
    /// (`keep: [batch, d_hidden]`); used to freeze finished sequences.
    fn keep_where(self, keep: &Tensor<2, Bool>, previous: Self) -> Self {
        let parts = self
            .into_parts()
            .into_iter()
            .zip(previous.into_parts())
            .map(|(new, old)| new.mask_where(keep.clone(), old))
            .collect();
        Self::from_parts(parts)
    }
}

impl CellState for Tensor<2> {
    const N_PARTS: usize = 1;

    fn hidden(&self) -> Tensor<2> {
        self.clone()
    }

    fn into_parts(self) -> Vec<Tensor<2>> {
        vec![self]
    }

    fn from_parts(mut parts: Vec<Tensor<2>>) -> Self {
        assert_eq!(parts.len(), 1, "a hidden-only state has one part");
        parts.remove(0)
    }
}

/// One recurrent cell: the weights of a single direction of a single layer.
pub trait RecurrentCell {
    /// What the cell carries between steps.
    type State: CellState;

    /// PyTorch's gate blocks in the order this cell computes them.
    const GATE_ORDER: GateOrder;

    /// The cell's fused weights.
    fn gates(&self) -> &FusedGates;

    /// Replaces the cell's fused weights (used when loading PyTorch weights).
    fn with_gates(self, gates: FusedGates) -> Self;

    /// Size of the input features.
    fn d_input(&self) -> usize {
        self.gates().d_input
    }

    /// Size of the hidden state.
    fn d_hidden(&self) -> usize {
        self.gates().d_hidden
    }

    /// The all-zero state for a batch of `batch` sequences.
    fn zero_state(&self, batch: usize, device: &Device) -> Self::State {
        let parts = (0..Self::State::N_PARTS)
            .map(|_| Tensor::zeros([batch, self.d_hidden()], device))
            .collect();
        Self::State::from_parts(parts)
    }

    /// The fused kernel that computes this cell's recurrence exactly, if there is one (see
    /// [`crate::fused`]). Cells without one (the layer-normalised LSTM) run on burn ops.
    fn fused_kind(&self) -> Option<crate::fused::CellKind> {
        None
    }

    /// Projects inputs onto the gates (the part of the step that does not depend on the state).
    ///
    /// `input: [..., d_input]` → `[..., n_gates * d_hidden]`: `[batch, d_input]` for one step,
    /// `[seq, batch, d_input]` for a whole sequence, which a runner projects at once.
    fn project_input<const D: usize>(&self, input: Tensor<D>) -> Tensor<D>;

    /// Advances the state by one step given the projected input of that step.
    ///
    /// `projected: [batch, n_gates * d_hidden]` (a row block of [`RecurrentCell::project_input`]).
    fn step_projected(&self, projected: Tensor<2>, state: Self::State) -> Self::State;

    /// As [`RecurrentCell::step_projected`], with variational recurrent dropout (Gal &
    /// Ghahramani 2016; Keras `recurrent_dropout`): `mask: [batch, d_hidden]` multiplies
    /// `h_{t-1}` where it enters the hidden matmul, and nowhere else.
    ///
    /// The default masks the state's hidden part before the step, which is exact for cells
    /// whose `h_{t-1}` enters only through the hidden matmul (RNN, LSTM); a cell that also
    /// uses `h_{t-1}` elsewhere (GRU's `z * h_{t-1}`) overrides it.
    fn step_projected_masked(
        &self,
        projected: Tensor<2>,
        state: Self::State,
        mask: &Tensor<2>,
    ) -> Self::State {
        let mut parts = state.into_parts();
        parts[0] = parts[0].clone() * mask.clone();
        self.step_projected(projected, Self::State::from_parts(parts))
    }

    /// Advances the state by one step: `input: [batch, d_input]`.
    fn step(&self, input: Tensor<2>, state: Self::State) -> Self::State {
        self.step_projected(self.project_input(input), state)
    }

    /// Runs the cell over a whole sequence from `state` (zeros when `None`).
    ///
    /// `input: [batch, seq, d_input]` → every hidden state `[batch, seq, d_hidden]` and the
    /// final state. The input projection of all steps is one matmul.
    fn seq(&self, input: Tensor<3>, state: Option<Self::State>) -> (Tensor<3>, Self::State)
    where
        Self: Sized,
    {
        use crate::stack::{LayerInput, run_direction};
        let batch = input.dims()[0];
        let device = input.device();
        let state = state.unwrap_or_else(|| self.zero_state(batch, &device));
        let steps = LayerInput::Sequence(input.swap_dims(0, 1)).project(self, device.is_autodiff());
        let (outputs, last) = run_direction(self, steps, state, false, &None, None);
        (Tensor::stack(outputs, 1), last)
    }
}
