//! PyTorch reference cases: load one, run it on a device, compare every tensor.
//!
//! A case is a safetensors file in the `recurrent-golden/1` format: the layer's metadata
//! (`kind`, `input_size`, `hidden_size`, `num_layers`, `bidirectional`, `bias`,
//! `batch_first`), its weights under PyTorch's names, `input`, `h0` (and `c0`), optional
//! `lengths`, the expected `output`, `h_n` (and `c_n`), the `upstream.*` weights of the loss
//! `sum(output * upstream.output) + sum(h_n * upstream.h_n) [+ sum(c_n * upstream.c_n)]`, and
//! the gradients `grad.*` of that loss. [`GoldenCase::run`] rebuilds the layer from the
//! metadata, loads the weights, runs forward and backward, and reports the largest absolute
//! error of every expected tensor.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::gates::f32_values;
use crate::input::SequenceInput;
use crate::layer::RecurrentLayer;
use crate::stack::LayerState;
use crate::state_dict::StateDict;
use crate::{Error, GruConfig, LstmConfig, Result, RnnActivation, RnnConfig};

/// The kind of PyTorch layer a case was made with (its `kind` metadata).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseKind {
    /// `torch.nn.RNN(nonlinearity="tanh")`.
    RnnTanh,
    /// `torch.nn.RNN(nonlinearity="relu")`.
    RnnRelu,
    /// `torch.nn.LSTM`.
    Lstm,
    /// `torch.nn.GRU`.
    Gru,
}

/// The layer described by a case's metadata.
#[derive(Debug, Clone)]
pub struct CaseLayer {
    /// Which layer.
    pub kind: CaseKind,
    /// `input_size`.
    pub d_input: usize,
    /// `hidden_size`.
    pub d_hidden: usize,
    /// `num_layers`.
    pub n_layers: usize,
    /// `bidirectional`.
    pub bidirectional: bool,
    /// `bias`.
    pub bias: bool,
    /// `batch_first`.
    pub batch_first: bool,
}

/// One reference case read from a file.
#[derive(Debug, Clone)]
pub struct GoldenCase {
    /// The file it came from.
    pub path: PathBuf,
    /// The layer it describes.
    pub layer: CaseLayer,
    /// Every tensor of the file.
    pub tensors: StateDict,
}

/// The largest absolute error of one expected tensor.
#[derive(Debug, Clone)]
pub struct TensorError {
    /// The tensor's name in the case (`output`, `h_n`, `grad.weight_ih_l0`, ...).
    pub name: String,
    /// Largest `|actual - expected|`; infinite where the actual value is not finite.
    pub max_abs_error: f32,
}

/// The errors of every expected tensor of a case.
#[derive(Debug, Clone)]
pub struct ParityReport {
    /// The case's file.
    pub path: PathBuf,
    /// One entry per expected tensor, in the order outputs, states, gradients.
    pub errors: Vec<TensorError>,
}

impl ParityReport {
    /// The largest error over the tensors whose name satisfies `filter`.
    pub fn max_error_where(&self, filter: impl Fn(&str) -> bool) -> f32 {
        self.errors
            .iter()
            .filter(|e| filter(&e.name))
            .map(|e| e.max_abs_error)
            .fold(0.0, f32::max)
    }

    /// Largest error of the outputs (`output`).
    pub fn output_error(&self) -> f32 {
        self.max_error_where(|n| n == "output")
    }

    /// Largest error of the final states (`h_n`, `c_n`).
    pub fn state_error(&self) -> f32 {
        self.max_error_where(|n| n == "h_n" || n == "c_n")
    }

    /// Largest error of the gradients (`grad.*`).
    pub fn grad_error(&self) -> f32 {
        self.max_error_where(|n| n.starts_with("grad."))
    }

    /// The first tensor whose error exceeds `tolerance`, if any.
    pub fn first_failure(&self, tolerance: f32) -> Option<&TensorError> {
        self.errors
            .iter()
            .find(|e| e.max_abs_error.is_nan() || e.max_abs_error > tolerance)
    }
}

