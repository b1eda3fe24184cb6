//! The Keras tutorial program, as a training task: 1000 random sequences of shape
//! `(10, 1)` with random 0/1 labels, `SimpleRNN(64, relu)` or `LSTM(64,
//! return_sequences) + LSTM(32)` or `GRU(64, return_sequences) + GRU(32)`, then
//! `Dense(1, sigmoid)`; Adam, binary cross-entropy, accuracy; 10 epochs of batch 32.
//!
//! The labels are random, so the accuracy stays near 0.5: the program measures the
//! training machinery (and its speed), not learning.

use std::str::FromStr;
use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::BinaryCrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use recurrent_cells::{
    Gru, GruConfig, Lstm, LstmConfig, RecurrentLayer, Rnn, RnnActivation, RnnConfig, StateDict,
};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::guard::check_finite;
use crate::history::{EpochRecord, History};
use crate::optimizer::{OptimizerKind, build_optimizer};

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
    /// Epochs.
    pub epochs: usize,
    /// Sequences per batch.
    pub batch_size: usize,
    /// Adam's learning rate (Keras' default 0.001).
    pub lr: f64,
    /// Seed of the data, the weights and the shuffling.
    pub seed: u64,
}

impl TutorialConfig {
    /// The Keras program with `cell`.
    pub fn new(cell: TutorialCell) -> Self {
        Self {
            cell,
            samples: 1000,
            steps: 10,
            epochs: 10,
            batch_size: 32,
            lr: 1e-3,
            seed: 42,
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
    let mut rng = StdRng::seed_from_u64(config.seed);
    let x = (0..config.samples * config.steps)
        .map(|_| rng.random::<f32>())
        .collect();
    let y = (0..config.samples)
        .map(|_| i64::from(rng.random::<bool>()))
        .collect();
    (x, y)
}

/// Trains the tutorial model on `device` (an autodiff device), calling `on_epoch` after each
/// epoch with its record (for Keras-like lines). A NaN or infinite loss stops the run with
/// an error naming the epoch and step.
pub fn train_tutorial(
    config: &TutorialConfig,
    device: &Device,
    mut on_epoch: impl FnMut(&EpochRecord),
) -> Result<(TutorialModel, TutorialRun)> {
    if config.batch_size == 0 || config.samples == 0 || config.steps == 0 {
        return Err(TrainError::invalid(
            "tutorial",
            "samples, steps and batch size must be at least 1",
        ));
    }
    device.seed(config.seed);
    let (x, y) = tutorial_data(config);
    let mut model = TutorialModel::new(config.cell, device);
    let mut optim = build_optimizer(OptimizerKind::Adam, None);
    let loss_fn = BinaryCrossEntropyLossConfig::new()
        .with_logits(true)
        .init(device);
    let mut rng = StdRng::seed_from_u64(config.seed ^ 0x5eed);
    let mut order: Vec<usize> = (0..config.samples).collect();
    let mut history = History::new();
    let started = Instant::now();
    for epoch in 1..=config.epochs {
        let epoch_start = Instant::now();
        order.shuffle(&mut rng);
        let (mut loss_sum, mut correct) = (0.0f64, 0usize);
        for (step, batch) in order.chunks(config.batch_size).enumerate() {
            let n = batch.len();
            let xs: Vec<f32> = batch
                .iter()
                .flat_map(|&i| x[i * config.steps..(i + 1) * config.steps].iter().copied())
                .collect();
            let ys: Vec<i64> = batch.iter().map(|&i| y[i]).collect();
            let xb = Tensor::<3>::from_data(TensorData::new(xs, [n, config.steps, 1]), device);
            let yb = Tensor::<1, Int>::from_data(TensorData::new(ys.clone(), [n]), device);
            let logits = model.forward(xb);
            let loss = loss_fn.forward(logits.clone(), yb);
            let loss_value = f64::from(loss.clone().into_scalar::<f32>());
            check_finite(loss_value, epoch, step + 1)?;
            loss_sum += loss_value * n as f64;
            let logits = logits
                .inner()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap_or_default();
            correct += logits
                .iter()
                .zip(&ys)
                .filter(|&(&l, &t)| i64::from(l > 0.0) == t)
                .count();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(config.lr, model, grads);
        }
        let record = EpochRecord {
            epoch,
            seconds: epoch_start.elapsed().as_secs_f64(),
            train: [
                ("loss".to_owned(), loss_sum / config.samples as f64),
                (
                    "accuracy".to_owned(),
                    correct as f64 / config.samples as f64,
                ),
            ]
            .into(),
            valid: Default::default(),
        };
        on_epoch(&record);
        history.push(record);
    }
    let train_seconds = started.elapsed().as_secs_f64();
    Ok((
        model,
        TutorialRun {
            history,
            train_seconds,
        },
    ))
}
