//! The training loop every task shares: [`fit`] runs epochs of a [`FitTask`] with an
//! optimiser, gradient clipping, a learning-rate schedule, early stopping, scheduled
//! sampling, a time budget, per-epoch checkpoints and resume.
//!
//! Why our own loop and not burn-train's `Learner`: a run here must (1) write each
//! checkpoint into a [`RunDir`] under its crash-safe protocol (files first, then the
//! `latest` marker replaced atomically) and resume from exactly that checkpoint, including
//! the history, the early-stopping state and the schedule; (2) stop on the first NaN or
//! infinite loss with an error naming the epoch and step while the last good checkpoint
//! stays; (3) hand each step the teacher-forcing ratio of its epoch; (4) stop after a time
//! budget and still validate, checkpoint and return the model; and (5) report through one
//! observer that prints Keras-style lines or drives a progress bar. burn-train's learner
//! owns its checkpointer layout, event loop and TUI, so these would be fought rather than
//! configured. burn's optimisers, gradient clipping, learning-rate schedulers and records
//! are used as they are.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::optim::lr_scheduler::LrSchedulerRecord;
use burn::optim::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::optim::lr_scheduler::exponential::ExponentialLrSchedulerConfig;
use burn::optim::lr_scheduler::linear::LinearLrSchedulerConfig;
use burn::optim::lr_scheduler::module_lr_scheduler::{ModuleLearningRate, ModuleLrScheduler};
use burn::optim::lr_scheduler::step::StepLrSchedulerConfig;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::early_stopping::{Decision, EarlyStopping, Mode};
use crate::error::{Result, TrainError};
use crate::guard::check_finite;
use crate::history::{EpochRecord, History};
use crate::optimizer::{Clipping, OptimizerKind, build_optimizer};
use crate::run_dir::{RunDir, checkpoint_name};

/// What a training task supplies to [`fit`]: its batches, the loss of one batch, and its
/// validation metrics.
pub trait FitTask {
    /// The model (a burn module); [`fit`] trains it on an autodiff device.
    type Model: Module;
    /// One training batch.
    type Batch;

    /// The batches of epoch `epoch` (1-based), in run order. Shuffle with `rng`: it is
    /// seeded from the run's seed and the epoch, so a resumed run replays the same order.
    fn train_batches(&self, epoch: usize, rng: &mut StdRng) -> Result<Vec<Self::Batch>>;

    /// The loss of one batch (a one-element tensor on the autodiff device) and the batch's
    /// training metrics.
    fn step(
        &self,
        model: &Self::Model,
        batch: &Self::Batch,
        ctx: &mut StepContext<'_>,
    ) -> Result<StepOutput>;

    /// Validation metrics of `model` (a `.valid()` copy, without autodiff), such as
    /// `{"loss": 0.31, "mase": 0.82}`. The keys land in the epoch record's `valid` map
    /// (printed as `val_loss`, `val_mase`). An empty map means there is no validation.
    fn validate(&self, model: &Self::Model) -> Result<BTreeMap<String, f64>>;
}

/// What a training step knows besides its batch.
#[derive(Debug)]
pub struct StepContext<'a> {
    /// The epoch (1-based).
    pub epoch: usize,
    /// The step within the epoch (1-based).
    pub step: usize,
    /// The probability of feeding the true previous value rather than the model's own
    /// prediction (scheduled sampling), per [`TeacherForcing::ratio`] of this epoch.
    pub teacher_forcing: f64,
    /// Random numbers for the step (teacher-forcing draws, dropout masks of the task's own).
    pub rng: &'a mut StdRng,
}

/// The loss of one batch and its training metrics.
#[derive(Debug, Clone)]
pub struct StepOutput {
    /// The mean loss of the batch, `[1]`, on the autodiff device.
    pub loss: Tensor<1>,
    /// How many items the loss averages over (the epoch's loss is the weighted mean).
    pub weight: f64,
    /// Training metrics as `(name, sum, count)`, reported per epoch as `sum / count`.
    pub metrics: Vec<(String, f64, f64)>,
}

