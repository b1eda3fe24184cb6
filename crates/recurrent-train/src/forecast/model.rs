//! The forecaster: a recurrent layer (RNN, LSTM or GRU) over the input window and a linear
//! read-out, used either directly (all `horizon` values from the last hidden state) or as
//! a one-step model rolled out autoregressively.

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use recurrent_cells::{
    Gru, GruConfig, Lstm, LstmConfig, RecurrentLayer, Rnn, RnnConfig, StateDict,
};

use crate::error::{Result, TrainError};

use super::config::ForecastMode;
use crate::cell_kind::CellKind;

/// The forecaster's weights: one recurrent layer (stacked `layers` deep) and a linear
/// read-out `head` of its hidden state. Exactly one of `rnn`, `lstm`, `gru` is present.
#[derive(Module, Debug)]
pub struct ForecastModel {
    rnn: Option<Rnn>,
    lstm: Option<Lstm>,
    gru: Option<Gru>,
    head: Linear,
}

/// The recurrent state between roll-out steps: `h`, and `c` for an LSTM, each
/// `[layers, batch, hidden]`.
#[derive(Debug, Clone)]
struct State {
    h: Tensor<3>,
    c: Option<Tensor<3>>,
}

impl State {
    fn h(self) -> Option<Tensor<3>> {
        Some(self.h)
    }

    fn hc(self) -> Option<(Tensor<3>, Tensor<3>)> {
        Some((self.h, self.c?))
    }
}

/// The name of the recurrent layer's tensors in the state dict (`rnn.weight_ih_l0`, …).
const LAYER_PREFIX: &str = "rnn.";

impl ForecastModel {
    /// A model reading `features` inputs per step (the series' columns, plus one with
    /// [`super::WindowNorm::LastLevel`]) with a `cell` layer of `hidden` units stacked
    /// `layers` deep, and a read-out of `outputs` values: `horizon` for
    /// [`ForecastMode::Direct`], the series' columns for [`ForecastMode::Autoregressive`]
    /// (see [`ForecastModel::outputs`]).
    pub fn new(
        cell: CellKind,
        features: usize,
        hidden: usize,
        layers: usize,
        outputs: usize,
        device: &Device,
    ) -> Self {
        let (rnn, lstm, gru) = match cell {
            CellKind::Rnn => (
                Some(
                    RnnConfig::new(features, hidden)
                        .with_n_layers(layers)
                        .init(device),
                ),
                None,
                None,
            ),
            CellKind::Lstm => (
                None,
                Some(
                    LstmConfig::new(features, hidden)
                        .with_n_layers(layers)
                        .init(device),
                ),
                None,
            ),
            CellKind::Gru => (
                None,
                None,
                Some(
                    GruConfig::new(features, hidden)
                        .with_n_layers(layers)
                        .init(device),
                ),
            ),
        };
        Self {
            rnn,
            lstm,
            gru,
            head: LinearConfig::new(hidden, outputs).init(device),
        }
    }

    /// The read-out size of `mode`: `horizon` values (direct) or one row of the series'
    /// `features` columns (autoregressive).
    pub fn outputs(mode: ForecastMode, horizon: usize, features: usize) -> usize {
        match mode {
            ForecastMode::Direct => horizon,
            ForecastMode::Autoregressive => features,
        }
    }

    /// Runs the recurrent layer over `x` (`[batch, steps, features]`) from `state`
    /// (zeros when `None`): every output `[batch, steps, hidden]` and the final state.
    fn encode(&self, x: Tensor<3>, state: Option<State>) -> (Tensor<3>, State) {
        if let Some(layer) = &self.lstm {
            let (out, (h, c)) = layer.forward(x, state.and_then(State::hc));
            (out, State { h, c: Some(c) })
        } else if let Some(layer) = &self.gru {
            let (out, h) = layer.forward(x, state.and_then(State::h));
            (out, State { h, c: None })
        } else if let Some(layer) = &self.rnn {
            let (out, h) = layer.forward(x, state.and_then(State::h));
            (out, State { h, c: None })
        } else {
            unreachable!("a ForecastModel always has one recurrent layer")
        }
    }

