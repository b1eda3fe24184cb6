//! The Keras tutorial program, as a training task: 1000 random sequences of shape
//! `(10, 1)` with random 0/1 labels, `SimpleRNN(64, relu)` or `LSTM(64,
//! return_sequences) + LSTM(32)` or `GRU(64, return_sequences) + GRU(32)`, then
//! `Dense(1, sigmoid)` (a zoo [`SequenceClassifier`]); Adam, binary cross-entropy,
//! accuracy; 10 epochs of batch 32.
//!
//! The labels are random, so the accuracy stays near 0.5: the program measures the
//! training machinery (and its speed), not learning.

use std::collections::BTreeMap;
use std::path::Path;

use burn::nn::loss::{BinaryCrossEntropyLoss, BinaryCrossEntropyLossConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use recurrent_cells::RnnActivation;
use recurrent_data::{PadOptions, pad_steps};
use recurrent_zoo::RecurrentKind;
use recurrent_zoo::models::{SequenceClassifier, SequenceClassifierConfig};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::fit::{FitConfig, FitEvent, FitTask, StepContext, StepOutput, fit, shuffled_batches};
use crate::history::History;
use crate::run_config::{CONFIG_FILE, SavedRun};
use crate::weights::load_weights;

/// Settings of the tutorial run (the Keras program's values by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TutorialConfig {
    /// The recurrent layers: `rnn` is `SimpleRNN(64, activation='relu')`; the gated cells
    /// are two layers, `64` then `32` (`LSTM(64, return_sequences=True)`, `LSTM(32)`).
    pub cell: RecurrentKind,
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
    pub fn new(cell: RecurrentKind) -> Self {
        Self {
            cell,
            samples: 1000,
            steps: 10,
            batch_size: 32,
            fit: FitConfig::new(10, 1e-3),
        }
    }

    /// The tutorial's network for this cell: a zoo [`SequenceClassifier`] with one input
    /// feature, a binary head (`Dense(1, sigmoid)`) on the last step, and Keras' layers.
    pub fn model_config(&self) -> SequenceClassifierConfig {
        let model = SequenceClassifierConfig::new(1, 2).with_kind(self.cell);
        match self.cell {
            RecurrentKind::Rnn => model
                .with_widths(vec![64])
                .with_activation(RnnActivation::Relu),
            _ => model.with_widths(vec![64, 32]),
        }
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
    type Model = SequenceClassifier;
    type Batch = Vec<usize>;

    fn train_batches(&self, _epoch: usize, rng: &mut StdRng) -> Result<Vec<Vec<usize>>> {
        let all = (0..self.config.samples).collect();
        Ok(shuffled_batches(all, self.config.batch_size, rng))
    }

    fn step(
        &self,
        model: &SequenceClassifier,
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
        let logits = model.try_forward(xb, None)?.reshape([n]);
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

    fn validate(&self, _model: &SequenceClassifier) -> Result<BTreeMap<String, f64>> {
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
) -> Result<(SequenceClassifier, TutorialRun)> {
    if config.batch_size == 0 || config.samples == 0 || config.steps == 0 {
        return Err(TrainError::invalid(
            "tutorial",
            "samples, steps and batch size must be at least 1",
        ));
    }
    device.seed(config.fit.seed);
    let (x, y) = tutorial_data(config);
    let model = config.model_config().try_init(device)?;
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

/// The weights file of a tutorial run.
pub const MODEL_FILE: &str = "model.safetensors";

/// A finished tutorial run read back: its settings and the trained classifier.
#[derive(Debug)]
pub struct TutorialRunFiles {
    /// The run's settings.
    pub config: TutorialConfig,
    /// The classifier.
    pub model: SequenceClassifier,
}

/// Reads the tutorial run in `dir` (`config.toml`, `model.safetensors`) onto `device`.
///
/// Errors name the file: missing, unreadable, not a tutorial run, or weights that do not fit.
pub fn load_run(dir: &Path, device: &Device) -> Result<TutorialRunFiles> {
    let config: TutorialConfig = SavedRun::read(&dir.join(CONFIG_FILE))?.settings_of("tutorial")?;
    let model = load_weights(
        config.model_config().try_init(device)?,
        &dir.join(MODEL_FILE),
    )?;
    Ok(TutorialRunFiles { config, model })
}

/// Sequences to classify from a text file: one sequence per line, its steps as numbers
/// separated by commas or white space (one feature per step, any number of steps); blank
/// lines and lines starting with `#` are skipped.
///
/// Errors: the file cannot be read, or a value is not a finite number (named with
/// `FILE:LINE`).
pub fn read_sequences(path: &Path) -> Result<Vec<Vec<f32>>> {
    let text = std::fs::read_to_string(path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut sequences = Vec::new();
    for (k, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let steps = line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .map(|t| match t.parse::<f32>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(TrainError::invalid(
                    "sequence file",
                    format!("{}:{}: {t:?} is not a finite number", path.display(), k + 1),
                )),
            })
            .collect::<Result<Vec<f32>>>()?;
        sequences.push(steps);
    }
    if sequences.is_empty() {
        return Err(TrainError::invalid(
            "sequence file",
            format!("{}: no sequences", path.display()),
        ));
    }
    Ok(sequences)
}

/// The probability of class 1 of each sequence (`p > 0.5` is the tutorial's accuracy
/// rule). Sequences of different lengths run as one padded batch with their lengths.
pub fn predict_probabilities(
    model: &SequenceClassifier,
    sequences: &[Vec<f32>],
    device: &Device,
) -> Result<Vec<f32>> {
    let padded = pad_steps(sequences, 1, &PadOptions::new(0.0f32))?;
    if padded.maxlen == 0 {
        return Err(TrainError::invalid("sequences", "no steps to classify"));
    }
    let x = padded.to_tensor3(device);
    let logits = model.try_forward(x, Some(padded.lengths_tensor(device)))?;
    model
        .probabilities(logits)
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| TrainError::invalid("probabilities", format!("{e:?}")))
}