impl StepOutput {
    /// `loss` averaged over `weight` items.
    pub fn new(loss: Tensor<1>, weight: f64) -> Self {
        Self {
            loss,
            weight,
            metrics: Vec::new(),
        }
    }

    /// Adds a training metric accumulated over the epoch as `sum / count` (accuracy:
    /// correct predictions and predictions).
    pub fn with_metric(mut self, name: &str, sum: f64, count: f64) -> Self {
        self.metrics.push((name.to_owned(), sum, count));
        self
    }
}

/// Early stopping on a validation metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStoppingConfig {
    /// The key of [`FitTask::validate`]'s map to watch, e.g. `loss`.
    pub monitor: String,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// The smallest change that counts as an improvement.
    pub min_delta: f64,
    /// Whether lower (`min`) or higher (`max`) is better.
    pub mode: Mode,
}

impl EarlyStoppingConfig {
    /// Stop when the validation loss has not improved for `patience` epochs.
    pub fn on_loss(patience: usize) -> Self {
        Self {
            monitor: "loss".into(),
            patience,
            min_delta: 0.0,
            mode: Mode::Min,
        }
    }
}

/// The teacher-forcing ratio over epochs (scheduled sampling, Bengio et al. 2015): it goes
/// linearly from `start` in epoch 1 to `end` in epoch `decay_epochs + 1`, and stays there.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TeacherForcing {
    /// The ratio of epoch 1.
    pub start: f64,
    /// The ratio from epoch `decay_epochs + 1` on.
    pub end: f64,
    /// Epochs over which the ratio moves from `start` to `end`.
    pub decay_epochs: usize,
}

impl TeacherForcing {
    /// Always feed the truth (plain teacher forcing).
    pub fn always() -> Self {
        Self {
            start: 1.0,
            end: 1.0,
            decay_epochs: 0,
        }
    }

    /// The ratio of `epoch` (1-based), clamped into `[0, 1]`.
    pub fn ratio(&self, epoch: usize) -> f64 {
        let done = epoch.saturating_sub(1);
        let ratio = if self.decay_epochs == 0 || done >= self.decay_epochs {
            if self.decay_epochs == 0 && done == 0 {
                self.start
            } else {
                self.end
            }
        } else {
            self.start + (self.end - self.start) * done as f64 / self.decay_epochs as f64
        };
        ratio.clamp(0.0, 1.0)
    }
}

/// How the learning rate moves over the run (burn's schedulers, stepped once per batch).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Schedule {
    /// The configured rate throughout.
    Constant,
    /// Multiply the rate by `gamma` every `every_epochs` epochs.
    Step {
        /// Epochs between two drops.
        every_epochs: usize,
        /// The factor of each drop.
        gamma: f64,
    },
    /// Multiply the rate by `gamma` per epoch (spread evenly over its batches).
    Exponential {
        /// The factor per epoch.
        gamma: f64,
    },
    /// Cosine annealing from the configured rate to `min_lr` over the run.
    Cosine {
        /// The rate at the end of the run.
        min_lr: f64,
    },
    /// Linear from the configured rate to `final_lr` over the run.
    Linear {
        /// The rate at the end of the run.
        final_lr: f64,
    },
}

