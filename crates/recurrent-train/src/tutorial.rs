//! The Keras tutorial program, as a training task: 1000 random sequences of shape
//! `(10, 1)` with random 0/1 labels, `SimpleRNN(64, relu)` or `LSTM(64,
//! return_sequences) + LSTM(32)` or `GRU(64, return_sequences) + GRU(32)`, then
//! `Dense(1, sigmoid)`; Adam, binary cross-entropy, accuracy; 10 epochs of batch 32.
//!
//! The labels are random, so the accuracy stays near 0.5: the program measures the
//! training machinery (and its speed), not learning.

use std::collections::BTreeMap;
use std::str::FromStr;

use burn::module::Module;
use burn::nn::loss::{BinaryCrossEntropyLoss, BinaryCrossEntropyLossConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use recurrent_cells::{
    Gru, GruConfig, Lstm, LstmConfig, RecurrentLayer, Rnn, RnnActivation, RnnConfig, StateDict,
};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::fit::{FitConfig, FitEvent, FitTask, StepContext, StepOutput, fit, shuffled_batches};
use crate::history::History;

/// The recurrent part of the tutorial model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TutorialCell {
    /// `SimpleRNN(64, activation='relu')`.
    SimpleRnn,
    /// `LSTM(64, return_sequences=True)` then `LSTM(32)`.
    Lstm,
    /// `GRU(64, return_sequences=True)` then `GRU(32)`.
    Gru,
}

impl FromStr for TutorialCell {
    type Err = TrainError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "simplernn" | "rnn" => Ok(Self::SimpleRnn),
            "lstm" => Ok(Self::Lstm),
            "gru" => Ok(Self::Gru),
            other => Err(TrainError::invalid(
                "cell",
                format!("{other:?} (expected simplernn, lstm or gru)"),
            )),
        }
    }
}

/// Settings of the tutorial run (the Keras program's values by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TutorialConfig {
    /// The recurrent layers.
    pub cell: TutorialCell,
    /// Number of sequences.
    pub samples: usize,
    /// Steps per sequence.
    pub steps: usize,
    /// Sequences per batch.
    pub batch_size: usize,
    /// The training loop (Adam 1e-3 with Keras' epsilon 1e-7, 10 epochs, seed 42).
    pub fit: FitConfig,
}

impl TutorialConfig {
    /// The Keras program with `cell`.
    pub fn new(cell: TutorialCell) -> Self {
        Self {
            cell,
            samples: 1000,
            steps: 10,
            batch_size: 32,
            fit: FitConfig::new(10, 1e-3),
        }
    }
}

/// The tutorial model: recurrent layers, then one logit per sequence.
#[derive(Module, Debug)]
pub struct TutorialModel {
    rnn: Vec<Rnn>,
    lstm: Vec<Lstm>,
    gru: Vec<Gru>,
    dense: Linear,
}

impl TutorialModel {
    /// The model for `cell` on `device`.
    pub fn new(cell: TutorialCell, device: &Device) -> Self {
        let (rnn, lstm, gru, last) = match cell {
            TutorialCell::SimpleRnn => (
                vec![
                    RnnConfig::new(1, 64)
                        .with_activation(RnnActivation::Relu)
                        .init(device),
                ],
                vec![],
                vec![],
                64,
            ),
            TutorialCell::Lstm => (
                vec![],
                vec![
                    LstmConfig::new(1, 64).init(device),
                    LstmConfig::new(64, 32).init(device),
                ],
                vec![],
                32,
            ),
            TutorialCell::Gru => (
                vec![],
                vec![],
                vec![
                    GruConfig::new(1, 64).init(device),
                    GruConfig::new(64, 32).init(device),
                ],
                32,
            ),
        };
        Self {
            rnn,
            lstm,
            gru,
            dense: LinearConfig::new(last, 1).init(device),
        }
    }

    /// Logits `[batch]` of `x: [batch, steps, 1]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<1> {
        let mut h = x;
        for layer in &self.rnn {
            h = layer.forward(h, None).0;
        }
        for layer in &self.lstm {
            h = layer.forward(h, None).0;
        }
        for layer in &self.gru {
            h = layer.forward(h, None).0;
        }
        let [batch, steps, hidden] = h.dims();
        let last = h
            .slice([0..batch, steps - 1..steps, 0..hidden])
            .reshape([batch, hidden]);
        self.dense.forward(last).reshape([batch])
    }
}

