//! Recurrent cells and sequence layers on [burn](https://burn.dev), matching PyTorch.
//!
//! - Cells, one step at a time: [`RnnCell`] (tanh or relu), [`LstmCell`], [`GruCell`]
//!   (PyTorch's reset-after formulation or the original reset-before one), and the
//!   layer-normalised [`LnLstmCell`] (Ba et al. 2016), all behind the small
//!   [`RecurrentCell`] trait: `zero_state`, `step(x_t, state) -> state`.
//! - Layers over whole sequences: [`Rnn`], [`Lstm`], [`Gru`], [`LnLstm`], with `n_layers`,
//!   dropout between layers, variational recurrent dropout (Keras' `recurrent_dropout`),
//!   `bidirectional`, `bias`, `reverse`, batch-first or time-major input, an
//!   initial state in and the final state out in PyTorch's `[n_layers * dirs, batch,
//!   d_hidden]` layout, and variable lengths with `pack_padded_sequence` semantics
//!   ([`SequenceInput::lengths`]).
//! - PyTorch weights in and out by PyTorch's own names ([`StateDict`],
//!   [`RecurrentLayer::load_state_dict`], [`RecurrentLayer::state_dict`]).
//! - [`golden`]: the runner of PyTorch reference cases behind `cargo xtask parity`.
//!
//! ```rust
//! use burn::tensor::{Device, Tensor};
//! use recurrent_cells::prelude::*;
//!
//! let device = Device::flex();
//! let lstm = LstmConfig::new(32, 128).with_n_layers(2).init(&device);
//! let x = Tensor::<3>::zeros([4, 10, 32], &device); // [batch, seq, d_input]
//! let h0 = Tensor::<3>::zeros([2, 4, 128], &device); // [n_layers * dirs, batch, d_hidden]
//! let c0 = h0.clone();
//! let (output, (h_n, c_n)) = lstm.forward(x, Some((h0, c0)));
//! assert_eq!(output.dims(), [4, 10, 128]);
//! assert_eq!(h_n.dims(), [2, 4, 128]);
//! assert_eq!(c_n.dims(), [2, 4, 128]);
//! ```
//!
//! # Design
//!
//! Each cell keeps its gates fused: one `[d_input, gates * d_hidden]` and one
//! `[d_hidden, gates * d_hidden]` matrix. A layer projects the inputs of all timesteps in one
//! matmul before the time loop, so each step costs one hidden matmul plus the gate
//! arithmetic. The crate never picks a backend: tensors live on whatever [`burn::tensor::Device`]
//! the caller builds the layer on.
#![deny(missing_docs)]
// Two small modules of the fused kernels allow `unsafe`: the GEMM wrapper (`fused/gemm.rs`) and
// the allocation controller of pooled tensor buffers (`fused/pooled.rs`).
#![deny(unsafe_code)]

mod activation;
mod cell;
mod error;
pub mod fused;
mod gates;
pub mod golden;
mod gru;
mod gru_cell;
mod input;
mod layer;
mod ln_lstm;
mod ln_lstm_cell;
mod lstm;
mod lstm_cell;
mod rnn;
mod rnn_cell;
mod stack;
mod state_dict;

pub use cell::{CellState, RecurrentCell};
pub use error::{Error, Result};
pub use gates::{FusedGates, GateOrder, ParamRef, PytorchGates};
pub use gru::{Gru, GruConfig};
pub use gru_cell::{GruCell, GruCellConfig};
pub use input::{SequenceInput, lengths_tensor, lengths_to_mask, mask_to_lengths};
pub use layer::RecurrentLayer;
pub use ln_lstm::{LnLstm, LnLstmConfig};
pub use ln_lstm_cell::{LnLstmCell, LnLstmCellConfig};
pub use lstm::{Lstm, LstmConfig};
pub use lstm_cell::{LstmCell, LstmCellConfig, LstmState};
pub use rnn::{Rnn, RnnConfig};
pub use rnn_cell::{RnnActivation, RnnCell, RnnCellConfig};
pub use stack::{CellStack, LayerState};
pub use state_dict::{StateDict, write_atomic};

/// The types most programs need.
pub mod prelude {
    pub use crate::{
        CellState, Gru, GruCell, GruCellConfig, GruConfig, LnLstm, LnLstmCell, LnLstmCellConfig,
        LnLstmConfig, Lstm, LstmCell, LstmCellConfig, LstmConfig, LstmState, RecurrentCell,
        RecurrentLayer, Rnn, RnnActivation, RnnCell, RnnCellConfig, RnnConfig, SequenceInput,
        StateDict, lengths_to_mask,
    };
}