impl Schedule {
    /// Parses `constant`, `step:EVERY:GAMMA`, `exponential:GAMMA`, `cosine[:MIN_LR]` or
    /// `linear:FINAL_LR`.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || {
            TrainError::invalid(
                "learning-rate schedule",
                format!(
                    "{text:?} (expected constant, step:EVERY_EPOCHS:GAMMA, exponential:GAMMA, cosine[:MIN_LR] or linear:FINAL_LR)"
                ),
            )
        };
        let parts: Vec<&str> = text.split(':').collect();
        let num = |s: &str| s.trim().parse::<f64>().map_err(|_| bad());
        let schedule = match parts.as_slice() {
            ["constant"] => Self::Constant,
            ["step", every, gamma] => Self::Step {
                every_epochs: every.trim().parse().map_err(|_| bad())?,
                gamma: num(gamma)?,
            },
            ["exponential", gamma] => Self::Exponential { gamma: num(gamma)? },
            ["cosine"] => Self::Cosine { min_lr: 0.0 },
            ["cosine", min] => Self::Cosine { min_lr: num(min)? },
            ["linear", last] => Self::Linear {
                final_lr: num(last)?,
            },
            _ => return Err(bad()),
        };
        Ok(schedule)
    }

    /// burn's scheduler for a run of `epochs` epochs of `steps` batches from rate `lr`.
    fn scheduler(self, lr: f64, epochs: usize, steps: usize) -> Result<ModuleLrScheduler> {
        let steps = steps.max(1);
        let total = (epochs * steps).max(1);
        let built = match self {
            Self::Constant => return Ok(ModuleLrScheduler::new(lr)),
            Self::Step {
                every_epochs,
                gamma,
            } => StepLrSchedulerConfig::new(lr, (every_epochs * steps).max(1))
                .with_gamma(gamma)
                .init(),
            Self::Exponential { gamma } => {
                ExponentialLrSchedulerConfig::new(lr, gamma.powf(1.0 / steps as f64)).init()
            }
            Self::Cosine { min_lr } => CosineAnnealingLrSchedulerConfig::new(lr, total)
                .with_min_lr(min_lr)
                .init(),
            Self::Linear { final_lr } => LinearLrSchedulerConfig::new(lr, final_lr, total).init(),
        };
        built.map_err(|message| TrainError::invalid("learning-rate schedule", message))
    }
}

/// Every setting of the loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitConfig {
    /// Epochs to run (a resumed run counts the epochs already done).
    pub epochs: usize,
    /// The optimiser.
    pub optimizer: OptimizerKind,
    /// The (initial) learning rate.
    pub lr: f64,
    /// How the learning rate moves.
    pub schedule: Schedule,
    /// Gradient clipping, by norm or by value.
    pub clipping: Option<Clipping>,
    /// Early stopping on a validation metric.
    pub early_stopping: Option<EarlyStoppingConfig>,
    /// The teacher-forcing ratio over epochs, handed to each step.
    pub teacher_forcing: TeacherForcing,
    /// Stop training after this many minutes (counting the time before a resume), then
    /// still validate, checkpoint and return the model.
    pub max_minutes: Option<f64>,
    /// Seed of weights and shuffling.
    pub seed: u64,
    /// Return the weights of the best epoch of the early-stopping monitor rather than the
    /// last (no effect without early stopping).
    pub restore_best: bool,
}

impl FitConfig {
    /// `epochs` of Adam at `lr`, constant rate, no clipping, no early stopping, teacher
    /// forcing always, seed 42, best weights restored.
    pub fn new(epochs: usize, lr: f64) -> Self {
        Self {
            epochs,
            optimizer: OptimizerKind::Adam,
            lr,
            schedule: Schedule::Constant,
            clipping: None,
            early_stopping: None,
            teacher_forcing: TeacherForcing::always(),
            max_minutes: None,
            seed: 42,
            restore_best: true,
        }
    }

    fn check(&self) -> Result<()> {
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(TrainError::invalid(
                "learning rate",
                format!("{} (must be above 0)", self.lr),
            ));
        }
        if let Some(minutes) = self.max_minutes
            && (minutes.is_nan() || minutes <= 0.0)
        {
            return Err(TrainError::invalid(
                "max minutes",
                format!("{minutes} (must be above 0)"),
            ));
        }
        if let Some(stop) = &self.early_stopping
            && stop.patience == 0
        {
            return Err(TrainError::invalid("patience", "0 (must be at least 1)"));
        }
        match self.clipping {
            Some(Clipping::Norm(v) | Clipping::Value(v)) if v.is_nan() || v <= 0.0 => Err(
                TrainError::invalid("gradient clipping", format!("{v} (must be above 0)")),
            ),
            _ => Ok(()),
        }
    }
}