    /// The read-out of the last step of `out` (`[batch, steps, hidden]`): `[batch, outputs]`.
    fn read_last(&self, out: Tensor<3>) -> Tensor<2> {
        let [b, s, h] = out.dims();
        self.head
            .forward(out.slice([0..b, s - 1..s, 0..h]).reshape([b, h]))
    }

    /// Direct multi-step forecast: `x` `[batch, lookback, features]` → `[batch, horizon]`.
    pub fn forward_direct(&self, x: Tensor<3>) -> Tensor<2> {
        let (out, _) = self.encode(x, None);
        self.read_last(out)
    }

    /// Autoregressive roll-out over `horizon` steps: `x` `[batch, lookback, inputs]` →
    /// `[batch, horizon, features]`, step `h` predicting the row after step `h − 1`.
    ///
    /// The input of future step `h ≥ 2` is, per window, the true row `truth[:, h − 2]`
    /// where `feed_truth[:, h − 2]` is 1 and the prediction of step `h − 1` where it is 0
    /// (`truth` `[batch, horizon, features]`, `feed_truth` `[batch, horizon − 1, 1]` of 0
    /// or 1). Without `truth`, every step feeds back the model's own prediction (free
    /// running, as at forecast time). With `truth` and `all_truth`, every step is fed the
    /// truth and the whole window runs as one sequence (plain teacher forcing, faster).
    ///
    /// `level` (`[batch, 1, 1]`, with [`super::WindowNorm::LastLevel`]) is added to the
    /// target of each fed row to form its level input column.
    pub fn forward_autoregressive(
        &self,
        x: Tensor<3>,
        horizon: usize,
        truth: Option<(Tensor<3>, Tensor<3>)>,
        all_truth: bool,
        level: Option<Tensor<3>>,
    ) -> Tensor<3> {
        let [b, lookback, _] = x.dims();
        // A fed row `[batch, steps, features]` with its level column when there is one.
        let with_level = |rows: Tensor<3>| -> Tensor<3> {
            match &level {
                Some(base) => {
                    let [b, s, _] = rows.dims();
                    let target = rows.clone().slice([0..b, 0..s, 0..1]);
                    Tensor::cat(vec![rows, target + base.clone().repeat_dim(1, s)], 2)
                }
                None => rows,
            }
        };
        if all_truth && let Some((truth, _)) = &truth {
            let [_, _, f] = truth.dims();
            let fed = if horizon > 1 {
                let rows = truth.clone().slice([0..b, 0..horizon - 1, 0..f]);
                Tensor::cat(vec![x, with_level(rows)], 1)
            } else {
                x
            };
            let (out, _) = self.encode(fed, None);
            let [_, steps, hidden] = out.dims();
            return self
                .head
                .forward(out.slice([0..b, lookback - 1..steps, 0..hidden]));
        }
        let (out, mut state) = self.encode(x, None);
        let mut prediction = self.read_last(out);
        let [_, f] = prediction.dims();
        let mut predictions = vec![prediction.clone()];
        for h in 1..horizon {
            let fed: Tensor<3> = prediction.reshape([b, 1, f]);
            let fed = match &truth {
                Some((truth, mask)) => {
                    let row = truth.clone().slice([0..b, h - 1..h, 0..f]);
                    let m = mask.clone().slice([0..b, h - 1..h, 0..1]);
                    let keep = m.clone().neg().add_scalar(1.0);
                    row * m + fed * keep
                }
                None => fed,
            };
            let (out, next) = self.encode(with_level(fed), Some(state));
            state = next;
            prediction = self.read_last(out);
            predictions.push(prediction.clone());
        }
        Tensor::stack(predictions, 1)
    }