impl GoldenCase {
    /// Reads a case; a file that is not a readable case is an error naming the file and what
    /// is wrong.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let tensors = StateDict::load(path)?;
        let layer = parse_meta(&tensors).map_err(|message| Error::Format {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            layer,
            tensors,
        })
    }

    /// Runs the case on `device` (autodiff is enabled on it) and compares every expected
    /// tensor.
    pub fn run(&self, device: &Device) -> Result<ParityReport> {
        let device = device.clone().autodiff();
        let l = &self.layer;
        let actual = match l.kind {
            CaseKind::RnnTanh | CaseKind::RnnRelu => {
                let activation = if l.kind == CaseKind::RnnRelu {
                    RnnActivation::Relu
                } else {
                    RnnActivation::Tanh
                };
                let layer = RnnConfig::new(l.d_input, l.d_hidden)
                    .with_activation(activation)
                    .with_n_layers(l.n_layers)
                    .with_bidirectional(l.bidirectional)
                    .with_bias(l.bias)
                    .with_batch_first(l.batch_first)
                    .try_init(&device)?;
                self.run_layer(layer, &device)?
            }
            CaseKind::Lstm => {
                let layer = LstmConfig::new(l.d_input, l.d_hidden)
                    .with_n_layers(l.n_layers)
                    .with_bidirectional(l.bidirectional)
                    .with_bias(l.bias)
                    .with_batch_first(l.batch_first)
                    .try_init(&device)?;
                self.run_layer(layer, &device)?
            }
            CaseKind::Gru => {
                let layer = GruConfig::new(l.d_input, l.d_hidden)
                    .with_n_layers(l.n_layers)
                    .with_bidirectional(l.bidirectional)
                    .with_bias(l.bias)
                    .with_batch_first(l.batch_first)
                    .try_init(&device)?;
                self.run_layer(layer, &device)?
            }
        };
        self.compare(&actual)
    }

    fn format_error(&self, message: String) -> Error {
        Error::Format {
            path: self.path.clone(),
            message,
        }
    }

    fn tensor(&self, name: &str) -> Result<&TensorData> {
        self.tensors
            .get(name)
            .ok_or_else(|| self.format_error(format!("the case has no tensor `{name}`")))
    }

    fn float<const D: usize>(&self, name: &str, device: &Device) -> Result<Tensor<D>> {
        let data = self.tensor(name)?;
        if data.shape().len() != D {
            return Err(self.format_error(format!(
                "tensor `{name}` has rank {}, expected {D}",
                data.shape().len()
            )));
        }
        let values = f32_values(data, name)?;
        Ok(Tensor::from_data(
            TensorData::new(values, data.shape().clone()),
            device,
        ))
    }

    /// Runs forward and backward; returns the actual tensors under the case's names.
    fn run_layer<L: RecurrentLayer>(&self, layer: L, device: &Device) -> Result<StateDict> {
        let layer = layer.load_state_dict(&self.tensors, "")?;
        let input = self.float::<3>("input", device)?.require_grad();
        let mut initial = Vec::new();
        for part in L::State::NAMES {
            initial.push(self.float::<3>(&format!("{part}0"), device)?.require_grad());
        }
        let mut seq_input =
            SequenceInput::new(input.clone()).state(L::State::from_parts(initial.clone()));
        if let Some(lengths) = self.tensors.get("lengths") {
            let values = lengths.clone().convert::<i64>();
            let lengths = Tensor::<1, Int>::from_data(values, device);
            seq_input = seq_input.lengths(lengths);
        }
        let (output, state) = layer.try_forward_input(seq_input)?;
        let finals = state.into_parts();

        let mut loss = (output.clone() * self.float::<3>("upstream.output", device)?).sum();
        for (part, tensor) in L::State::NAMES.iter().zip(&finals) {
            let upstream = self.float::<3>(&format!("upstream.{part}_n"), device)?;
            loss = loss + (tensor.clone() * upstream).sum();
        }
        let grads = loss.backward();

        let mut actual = layer.pytorch_grads(&grads, "grad.");
        actual.insert("output", output.into_data());
        for ((part, tensor), init) in L::State::NAMES.iter().zip(finals).zip(&initial) {
            actual.insert(format!("{part}_n"), tensor.into_data());
            if let Some(g) = init.grad(&grads) {
                actual.insert(format!("grad.{part}0"), g.into_data());
            }
        }
        if let Some(g) = input.grad(&grads) {
            actual.insert("grad.input", g.into_data());
        }
        Ok(actual)
    }

    fn compare(&self, actual: &StateDict) -> Result<ParityReport> {
        let rank = |name: &str| {
            if name == "output" {
                0
            } else if name.starts_with("grad.") {
                2
            } else {
                1
            }
        };
        let mut expected: Vec<&str> = self
            .tensors
            .names()
            .filter(|n| matches!(*n, "output" | "h_n" | "c_n") || n.starts_with("grad."))
            .collect();
        expected.sort_by_key(|n| rank(n));
        let mut errors = Vec::with_capacity(expected.len());
        for name in expected {
            let want = self.tensor(name)?;
            let got = actual.get(name).ok_or_else(|| {
                self.format_error(format!("the layer produced no tensor for `{name}`"))
            })?;
            if got.shape() != want.shape() {
                return Err(Error::shape(
                    name,
                    want.shape().as_slice(),
                    got.shape().as_slice(),
                ));
            }
            let want = f32_values(want, name)?;
            let got = f32_values(got, name)?;
            let max_abs_error = want
                .iter()
                .zip(&got)
                .map(|(w, g)| {
                    if g.is_finite() {
                        (w - g).abs()
                    } else {
                        f32::INFINITY
                    }
                })
                .fold(0.0, f32::max);
            errors.push(TensorError {
                name: name.to_string(),
                max_abs_error,
            });
        }
        Ok(ParityReport {
            path: self.path.clone(),
            errors,
        })
    }
}