/// What the loop is doing, for progress displays.
#[derive(Debug)]
pub enum FitEvent<'a> {
    /// Training continues after the checkpoint of `epoch`.
    Resumed {
        /// The epoch of the checkpoint.
        epoch: usize,
    },
    /// An epoch begins.
    EpochStart {
        /// The epoch (1-based).
        epoch: usize,
        /// Epochs of the run.
        epochs: usize,
        /// Batches of this epoch.
        steps: usize,
    },
    /// A batch was trained.
    Step {
        /// The epoch.
        epoch: usize,
        /// The step (1-based).
        step: usize,
        /// Batches of this epoch.
        steps: usize,
        /// The mean loss of the epoch so far.
        loss: f64,
    },
    /// An epoch ended (after validation).
    EpochEnd(&'a EpochRecord),
    /// Training ended.
    Stopped(&'a StopReason),
    /// `--resume` skipped the checkpoint of `epoch`: one of its files does not load.
    SkippedCheckpoint {
        /// The epoch of the checkpoint.
        epoch: usize,
        /// What failed, naming the file.
        reason: &'a str,
    },
}

/// Why training ended.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum StopReason {
    /// Every epoch ran.
    Completed,
    /// The monitored metric stopped improving; `epoch` was the last one run.
    EarlyStopped {
        /// The last epoch run.
        epoch: usize,
    },
    /// The time budget ran out during `epoch`.
    TimeLimit {
        /// The epoch cut short.
        epoch: usize,
    },
}

impl std::fmt::Display for StopReason {
    /// `completed`, `early stopping after epoch E` or `time limit in epoch E`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Completed => f.write_str("completed"),
            Self::EarlyStopped { epoch } => write!(f, "early stopping after epoch {epoch}"),
            Self::TimeLimit { epoch } => write!(f, "time limit in epoch {epoch}"),
        }
    }
}

/// The result of [`fit`].
#[derive(Debug)]
pub struct Fitted<M> {
    /// The trained model as a `.valid()` copy: the best epoch's weights when
    /// [`FitConfig::restore_best`] and early stopping are set, else the last.
    pub model: M,
    /// One record per epoch (`loss` and training metrics, `valid` metrics).
    pub history: History,
    /// Seconds of training, including those before a resume.
    pub train_seconds: f64,
    /// The best epoch of the early-stopping monitor.
    pub best_epoch: Option<usize>,
    /// Why training ended.
    pub stop: StopReason,
}

/// The loop's state saved with each checkpoint (`state.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LoopState {
    epoch: usize,
    history: History,
    stopping: Option<EarlyStopping>,
    best_epoch: Option<usize>,
    train_seconds: f64,
    stop: Option<StopReason>,
}

const MODEL_FILE: &str = "model.bpk";
const OPTIMIZER_FILE: &str = "optimizer.bpk";
const SCHEDULER_FILE: &str = "scheduler.bpk";
const STATE_FILE: &str = "state.json";

fn record_error(what: &'static str, path: &Path, err: impl std::fmt::Display) -> TrainError {
    TrainError::invalid(what, format!("{}: {err}", path.display()))
}

fn read_bytes(path: &Path) -> Result<Bytes> {
    let data = std::fs::read(path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Bytes::from_bytes_vec(data))
}

/// `items` shuffled with `rng` and cut into batches of `batch_size` (the last one may be
/// shorter): the usual [`FitTask::train_batches`] of a task whose batches are item indices.
pub fn shuffled_batches(
    mut items: Vec<usize>,
    batch_size: usize,
    rng: &mut StdRng,
) -> Vec<Vec<usize>> {
    items.shuffle(rng);
    items
        .chunks(batch_size.max(1))
        .map(<[usize]>::to_vec)
        .collect()
}