    /// The target forecast `[batch, horizon]` of `x` (`[batch, lookback, inputs]`) in
    /// `mode`, free running: column 0 of the autoregressive roll-out (`level` as in
    /// [`ForecastModel::forward_autoregressive`]).
    pub fn forecast(
        &self,
        x: Tensor<3>,
        mode: ForecastMode,
        horizon: usize,
        level: Option<Tensor<3>>,
    ) -> Tensor<2> {
        match mode {
            ForecastMode::Direct => self.forward_direct(x),
            ForecastMode::Autoregressive => {
                let [b, _, _] = x.dims();
                self.forward_autoregressive(x, horizon, None, false, level)
                    .slice([0..b, 0..horizon, 0..1])
                    .reshape([b, horizon])
            }
        }
    }

    /// The weights under PyTorch's names: the recurrent layer as `rnn.weight_ih_l0`,
    /// `rnn.bias_hh_l0`, … (a `torch.nn.RNN/LSTM/GRU` attribute named `rnn`) and the
    /// read-out as `head.weight` (`[outputs, hidden]`) and `head.bias` (`[outputs]`).
    pub fn state_dict(&self) -> StateDict {
        let mut dict = if let Some(layer) = &self.lstm {
            layer.state_dict(LAYER_PREFIX)
        } else if let Some(layer) = &self.gru {
            layer.state_dict(LAYER_PREFIX)
        } else if let Some(layer) = &self.rnn {
            layer.state_dict(LAYER_PREFIX)
        } else {
            StateDict::default()
        };
        dict.insert(
            "head.weight",
            self.head.weight.val().transpose().into_data(),
        );
        if let Some(bias) = &self.head.bias {
            dict.insert("head.bias", bias.val().into_data());
        }
        dict
    }

    /// A model of this shape (see [`ForecastModel::new`]) with the weights of `dict`, as
    /// written by [`ForecastModel::state_dict`]. A missing or mis-shaped tensor is an error
    /// naming it.
    pub fn from_state_dict(
        cell: CellKind,
        features: usize,
        hidden: usize,
        layers: usize,
        outputs: usize,
        dict: &StateDict,
        device: &Device,
    ) -> Result<Self> {
        let model = Self::new(cell, features, hidden, layers, outputs, device);
        let bad = |e: recurrent_cells::Error| TrainError::invalid("weights", e.to_string());
        let rnn = model
            .rnn
            .map(|l| l.load_state_dict(dict, LAYER_PREFIX))
            .transpose()
            .map_err(bad)?;
        let lstm = model
            .lstm
            .map(|l| l.load_state_dict(dict, LAYER_PREFIX))
            .transpose()
            .map_err(bad)?;
        let gru = model
            .gru
            .map(|l| l.load_state_dict(dict, LAYER_PREFIX))
            .transpose()
            .map_err(bad)?;
        let tensor = |name: &str, shape: &[usize]| -> Result<burn::tensor::TensorData> {
            let data = dict.get(name).ok_or_else(|| {
                TrainError::invalid("weights", format!("tensor {name:?} is missing"))
            })?;
            if data.shape().to_vec() != shape {
                return Err(TrainError::invalid(
                    "weights",
                    format!(
                        "tensor {name:?} has shape {:?}, the model needs {shape:?}",
                        data.shape().to_vec()
                    ),
                ));
            }
            Ok(data.clone())
        };
        let weight: Tensor<2> =
            Tensor::from_data(tensor("head.weight", &[outputs, hidden])?, device);
        let mut head = model.head;
        head.weight = Param::from_tensor(weight.transpose());
        head.bias = match dict.get("head.bias") {
            Some(_) => Some(Param::from_tensor(Tensor::from_data(
                tensor("head.bias", &[outputs])?,
                device,
            ))),
            None => None,
        };
        Ok(Self {
            rnn,
            lstm,
            gru,
            head,
        })
    }
}
