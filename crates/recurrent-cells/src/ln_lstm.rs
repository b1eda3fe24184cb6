//! A multi-layer layer-normalised LSTM ([`crate::LnLstmCell`] in every layer and direction).

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::{Device, Gradients, Tensor, TensorData};

use crate::gates::{GateOrder, replace, to_internal_vector, to_pytorch_vector};
use crate::input::SequenceInput;
use crate::layer::RecurrentLayer;
use crate::ln_lstm_cell::{LnLstmCell, LnLstmCellConfig};
use crate::stack::{CellStack, StackOptions};
use crate::state_dict::StateDict;
use crate::{Error, Result};

/// Configuration of a [`LnLstm`] layer: the options of [`crate::LstmConfig`] plus the layer
/// norms' epsilon.
#[derive(Config, Debug)]
pub struct LnLstmConfig {
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
    /// Whether a unidirectional layer runs from the last step to the first.
    #[config(default = false)]
    pub reverse: bool,
    /// Whether inputs and outputs are `[batch, seq, features]` (true) or `[seq, batch,
    /// features]`.
    #[config(default = true)]
    pub batch_first: bool,
    /// Dropout probability on the outputs of every layer but the last, in training only.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Variational recurrent dropout on `h_{t-1}` (see [`crate::LstmConfig::recurrent_dropout`]).
    #[config(default = 0.0)]
    pub recurrent_dropout: f64,
    /// The layer norms' epsilon.
    #[config(default = 1e-5)]
    pub epsilon: f64,
    /// Weight initializer; `None` is PyTorch's LSTM initialisation.
    #[config(default = "None")]
    pub initializer: Option<Initializer>,
}

impl LnLstmConfig {
    /// Builds the layer on `device`.
    ///
    /// # Panics
    ///
    /// On an invalid configuration; [`LnLstmConfig::try_init`] returns the error instead.
    pub fn init(&self, device: &Device) -> LnLstm {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the layer on `device`, or says what is wrong with the configuration.
    pub fn try_init(&self, device: &Device) -> Result<LnLstm> {
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
        if self.epsilon.is_nan() || self.epsilon <= 0.0 {
            return Err(Error::Config(format!(
                "epsilon must be above 0, got {}",
                self.epsilon
            )));
        }
        let stack = options.build(|d_in| {
            LnLstmCellConfig::new(d_in, self.d_hidden)
                .with_bias(self.bias)
                .with_epsilon(self.epsilon)
                .with_initializer(self.initializer.clone())
                .init(device)
        });
        Ok(LnLstm { stack })
    }
}

/// A multi-layer layer-normalised LSTM (Ba, Kiros & Hinton 2016): the shapes, state and
/// options of [`crate::Lstm`], with [`LnLstmCell`]s.
///
/// ```rust
/// # use burn::tensor::{Device, Tensor};
/// # use recurrent_cells::prelude::*;
/// # let device = Device::flex();
/// let layer = LnLstmConfig::new(8, 16).with_n_layers(2).init(&device);
/// let x = Tensor::<3>::zeros([4, 10, 8], &device); // [batch, seq, d_input]
/// let (output, (h_n, c_n)) = layer.forward(x, None);
/// assert_eq!((output.dims(), h_n.dims(), c_n.dims()), ([4, 10, 16], [2, 4, 16], [2, 4, 16]));
/// ```
///
/// Its state dict holds PyTorch's LSTM names (`weight_ih_l0`, ...) and, per layer and
/// direction, the layer norms as `ln_ih_l{k}.weight` / `.bias` (`[4 * d_hidden]`, PyTorch's
/// gate order `i, f, g, o`), `ln_hh_l{k}.*` and `ln_c_l{k}.*` (`[d_hidden]`), with
/// `_reverse` after `l{k}` for the reverse direction.
#[derive(Module, Debug)]
pub struct LnLstm {
    /// The cells of every layer and direction.
    pub stack: CellStack<LnLstmCell>,
}

impl LnLstm {
    /// Runs the layer; see [`crate::Lstm::forward`] for the shapes.
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

/// The state-dict stems of a cell's three layer norms and how their vectors map to
/// PyTorch's layout: the two projections' norms in the LSTM gate order, the cell's norm as
/// it is.
const NORMS: [(&str, GateOrder); 3] = [
    ("ln_ih", <LnLstmCell as crate::RecurrentCell>::GATE_ORDER),
    ("ln_hh", <LnLstmCell as crate::RecurrentCell>::GATE_ORDER),
    ("ln_c", GateOrder(&[0])),
];

/// `{prefix}{stem}_l{layer}[_reverse].`
fn norm_prefix(prefix: &str, stem: &str, layer: usize, reverse: bool) -> String {
    let suffix = if reverse { "_reverse" } else { "" };
    format!("{prefix}{stem}_l{layer}{suffix}.")
}

impl LnLstm {
    /// The layer norms' parameters (or their gradients, per `read`) under their names.
    fn export_norms(
        &self,
        prefix: &str,
        read: &dyn Fn(&Param<Tensor<1>>) -> Option<TensorData>,
    ) -> StateDict {
        let dirs = self.stack.dirs();
        let mut dict = StateDict::default();
        for (index, cell) in self.stack.cells.iter().enumerate() {
            let cell_norms = [&cell.ln_ih, &cell.ln_hh, &cell.ln_c];
            for (norm, (stem, order)) in cell_norms.into_iter().zip(NORMS) {
                let name = norm_prefix(prefix, stem, index / dirs, index % dirs == 1);
                let params = [("weight", Some(&norm.gamma)), ("bias", norm.beta.as_ref())];
                for (kind, param) in params {
                    if let Some(data) = param.and_then(read) {
                        dict.insert(format!("{name}{kind}"), to_pytorch_vector(data, order));
                    }
                }
            }
        }
        dict
    }
}

impl RecurrentLayer for LnLstm {
    type Cell = LnLstmCell;
    type State = (Tensor<3>, Tensor<3>);