/// The seed of epoch `epoch`'s random numbers.
fn epoch_rng(seed: u64, epoch: usize) -> StdRng {
    StdRng::seed_from_u64(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Trains `model` (built on an autodiff device) on `task`.
///
/// With `checkpoints`, a checkpoint is written after every epoch into the run directory
/// (`checkpoints/epoch-NNNN/`: weights, optimiser state, schedule, loop state; then the
/// `latest` marker is replaced atomically) and `metrics.csv` is rewritten; older
/// checkpoints are removed except the best epoch's. With `resume`, training continues from
/// the latest complete checkpoint (none: from the start).
///
/// Errors: [`TrainError::NonFiniteLoss`] naming the epoch and step of a NaN or infinite
/// loss (the last checkpoint stays), invalid settings, the task's own errors, and I/O
/// errors naming the file.
pub fn fit<T: FitTask>(
    config: &FitConfig,
    task: &T,
    model: T::Model,
    checkpoints: Option<&RunDir>,
    resume: bool,
    mut observer: impl FnMut(FitEvent<'_>),
) -> Result<Fitted<T::Model>> {
    config.check()?;
    let mut run = Run::start(config, model)?;
    if resume && let Some(dir) = checkpoints {
        run.resume_from(dir, &mut observer)?;
    }
    let clock = Clock::new(run.state.train_seconds, config.max_minutes);
    let mut best_weights: Option<Bytes> = None;
    while run.state.stop.is_none() && run.state.epoch < config.epochs {
        let epoch = run.state.epoch + 1;
        let started = Instant::now();
        let trained = run.train_epoch(task, epoch, &clock, &mut observer)?;
        let valid = task.validate(&run.model().valid())?;
        let record = EpochRecord {
            epoch,
            seconds: started.elapsed().as_secs_f64(),
            train: trained.metrics,
            valid,
        };
        if run.watch(&record)? && config.restore_best {
            best_weights = Some(weights_of(run.model())?);
        }
        if trained.timed_out || clock.is_over() && epoch < config.epochs {
            run.state
                .stop
                .get_or_insert(StopReason::TimeLimit { epoch });
        }
        observer(FitEvent::EpochEnd(&record));
        run.state.history.push(record);
        run.state.epoch = epoch;
        run.state.train_seconds = clock.elapsed();
        if let Some(dir) = checkpoints {
            save_checkpoint(
                dir,
                &run.state,
                run.model(),
                &run.optim,
                run.scheduler.as_ref(),
            )?;
        }
    }
    let stop = run.state.stop.unwrap_or(StopReason::Completed);
    observer(FitEvent::Stopped(&stop));
    let model = run.final_model(best_weights, checkpoints)?;
    Ok(Fitted {
        model,
        history: run.state.history,
        train_seconds: run.state.train_seconds,
        best_epoch: run.state.best_epoch,
        stop,
    })
}

/// The training time so far (including the time before a resume) and its budget.
struct Clock {
    started: Instant,
    before: f64,
    deadline: Option<f64>,
}

impl Clock {
    fn new(before: f64, max_minutes: Option<f64>) -> Self {
        Self {
            started: Instant::now(),
            before,
            deadline: max_minutes.map(|m| m * 60.0),
        }
    }

    /// Seconds of training, including those before a resume.
    fn elapsed(&self) -> f64 {
        self.before + self.started.elapsed().as_secs_f64()
    }

    /// Whether the time budget is spent.
    fn is_over(&self) -> bool {
        self.deadline.is_some_and(|d| self.elapsed() > d)
    }
}

/// What one epoch of training produced.
struct EpochTraining {
    /// `loss` (the weighted mean over the batches) and the task's training metrics.
    metrics: BTreeMap<String, f64>,
    /// Whether the time budget cut the epoch short.
    timed_out: bool,
}

/// The weights of `model` as bytes (a copy kept in memory).
fn weights_of<M: Module>(model: &M) -> Result<Bytes> {
    model
        .valid()
        .into_record()
        .into_bytes()
        .map_err(|e| TrainError::invalid("weights", e.to_string()))
}

/// The state of one call of [`fit`]: the model, its optimiser and schedule, and the loop's
/// own state.
struct Run<'a, M: Module> {
    config: &'a FitConfig,
    /// Always `Some` between calls; taken while the optimiser steps it.
    model: Option<M>,
    optim: burn::optim::ModuleOptimizer,
    /// Built at the first epoch, when the number of batches is known.
    scheduler: Option<ModuleLrScheduler>,
    /// A resumed schedule's state, loaded into the scheduler once it is built.
    pending_scheduler: Option<LrSchedulerRecord>,
    state: LoopState,
    /// The validation metric early stopping watches.
    monitor: Option<String>,
}

impl<'a, M: Module> Run<'a, M> {
    /// A fresh run of `model`.
    fn start(config: &'a FitConfig, model: M) -> Result<Self> {
        Ok(Self {
            config,
            model: Some(model),
            optim: build_optimizer(config.optimizer, config.clipping),
            scheduler: None,
            pending_scheduler: None,
            state: LoopState {
                epoch: 0,
                history: History::new(),
                stopping: config
                    .early_stopping
                    .as_ref()
                    .map(|c| EarlyStopping::new(c.patience, c.min_delta, c.mode))
                    .transpose()?,
                best_epoch: None,
                train_seconds: 0.0,
                stop: None,
            },
            monitor: config.early_stopping.as_ref().map(|c| c.monitor.clone()),
        })
    }

    /// Continues from the newest complete checkpoint of `dir` that loads, when there is one:
    /// weights, optimiser state, schedule and loop state. A checkpoint that does not load (a
    /// truncated or corrupted file) is skipped with a [`FitEvent::SkippedCheckpoint`] naming
    /// the file and the error, and the next older one is tried; nothing of a skipped
    /// checkpoint is kept. When none loads, the error of the newest is returned.
    fn resume_from(&mut self, dir: &RunDir, observer: &mut impl FnMut(FitEvent<'_>)) -> Result<()> {
        let mut first_error = None;
        for (epoch, path) in dir.complete_checkpoints() {
            match self.load_checkpoint(&path) {
                Ok(loaded) => {
                    let (model, optim, scheduler, mut state) = loaded;
                    self.model = Some(model);
                    self.optim = optim;
                    self.pending_scheduler = scheduler;
                    state.epoch = epoch;
                    self.state = state;
                    observer(FitEvent::Resumed { epoch });
                    return Ok(());
                }
                Err(err) => {
                    let reason = err.to_string();
                    tracing::warn!(epoch, %reason, "skipping a checkpoint that does not load");
                    observer(FitEvent::SkippedCheckpoint {
                        epoch,
                        reason: &reason,
                    });
                    first_error.get_or_insert(err);
                }
            }
        }
        match first_error {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// The weights, optimiser, schedule and loop state of the checkpoint in `path`, read
    /// without touching the run's own (so a checkpoint that fails halfway changes nothing).
    #[allow(clippy::type_complexity)]
    fn load_checkpoint(
        &self,
        path: &Path,
    ) -> Result<(
        M,
        burn::optim::ModuleOptimizer,
        Option<LrSchedulerRecord>,
        LoopState,
    )> {
        let file = path.join(MODEL_FILE);
        let record = ModuleRecord::from_bytes(read_bytes(&file)?)
            .map_err(|e| record_error("checkpoint", &file, e))?;
        let model = self
            .model
            .clone()
            .expect("the run holds its model")
            .try_load_record(record)
            .map_err(|e| record_error("checkpoint", &file, e))?;
        let file = path.join(OPTIMIZER_FILE);
        let optim = build_optimizer(self.config.optimizer, self.config.clipping)
            .from_bytes(read_bytes(&file)?)
            .map_err(|e| record_error("checkpoint", &file, e))?;
        let file = path.join(SCHEDULER_FILE);
        let scheduler = if file.is_file() {
            Some(
                LrSchedulerRecord::from_bytes(read_bytes(&file)?)
                    .map_err(|e| record_error("checkpoint", &file, e))?,
            )
        } else {
            None
        };
        let file = path.join(STATE_FILE);
        let text = std::fs::read_to_string(&file).map_err(|source| TrainError::Io {
            path: file.clone(),
            source,
        })?;
        let state: LoopState = serde_json::from_str(&text).map_err(|source| TrainError::Json {
            path: file.clone(),
            source,
        })?;
        Ok((model, optim, scheduler, state))
    }

    /// Trains one epoch: its batches in the epoch's seeded order, one optimiser step each,
    /// until they run out or the time budget does.
    fn train_epoch<T: FitTask<Model = M>>(
        &mut self,
        task: &T,
        epoch: usize,
        clock: &Clock,
        observer: &mut impl FnMut(FitEvent<'_>),
    ) -> Result<EpochTraining> {
        let config = self.config;
        let mut rng = epoch_rng(config.seed, epoch);
        // The device's generator (dropout masks) restarts from the run seed and the epoch
        // too, so a resumed epoch draws the same masks as an uninterrupted one.
        if let Some(device) = self.model().devices().first() {
            device.seed(config.seed ^ (epoch as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
        }
        let batches = task.train_batches(epoch, &mut rng)?;
        let steps = batches.len();
        if self.scheduler.is_none() {
            let mut built = config.schedule.scheduler(config.lr, config.epochs, steps)?;
            if let Some(record) = self.pending_scheduler.take() {
                built = built.load_record(record);
            }
            self.scheduler = Some(built);
        }
        observer(FitEvent::EpochStart {
            epoch,
            epochs: config.epochs,
            steps,
        });
        let teacher_forcing = config.teacher_forcing.ratio(epoch);
        let (mut loss_sum, mut weight_sum) = (0.0f64, 0.0f64);
        let mut sums: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        let mut timed_out = false;
        for (index, batch) in batches.iter().enumerate() {
            let step = index + 1;
            let mut ctx = StepContext {
                epoch,
                step,
                teacher_forcing,
                rng: &mut rng,
            };
            let out = task.step(self.model(), batch, &mut ctx)?;
            let value = f64::from(out.loss.clone().into_scalar::<f32>());
            check_finite(value, epoch, step)?;
            loss_sum += value * out.weight;
            weight_sum += out.weight;
            for (name, sum, count) in out.metrics {
                let entry = sums.entry(name).or_default();
                entry.0 += sum;
                entry.1 += count;
            }
            self.step(out.loss);
            observer(FitEvent::Step {
                epoch,
                step,
                steps,
                loss: loss_sum / weight_sum.max(f64::MIN_POSITIVE),
            });
            if clock.is_over() && step < steps {
                tracing::info!(epoch, step, "time limit reached");
                timed_out = true;
                break;
            }
        }
        let mean = |sum: f64, count: f64| if count > 0.0 { sum / count } else { f64::NAN };
        let mut metrics = BTreeMap::from([("loss".to_owned(), mean(loss_sum, weight_sum))]);
        for (name, (sum, count)) in sums {
            metrics.insert(name, mean(sum, count));
        }
        Ok(EpochTraining { metrics, timed_out })
    }

    /// The model being trained.
    fn model(&self) -> &M {
        self.model.as_ref().expect("the run holds its model")
    }

    /// One optimiser step on the gradients of `loss`, at the schedule's rate.
    fn step(&mut self, loss: Tensor<1>) {
        let model = self.model.take().expect("the run holds its model");
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let lr: ModuleLearningRate = self
            .scheduler
            .as_mut()
            .map_or_else(|| self.config.lr.into(), ModuleLrScheduler::step);
        self.model = Some(self.optim.step(lr, model, grads));
    }

    /// Feeds the epoch's monitored validation metric to early stopping: whether the epoch
    /// is the best so far. Stopping is recorded in the loop state.
    ///
    /// Errors: the validation metrics lack the monitored key.
    fn watch(&mut self, record: &EpochRecord) -> Result<bool> {
        let (Some(stopping), Some(name)) = (self.state.stopping.as_mut(), self.monitor.as_ref())
        else {
            return Ok(false);
        };
        let value = record.valid.get(name).copied().ok_or_else(|| {
            TrainError::invalid(
                "early stopping",
                format!(
                    "the validation metrics have no {name:?} (they have {:?})",
                    record.valid.keys().collect::<Vec<_>>()
                ),
            )
        })?;
        Ok(match stopping.update(record.epoch, value) {
            Decision::Improved => {
                self.state.best_epoch = Some(record.epoch);
                true
            }
            Decision::Stop { .. } => {
                self.state.stop = Some(StopReason::EarlyStopped {
                    epoch: record.epoch,
                });
                false
            }
            Decision::NoImprovement { .. } => false,
        })
    }

    /// The model to return: a `.valid()` copy of the best epoch's weights when they are to
    /// be restored (from memory, or from the best epoch's checkpoint after a resume), else
    /// of the last.
    fn final_model(&self, best_weights: Option<Bytes>, checkpoints: Option<&RunDir>) -> Result<M> {
        let model = self.model().valid();
        let config = self.config;
        let best = match self.state.best_epoch {
            Some(best) if config.restore_best && config.early_stopping.is_some() => best,
            _ => return Ok(model),
        };
        if best == self.state.epoch {
            return Ok(model);
        }
        let bytes = match (best_weights, checkpoints) {
            (Some(bytes), _) => bytes,
            // Resumed after the best epoch: its checkpoint was kept for this.
            (None, Some(dir)) => read_bytes(&dir.checkpoint_dir(best).join(MODEL_FILE))?,
            (None, None) => {
                return Err(TrainError::invalid(
                    "restore best",
                    "the best weights are neither in memory nor in a checkpoint",
                ));
            }
        };
        let record = ModuleRecord::from_bytes(bytes)
            .map_err(|e| TrainError::invalid("weights", e.to_string()))?;
        model
            .try_load_record(record)
            .map_err(|e| TrainError::invalid("weights", e.to_string()))
    }
}

fn save_checkpoint<M: Module>(
    dir: &RunDir,
    state: &LoopState,
    model: &M,
    optim: &burn::optim::ModuleOptimizer,
    scheduler: Option<&ModuleLrScheduler>,
) -> Result<()> {
    let epoch = state.epoch;
    dir.begin_checkpoint(epoch)?;
    let name = |file: &str| {
        format!(
            "{}/{}/{file}",
            crate::run_dir::CHECKPOINTS_DIR,
            checkpoint_name(epoch)
        )
    };
    let weights = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| TrainError::invalid("weights", e.to_string()))?;
    dir.write_file(&name(MODEL_FILE), &weights)?;
    let optimizer = optim
        .into_bytes()
        .map_err(|e| TrainError::invalid("optimizer state", e.to_string()))?;
    dir.write_file(&name(OPTIMIZER_FILE), &optimizer)?;
    if let Some(scheduler) = scheduler {
        let bytes = scheduler
            .to_record()
            .into_bytes()
            .map_err(|e| TrainError::invalid("schedule state", e.to_string()))?;
        dir.write_file(&name(SCHEDULER_FILE), &bytes)?;
    }
    dir.write_json(&name(STATE_FILE), state)?;
    // Read the weights and the loop state back before the checkpoint counts: a file that
    // does not decode never becomes the newest checkpoint, and the previous one stays.
    let file = dir.checkpoint_dir(epoch).join(MODEL_FILE);
    ModuleRecord::from_bytes(read_bytes(&file)?)
        .map_err(|e| record_error("checkpoint", &file, e))?;
    let file = dir.checkpoint_dir(epoch).join(STATE_FILE);
    let text = std::fs::read_to_string(&file).map_err(|source| TrainError::Io {
        path: file.clone(),
        source,
    })?;
    serde_json::from_str::<LoopState>(&text).map_err(|source| TrainError::Json {
        path: file.clone(),
        source,
    })?;
    dir.commit_checkpoint(epoch)?;
    state.history.write_csv(&dir.metrics_csv_path())?;
    // Keep the newest checkpoint, the one before it (what `--resume` falls back to when the
    // newest is damaged later) and the best epoch's (restore_best after a resume).
    for old in 1..epoch.saturating_sub(1) {
        if Some(old) != state.best_epoch {
            let path = dir.checkpoint_dir(old);
            if path.is_dir() {
                std::fs::remove_dir_all(&path).map_err(|source| TrainError::Io { path, source })?;
            }
        }
    }
    Ok(())
}
