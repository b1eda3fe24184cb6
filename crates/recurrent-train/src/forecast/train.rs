//! Training one forecaster through [`crate::fit::fit`]: the [`FitTask`] of a
//! [`ForecastSetup`], and [`ForecastSetup::train`], which trains one (ensemble member)
//! model and scores its test forecast.

use std::collections::BTreeMap;

use burn::tensor::{Device, Tensor, TensorData};
use rand::RngExt;
use rand::rngs::StdRng;

use crate::error::{Result, TrainError};
use crate::fit::{FitEvent, FitTask, StepContext, StepOutput, StopReason, fit, shuffled_batches};
use crate::history::History;
use crate::metrics::ForecastScores;
use crate::run_dir::RunDir;

use super::config::ForecastMode;
use super::setup::ForecastSetup;
use recurrent_zoo::models::Forecaster;

/// One trained forecaster (an ensemble member, or the only model) and its test results.
#[derive(Debug)]
pub struct ForecastMember {
    /// The seed it was trained with.
    pub seed: u64,
    /// The model (without autodiff): the best validation epoch's weights.
    pub model: Forecaster,
    /// Per-epoch records: `loss` (MSE of the scaled, normalised targets), `val_loss` (the
    /// same on the validation windows, free running), `val_mase`.
    pub history: History,
    /// Seconds of training.
    pub train_seconds: f64,
    /// The epoch whose weights were kept (early stopping's best).
    pub best_epoch: Option<usize>,
    /// Why training ended.
    pub stop: StopReason,
    /// Its forecast of the test rows, in the data's units.
    pub forecast: Vec<f64>,
    /// The scores of that forecast.
    pub scores: ForecastScores,
}

/// The [`FitTask`] of a forecasting setup: batches of training windows, MSE on the scaled
/// (and normalised) targets, validation loss and MASE.
struct ForecastTask<'a> {
    setup: &'a ForecastSetup,
    /// The autodiff device the model trains on.
    device: Device,
    /// The same device without autodiff, for validation.
    plain: Device,
}

impl ForecastTask<'_> {
    /// MSE of `prediction` against `truth` (same shape), `[1]`.
    fn mse<const D: usize>(prediction: Tensor<D>, truth: Tensor<D>) -> Tensor<1> {
        (prediction - truth).square().mean()
    }

    /// The loss of `model` on the windows starting at `starts` (each `lookback` input rows
    /// then `horizon` targets), on `device`. `teacher` is the teacher-forcing ratio and its
    /// random draws; `None` rolls out freely.
    fn loss(
        &self,
        model: &Forecaster,
        starts: &[usize],
        device: &Device,
        teacher: Option<(f64, &mut StdRng)>,
    ) -> Result<Tensor<1>> {
        let shape = self.setup.shape();
        let origins: Vec<usize> = starts.iter().map(|s| s + shape.lookback).collect();
        let (x, y, level) = shape.window_tensors(self.setup.scaled(), &origins, device);
        let [b, h, _] = y.dims();
        match shape.mode {
            ForecastMode::Direct => {
                let target = y.slice([0..b, 0..h, 0..1]).reshape([b, h]);
                Ok(Self::mse(model.forward_direct(x), target))
            }
            ForecastMode::Autoregressive => {
                let prediction = match teacher {
                    Some((ratio, rng)) if ratio > 0.0 => {
                        let steps = h.saturating_sub(1);
                        let draws: Vec<f32> = (0..b * steps)
                            .map(|_| f32::from(u8::from(rng.random::<f64>() < ratio)))
                            .collect();
                        let all = draws.iter().all(|&d| d == 1.0);
                        let mask = Tensor::from_data(TensorData::new(draws, [b, steps, 1]), device);
                        model.forward_autoregressive(x, h, Some((y.clone(), mask)), all, level)?
                    }
                    _ => model.forward_autoregressive(x, h, None, false, level)?,
                };
                Ok(Self::mse(prediction, y))
            }
        }
    }
}

impl FitTask for ForecastTask<'_> {
    type Model = Forecaster;
    /// The start rows of the batch's training windows.
    type Batch = Vec<usize>;

    fn train_batches(&self, _epoch: usize, rng: &mut StdRng) -> Result<Vec<Vec<usize>>> {
        let starts = self.setup.data().train.starts().to_vec();
        Ok(shuffled_batches(
            starts,
            self.setup.config().batch_size,
            rng,
        ))
    }

    fn step(
        &self,
        model: &Forecaster,
        batch: &Vec<usize>,
        ctx: &mut StepContext<'_>,
    ) -> Result<StepOutput> {
        let loss = self.loss(
            model,
            batch,
            &self.device,
            Some((ctx.teacher_forcing, &mut *ctx.rng)),
        )?;
        Ok(StepOutput::new(loss, batch.len() as f64))
    }

    fn validate(&self, model: &Forecaster) -> Result<BTreeMap<String, f64>> {
        let starts = self.setup.data().valid.starts();
        if starts.is_empty() {
            return Ok(BTreeMap::new());
        }
        let (mut sum, mut count) = (0.0, 0.0);
        for chunk in starts.chunks(256) {
            let loss = self.loss(model, chunk, &self.plain, None)?;
            sum += f64::from(loss.into_scalar::<f32>()) * chunk.len() as f64;
            count += chunk.len() as f64;
        }
        let forecast =
            self.setup
                .model_forecast_rows(model, self.setup.valid_rows(), &self.plain)?;
        let scores = self.setup.score_rows(self.setup.valid_rows(), &forecast)?;
        Ok(BTreeMap::from([
            ("loss".to_owned(), sum / count),
            ("mase".to_owned(), scores.mase),
        ]))
    }
}

impl ForecastSetup {
    /// Trains one model with seed `seed` on `device` (a plain device; training runs on its
    /// autodiff twin) through [`fit`] with this setup's [`crate::fit::FitConfig`] (its
    /// seed replaced by `seed`), then forecasts and scores the test rows.
    ///
    /// `checkpoints` and `resume` are passed to [`fit`]; `observer` sees its events.
    pub fn train(
        &self,
        seed: u64,
        device: &Device,
        checkpoints: Option<&RunDir>,
        resume: bool,
        observer: impl FnMut(FitEvent<'_>),
    ) -> Result<ForecastMember> {
        let plain = device.clone().inner();
        let autodiff = plain.clone().autodiff();
        autodiff.seed(seed);
        let model = self.new_model(&autodiff)?;
        let task = ForecastTask {
            setup: self,
            device: autodiff,
            plain: plain.clone(),
        };
        let mut config = self.config().fit.clone();
        config.seed = seed;
        if self.data().valid.starts().is_empty() {
            config.early_stopping = None;
        }
        let fitted = fit(&config, &task, model, checkpoints, resume, observer)?;
        let forecast = self.model_forecast(&fitted.model, &plain)?;
        if let Some(bad) = forecast.iter().find(|v| !v.is_finite()) {
            return Err(TrainError::invalid(
                "forecast",
                format!("the model forecast {bad}; try a lower learning rate"),
            ));
        }
        let scores = self.score(&forecast)?;
        Ok(ForecastMember {
            seed,
            model: fitted.model,
            history: fitted.history,
            train_seconds: fitted.train_seconds,
            best_epoch: fitted.best_epoch,
            stop: fitted.stop,
            forecast,
            scores,
        })
    }
}