fn parse_meta(dict: &StateDict) -> std::result::Result<CaseLayer, String> {
    let meta = &dict.metadata;
    let get = |key: &str| {
        meta.get(key)
            .map(String::as_str)
            .ok_or_else(|| format!("metadata has no `{key}`"))
    };
    let format = get("format")?;
    if format != "recurrent-golden/1" {
        return Err(format!(
            "metadata `format` is `{format}`, expected `recurrent-golden/1`"
        ));
    }
    let kind = match get("kind")? {
        "rnn_tanh" => CaseKind::RnnTanh,
        "rnn_relu" => CaseKind::RnnRelu,
        "lstm" => CaseKind::Lstm,
        "gru" => CaseKind::Gru,
        other => {
            return Err(format!(
                "metadata `kind` is `{other}`, expected rnn_tanh, rnn_relu, lstm or gru"
            ));
        }
    };
    let int = |key: &str| -> std::result::Result<usize, String> {
        let v = get(key)?;
        v.parse()
            .map_err(|_| format!("metadata `{key}` is `{v}`, expected a whole number"))
    };
    let flag = |key: &str, default: bool| -> std::result::Result<bool, String> {
        match meta.get(key).map(String::as_str) {
            None => Ok(default),
            Some("true") | Some("True") | Some("1") => Ok(true),
            Some("false") | Some("False") | Some("0") => Ok(false),
            Some(v) => Err(format!("metadata `{key}` is `{v}`, expected true or false")),
        }
    };
    Ok(CaseLayer {
        kind,
        d_input: int("input_size")?,
        d_hidden: int("hidden_size")?,
        n_layers: int("num_layers")?,
        bidirectional: flag("bidirectional", false)?,
        bias: flag("bias", true)?,
        batch_first: flag("batch_first", true)?,
    })
}
