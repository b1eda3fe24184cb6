//! `recurrent`: recurrent sequence models on [burn](https://burn.dev).
//!
//! This facade re-exports the workspace's crates and owns the backend choice:
//!
//! | crate | what |
//! |---|---|
//! | [`cells`] (`recurrent-cells`) | RNN, LSTM, GRU and LayerNorm-LSTM cells and layers, recurrent dropout, PyTorch weights, parity runner |
//! | [`zoo`] (`recurrent-zoo`) | every network: any recurrent layer, bidirectional (merge modes), residual stacks, attention, CNN+RNN, task heads, and the task models |
//! | [`data`] (`recurrent-data`) | padding, masks, batchers and bucketing, tokenizers, language-model, time-series and CoNLL datasets, file inspection |
//! | [`train`] (`recurrent-train`) | the training loop, metrics, forecasting baselines, early stopping, run directories, ensembles, and the task pipelines |
//!
//! Backends are Cargo features forwarded to burn: `flex` (pure-Rust CPU, the default),
//! `ndarray` (CPU) and `wgpu` (GPU through Vulkan, Metal or DirectX). [`backend::Backend`]
//! names them at run time and opens a device, with a clear error for one that is not
//! compiled in or has no adapter.
//!
//! ```rust
//! use recurrent::prelude::*;
//!
//! let device = Backend::default_compiled()?.device()?;
//! let lstm = LstmConfig::new(32, 64).init(&device);
//! let x = Tensor::<3>::zeros([8, 20, 32], &device); // [batch, seq, d_input]
//! let (output, (h_n, c_n)) = lstm.forward(x, None);
//! assert_eq!(output.dims(), [8, 20, 64]);
//! # Ok::<(), recurrent::backend::BackendError>(())
//! ```
#![deny(missing_docs)]

pub mod backend;

pub use burn;
pub use recurrent_cells as cells;
pub use recurrent_data as data;
pub use recurrent_train as train;
pub use recurrent_zoo as zoo;

/// The types most programs need.
pub mod prelude {
    pub use crate::backend::Backend;
    pub use burn::tensor::{Device, Int, Tensor};
    pub use recurrent_cells::prelude::*;
    pub use recurrent_zoo::{
        Bidirectional, BidirectionalConfig, MergeMode, PytorchWeights, Recurrent, RecurrentConfig,
        RecurrentKind, RecurrentStack, RecurrentStackConfig, RecurrentState,
    };
}