impl TutorialModel {
    /// The weights under PyTorch-style names (`lstm.0.weight_ih_l0`, ..., `dense.weight`
    /// as `[out, in]`), for `StateDict::save` as safetensors.
    pub fn state_dict(&self) -> StateDict {
        let mut dict = StateDict::default();
        for (i, layer) in self.rnn.iter().enumerate() {
            dict.extend(layer.state_dict(&format!("rnn.{i}.")));
        }
        for (i, layer) in self.lstm.iter().enumerate() {
            dict.extend(layer.state_dict(&format!("lstm.{i}.")));
        }
        for (i, layer) in self.gru.iter().enumerate() {
            dict.extend(layer.state_dict(&format!("gru.{i}.")));
        }
        dict.insert(
            "dense.weight",
            self.dense.weight.val().transpose().into_data(),
        );
        if let Some(bias) = &self.dense.bias {
            dict.insert("dense.bias", bias.val().into_data());
        }
        dict
    }
}

/// What a tutorial run produced.
#[derive(Debug, Clone)]
pub struct TutorialRun {
    /// Per-epoch loss and accuracy.
    pub history: History,
    /// Wall time of the training epochs, in seconds.
    pub train_seconds: f64,
}

/// The data of the Keras program: `x` uniform in [0, 1) `[samples, steps, 1]` row-major and
/// `y` uniform 0/1, from `seed`.
pub fn tutorial_data(config: &TutorialConfig) -> (Vec<f32>, Vec<i64>) {
    use rand::RngExt;
    let mut rng = StdRng::seed_from_u64(config.fit.seed);
    let x = (0..config.samples * config.steps)
        .map(|_| rng.random::<f32>())
        .collect();
    let y = (0..config.samples)
        .map(|_| i64::from(rng.random::<bool>()))
        .collect();
    (x, y)
}

/// The tutorial as a [`FitTask`]: shuffled batches, binary cross-entropy on logits, accuracy
/// of `p > 0.5`.
struct TutorialTask<'a> {
    config: &'a TutorialConfig,
    x: Vec<f32>,
    y: Vec<i64>,
    device: Device,
    loss: BinaryCrossEntropyLoss,
}

impl FitTask for TutorialTask<'_> {
    type Model = TutorialModel;
    type Batch = Vec<usize>;

    fn train_batches(&self, _epoch: usize, rng: &mut StdRng) -> Result<Vec<Vec<usize>>> {
        let all = (0..self.config.samples).collect();
        Ok(shuffled_batches(all, self.config.batch_size, rng))
    }

    fn step(
        &self,
        model: &TutorialModel,
        batch: &Vec<usize>,
        _ctx: &mut StepContext<'_>,
    ) -> Result<StepOutput> {
        let steps = self.config.steps;
        let n = batch.len();
        let xs: Vec<f32> = batch
            .iter()
            .flat_map(|&i| self.x[i * steps..(i + 1) * steps].iter().copied())
            .collect();
        let ys: Vec<i64> = batch.iter().map(|&i| self.y[i]).collect();
        let xb = Tensor::<3>::from_data(TensorData::new(xs, [n, steps, 1]), &self.device);
        let yb = Tensor::<1, Int>::from_data(TensorData::new(ys.clone(), [n]), &self.device);
        let logits = model.forward(xb);
        let loss = self.loss.forward(logits.clone(), yb);
        let logits = logits
            .inner()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        let correct = logits
            .iter()
            .zip(&ys)
            .filter(|&(&l, &t)| i64::from(l > 0.0) == t)
            .count();
        Ok(StepOutput::new(loss, n as f64).with_metric("accuracy", correct as f64, n as f64))
    }

    fn validate(&self, _model: &TutorialModel) -> Result<BTreeMap<String, f64>> {
        Ok(BTreeMap::new())
    }
}

/// Trains the tutorial model on `device` (an autodiff device) through [`fit`], calling
/// `observer` with the loop's events (for Keras-like lines). A NaN or infinite loss stops
/// the run with an error naming the epoch and step.
pub fn train_tutorial(
    config: &TutorialConfig,
    device: &Device,
    observer: impl FnMut(FitEvent<'_>),
) -> Result<(TutorialModel, TutorialRun)> {
    if config.batch_size == 0 || config.samples == 0 || config.steps == 0 {
        return Err(TrainError::invalid(
            "tutorial",
            "samples, steps and batch size must be at least 1",
        ));
    }
    device.seed(config.fit.seed);
    let (x, y) = tutorial_data(config);
    let model = TutorialModel::new(config.cell, device);
    let task = TutorialTask {
        config,
        x,
        y,
        device: device.clone(),
        loss: BinaryCrossEntropyLossConfig::new()
            .with_logits(true)
            .init(device),
    };
    let fitted = fit(&config.fit, &task, model, None, false, observer)?;
    Ok((
        fitted.model,
        TutorialRun {
            history: fitted.history,
            train_seconds: fitted.train_seconds,
        },
    ))
}