    fn stack(&self) -> &CellStack<LnLstmCell> {
        &self.stack
    }

    fn into_stack(self) -> CellStack<LnLstmCell> {
        self.stack
    }

    fn from_stack(stack: CellStack<LnLstmCell>) -> Self {
        Self { stack }
    }

    fn load_state_dict(self, dict: &StateDict, prefix: &str) -> Result<Self> {
        let stack = self.stack.load_state_dict(dict, prefix)?;
        let dirs = stack.dirs();
        let mut cells = Vec::with_capacity(stack.cells.len());
        for (index, mut cell) in stack.cells.into_iter().enumerate() {
            let cell_norms = [&mut cell.ln_ih, &mut cell.ln_hh, &mut cell.ln_c];
            for (norm, (stem, order)) in cell_norms.into_iter().zip(NORMS) {
                let name = norm_prefix(prefix, stem, index / dirs, index % dirs == 1);
                let load = |kind: &str, param: Param<Tensor<1>>| -> Result<Param<Tensor<1>>> {
                    let full = format!("{name}{kind}");
                    let data = dict.get(&full).ok_or_else(|| Error::MissingTensor {
                        name: full.clone(),
                        available: dict.names().collect::<Vec<_>>().join(", "),
                    })?;
                    let [width] = param.val().dims();
                    let device = param.val().device();
                    let data = to_internal_vector(data, &full, width, order)?;
                    Ok(replace(param, data, &device))
                };
                norm.gamma = load("weight", norm.gamma.clone())?;
                if let Some(beta) = norm.beta.take() {
                    norm.beta = Some(load("bias", beta)?);
                }
            }
            cells.push(cell);
        }
        Ok(Self {
            stack: CellStack { cells, ..stack },
        })
    }

    fn state_dict(&self, prefix: &str) -> StateDict {
        let mut dict = self.stack.state_dict(prefix);
        dict.extend(self.export_norms(prefix, &|p| Some(p.val().into_data())));
        dict
    }

    fn pytorch_grads(&self, grads: &Gradients, prefix: &str) -> StateDict {
        let mut dict = self.stack.pytorch_grads(grads, prefix);
        dict.extend(self.export_norms(prefix, &|p| p.val().grad(grads).map(|g| g.into_data())));
        dict
    }
}
