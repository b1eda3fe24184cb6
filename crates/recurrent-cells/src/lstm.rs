//! A multi-layer LSTM, like `torch.nn.LSTM` and Keras `LSTM`.

use burn::config::Config;
use burn::module::Module;
use burn::nn::Initializer;
use burn::tensor::{Device, Tensor};

use crate::Result;
use crate::input::SequenceInput;
use crate::layer::RecurrentLayer;
use crate::lstm_cell::{LstmCell, LstmCellConfig};
use crate::stack::{CellStack, StackOptions};

/// Configuration of a [`Lstm`] layer.
#[derive(Config, Debug)]
pub struct LstmConfig {
    /// Size of the input features.
    pub d_input: usize,
    /// Size of the hidden state of each direction.
    pub d_hidden: usize,
    /// Number of stacked layers.
    #[config(default = 1)]
    pub n_layers: usize,
    /// Whether the cells have biases `b_ih` and `b_hh`.
    #[config(default = true)]
    pub bias: bool,
    /// Whether to run each layer in both directions and concatenate the outputs.
    #[config(default = false)]
    pub bidirectional: bool,
    /// Whether a unidirectional layer runs from the last step to the first (Keras
    /// `go_backwards`). Outputs stay aligned with their input steps (unlike Keras, which
    /// returns them reversed), and with lengths each sequence starts at its last valid step.
    #[config(default = false)]
    pub reverse: bool,
    /// Whether inputs and outputs are `[batch, seq, features]` (true, the default) or
    /// time-major `[seq, batch, features]`.
    #[config(default = true)]
    pub batch_first: bool,
    /// Dropout probability on the outputs of every layer but the last, in training only.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Variational recurrent dropout (Gal & Ghahramani 2016; Keras `recurrent_dropout`):
    /// the probability of dropping each unit of `h_{t-1}` where it enters the hidden matmul,
    /// with one mask per sequence reused at every step, in training only. PyTorch's layers
    /// have no such option; with 0 (the default) the layer is PyTorch's.
    #[config(default = 0.0)]
    pub recurrent_dropout: f64,
    /// Weight initializer; `None` is PyTorch's `U(-1/sqrt(d_hidden), 1/sqrt(d_hidden))`.
    #[config(default = "None")]
    pub initializer: Option<Initializer>,
}

impl LstmConfig {
    /// Builds the layer on `device`.
    ///
    /// # Panics
    ///
    /// On an invalid configuration; [`LstmConfig::try_init`] returns the error instead.
    pub fn init(&self, device: &Device) -> Lstm {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the layer on `device`, or says what is wrong with the configuration.
    pub fn try_init(&self, device: &Device) -> Result<Lstm> {
        let options = StackOptions {
            d_input: self.d_input,
            d_hidden: self.d_hidden,
            n_layers: self.n_layers,
            bidirectional: self.bidirectional,
            reverse: self.reverse,
            batch_first: self.batch_first,
            dropout: self.dropout,
            recurrent_dropout: self.recurrent_dropout,
        };
        options.validate()?;
        let stack = options.build(|d_in| {
            LstmCellConfig::new(d_in, self.d_hidden)
                .with_bias(self.bias)
                .with_initializer(self.initializer.clone())
                .init(device)
        });
        Ok(Lstm { stack })
    }
}

/// A multi-layer LSTM, like `torch.nn.LSTM` and Keras `LSTM`.
///
/// ```rust
/// # use burn::tensor::{Device, Tensor};
/// # use recurrent_cells::prelude::*;
/// # let device = Device::flex();
/// let x = Tensor::<3>::zeros([4, 10, 8], &device); // [batch, seq, d_input]
/// let h0 = Tensor::<3>::zeros([2, 4, 16], &device);
/// let c0 = Tensor::<3>::zeros([2, 4, 16], &device);
/// let lstm = LstmConfig::new(8, 16).with_n_layers(2).init(&device);
/// let (output, (h_n, c_n)) = lstm.forward(x, Some((h0, c0)));
/// assert_eq!((output.dims(), h_n.dims(), c_n.dims()), ([4, 10, 16], [2, 4, 16], [2, 4, 16]));
/// ```
///
/// Variable-length batches go through [`RecurrentLayer::forward_input`] with
/// [`SequenceInput::lengths`]; PyTorch weights through [`RecurrentLayer::load_state_dict`].
#[derive(Module, Debug)]
pub struct Lstm {
    /// The cells of every layer and direction.
    pub stack: CellStack<LstmCell>,
}

impl Lstm {
    /// Runs the layer over a batch of sequences, from the initial state `(h0, c0)` (zeros
    /// when `None`).
    ///
    /// - `input`: `[batch, seq, d_input]` (`[seq, batch, d_input]` if not batch-first)
    /// - state: each `[n_layers * dirs, batch, d_hidden]`
    ///
    /// Returns `(output, (h_n, c_n))`: every output of the last layer,
    /// `[batch, seq, dirs * d_hidden]` (forward half first), and the final state `(h_n, c_n)`
    /// in PyTorch's `[n_layers * dirs, batch, d_hidden]` layout.
    ///
    /// # Panics
    ///
    /// With a message naming the tensor and both shapes when a shape is wrong;
    /// [`RecurrentLayer::try_forward_input`] returns that error instead.
    pub fn forward(
        &self,
        input: Tensor<3>,
        state: Option<(Tensor<3>, Tensor<3>)>,
    ) -> (Tensor<3>, (Tensor<3>, Tensor<3>)) {
        self.forward_input(SequenceInput::new(input).state_opt(state))
    }
}

impl RecurrentLayer for Lstm {
    type Cell = LstmCell;
    type State = (Tensor<3>, Tensor<3>);

    fn stack(&self) -> &CellStack<LstmCell> {
        &self.stack
    }

    fn into_stack(self) -> CellStack<LstmCell> {
        self.stack
    }

    fn from_stack(stack: CellStack<LstmCell>) -> Self {
        Self { stack }
    }
}
