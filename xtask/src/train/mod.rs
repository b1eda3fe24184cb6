//! `cargo xtask train [TASK] [OPTIONS]`: trains a model and writes a run directory
//! (`config.toml`, `metrics.csv`, `metrics.json`, weights as safetensors, plots).
//!
//! Tasks: `char-lm` (the default), `tutorial` (the Keras tutorial program), `forecast`,
//! `tagger` and `seq2seq`. `--config FILE.toml` starts from the settings of a file written by an
//! earlier run; `--resume RUN_DIR` continues a run from its last complete checkpoint.
//! Options typed on the command line override both.

pub mod char_lm;
pub mod forecast;
pub mod seq2seq;
pub mod tagger;
pub mod tutorial;

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use recurrent::backend::Backend;
use recurrent::burn::tensor::Device;
use recurrent::train::fit::{EarlyStoppingConfig, FitConfig, Schedule};
use recurrent::train::{Clipping, OptimizerKind, RunDir, SavedRun, write_config};
use recurrent::zoo::RecurrentKind;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Options every task takes. Unset options keep the task's default (or the setting of
/// `--config` / the resumed run).
#[derive(Args, Debug, Clone, Default)]
pub struct Common {
    /// Backend: flex, ndarray or wgpu (compiled in by Cargo feature) [default: flex].
    #[arg(long, global = true)]
    pub backend: Option<Backend>,
    /// Run directory (default `runs/<task>-<timestamp>`); must not exist or be empty.
    #[arg(long, global = true)]
    pub out: Option<PathBuf>,
    /// Settings file: a `config.toml` written by an earlier run (its `[settings]` table).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Continue the run in this directory from its last complete checkpoint.
    #[arg(long, global = true, conflicts_with_all = ["out", "config"])]
    pub resume: Option<PathBuf>,
    /// Epochs (a resumed run counts those already done).
    #[arg(long, global = true)]
    pub epochs: Option<usize>,
    /// Seed of data order, weights and sampling.
    #[arg(long, global = true)]
    pub seed: Option<u64>,
    /// Learning rate.
    #[arg(long, global = true)]
    pub lr: Option<f64>,
    /// Batch size.
    #[arg(long, global = true)]
    pub batch_size: Option<usize>,
    /// Optimiser: adam, adamw, sgd (momentum 0.9) or rmsprop.
    #[arg(long, global = true)]
    pub optimizer: Option<OptimizerKind>,
    /// Learning-rate schedule: constant, step:EVERY_EPOCHS:GAMMA, exponential:GAMMA,
    /// cosine[:MIN_LR] or linear:FINAL_LR.
    #[arg(long, global = true)]
    pub lr_schedule: Option<String>,
    /// Clip each gradient's L2 norm to this.
    #[arg(long, global = true, conflicts_with = "clip_value")]
    pub clip_norm: Option<f32>,
    /// Clamp gradient values into [-v, v].
    #[arg(long, global = true)]
    pub clip_value: Option<f32>,
    /// Early stopping: epochs without a better validation metric before stopping.
    #[arg(long, global = true)]
    pub patience: Option<usize>,
    /// Stop training after this many minutes, then still evaluate and write everything.
    #[arg(long, global = true)]
    pub max_minutes: Option<f64>,
    /// Train this many members (seeds seed, seed+1, ...) and average their predictions.
    #[arg(long, global = true)]
    pub ensemble: Option<usize>,
    /// Recurrent cell: rnn, lstm, gru or ln-lstm (layer-normalised LSTM).
    #[arg(long, global = true)]
    pub cell: Option<RecurrentKind>,
    /// Hidden size of the recurrent layers.
    #[arg(long, global = true)]
    pub hidden: Option<usize>,
    /// Number of recurrent (or Transformer) layers.
    #[arg(long, global = true)]
    pub layers: Option<usize>,
    /// Attention heads of a Transformer (`--model transformer`).
    #[arg(long, global = true)]
    pub heads: Option<usize>,
    /// Feed-forward size of a Transformer's layers (`--model transformer`).
    #[arg(long, global = true)]
    pub d_ff: Option<usize>,
}

/// The family of network a task trains (`--model`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// The recurrent network (`--cell`, `--hidden`, `--layers`).
    Recurrent,
    /// A Transformer (`--hidden` is the model size, `--layers`, `--heads`, `--d-ff`).
    Transformer,
}

/// The training tasks.
#[derive(Subcommand, Debug, Clone)]
pub enum Task {
    /// Character-level language model (LSTM, or --cell gru|rnn|ln-lstm; --residual,
    /// --recurrent-dropout; or --model transformer); prints validation loss (nats/char),
    /// perplexity and a sample.
    CharLm(char_lm::CharLmArgs),
    /// The Keras tutorial: 1000 random (10, 1) sequences, random 0/1 labels, SimpleRNN(64,
    /// relu) or LSTM(64)+LSTM(32) or GRU(64)+GRU(32), Dense(1, sigmoid); Adam, binary
    /// cross-entropy; 10 epochs of batch 32. Reports the wall time of the epochs.
    Tutorial(tutorial::TutorialArgs),
    /// Time-series forecaster (--model rnn|lstm|gru|cnn-lstm|lstm-attention) on scaled
    /// windows, scored against the naive and seasonal-naive baselines on the chronological
    /// tail.
    Forecast(forecast::ForecastArgs),
    /// Sequence tagger with word and character features on a CoNLL file (--model
    /// bilstm|bilstm-attention|cnn-bilstm|transformer, --merge concat|sum|mul|ave).
    Tagger(tagger::TaggerArgs),
    /// Encoder-decoder with attention on character pairs (--attention bahdanau|luong-dot|
    /// luong-general|luong-scaled, or --model transformer): generated date normalisation, or --data FILE.tsv of
    /// source<TAB>target lines; exact match and character accuracy, greedy and beam.
    Seq2seq(seq2seq::Seq2SeqArgs),
}

impl Task {
    fn name(&self) -> &'static str {
        match self {
            Task::CharLm(_) => "char-lm",
            Task::Tutorial(_) => "tutorial",
            Task::Forecast(_) => "forecast",
            Task::Tagger(_) => "tagger",
            Task::Seq2seq(_) => "seq2seq",
        }
    }
}

/// What a task runs with: the options, the device, the run directory and saved settings.
pub struct TaskCtx {
    /// The options every task takes.
    pub common: Common,
    /// The backend.
    pub backend: Backend,
    /// Its device (plain; `.autodiff()` for training).
    pub device: Device,
    /// The run directory: created for a new run, opened for `--resume`.
    pub run_dir: RunDir,
    /// Whether the run continues from its checkpoints.
    pub resume: bool,
    /// `--config`'s file or the resumed run's `config.toml`.
    saved: Option<SavedRun>,
}

impl TaskCtx {
    /// The saved settings (of `--config` or the resumed run), else `default`.
    pub fn settings<T: DeserializeOwned>(&self, default: T) -> Result<T> {
        let saved = self.saved.as_ref().map(|s| s.settings::<T>()).transpose()?;
        Ok(saved.flatten().unwrap_or(default))
    }

    /// Applies `--epochs --lr --optimizer --lr-schedule --clip-norm --clip-value --patience
    /// --max-minutes --seed` to `fit`.
    pub fn apply_fit_options(&self, fit: &mut FitConfig) -> Result<()> {
        let c = &self.common;
        if let Some(epochs) = c.epochs {
            fit.epochs = epochs;
        }
        if let Some(lr) = c.lr {
            fit.lr = lr;
        }
        if let Some(optimizer) = c.optimizer {
            fit.optimizer = optimizer;
        }
        if let Some(schedule) = &c.lr_schedule {
            fit.schedule = Schedule::parse(schedule)?;
        }
        if let Some(norm) = c.clip_norm {
            fit.clipping = Some(Clipping::Norm(norm));
        }
        if let Some(value) = c.clip_value {
            fit.clipping = Some(Clipping::Value(value));
        }
        if let Some(patience) = c.patience {
            match &mut fit.early_stopping {
                Some(stop) => stop.patience = patience,
                None => fit.early_stopping = Some(EarlyStoppingConfig::on_loss(patience)),
            }
        }
        if let Some(minutes) = c.max_minutes {
            fit.max_minutes = Some(minutes);
        }
        if let Some(seed) = c.seed {
            fit.seed = seed;
        }
        Ok(())
    }

    /// Applies `--cell --hidden --layers --batch-size` to a task's model settings.
    pub fn apply_model_options(
        &self,
        cell: &mut RecurrentKind,
        hidden: &mut usize,
        layers: &mut usize,
        batch_size: &mut usize,
    ) {
        let c = &self.common;
        *cell = c.cell.unwrap_or(*cell);
        *hidden = c.hidden.unwrap_or(*hidden);
        *layers = c.layers.unwrap_or(*layers);
        *batch_size = c.batch_size.unwrap_or(*batch_size);
    }

    /// Applies `--hidden --layers --heads --d-ff --batch-size` to a Transformer's settings.
    pub fn apply_transformer_options(
        &self,
        d_model: &mut usize,
        n_layers: &mut usize,
        n_heads: &mut usize,
        d_ff: &mut usize,
        batch_size: &mut usize,
    ) {
        let c = &self.common;
        *d_model = c.hidden.unwrap_or(*d_model);
        *n_layers = c.layers.unwrap_or(*n_layers);
        *n_heads = c.heads.unwrap_or(*n_heads);
        *d_ff = c.d_ff.unwrap_or(*d_ff);
        *batch_size = c.batch_size.unwrap_or(*batch_size);
    }

    /// Writes `config.toml`: the task, the backend and every setting, so that
    /// `--config RUN/config.toml` repeats the run.
    pub fn write_config<T: Serialize>(&self, task: &str, settings: &T) -> Result<()> {
        write_config(&self.run_dir, task, self.backend.name(), settings)?;
        Ok(())
    }

    /// The number of ensemble members (`--ensemble`, at least 1).
    pub fn members(&self) -> Result<usize> {
        match self.common.ensemble {
            Some(0) => bail!("--ensemble 0: an ensemble needs at least one member"),
            Some(n) => Ok(n),
            None => Ok(1),
        }
    }
}

/// The new run's directory: `--out`, or `runs/<task>-<timestamp>` (with a `-2`, `-3`, ...
/// suffix when a run started in the same second took that name). Also whether this call
/// created it.
fn new_run_dir(out: Option<&Path>, task: &str) -> Result<(RunDir, bool)> {
    Ok(match out {
        Some(path) => {
            let created = !path.exists();
            (RunDir::create(path)?, created)
        }
        None => {
            let now: chrono::DateTime<chrono::Utc> = std::time::SystemTime::now().into();
            let stamp = now.format("%Y%m%d-%H%M%S");
            let run = RunDir::create_unique("runs", &format!("{task}-{stamp}"))?;
            (run, true)
        }
    })
}

/// Runs `task`; with none (and no `--resume` / `--config`), a short `char-lm` run on the
/// bundled Hamlet.
pub fn run(task: Option<Task>, common: Common) -> Result<()> {
    let saved = match (&common.resume, &common.config) {
        (Some(dir), _) => {
            if !dir.is_dir() {
                bail!("{}: no such run directory (--resume)", dir.display());
            }
            Some(SavedRun::read(&dir.join("config.toml"))?)
        }
        (None, Some(file)) => Some(SavedRun::read(file)?),
        (None, None) => None,
    };
    let name = match (&task, &saved) {
        (Some(task), Some(saved)) if task.name() != saved.task => bail!(
            "the configuration is of a {:?} run, not {:?}",
            saved.task,
            task.name()
        ),
        (Some(task), _) => task.name().to_owned(),
        (None, Some(saved)) => saved.task.clone(),
        (None, None) => "char-lm".to_owned(),
    };
    let backend = match (
        common.backend,
        saved.as_ref().and_then(|s| s.backend.as_deref()),
    ) {
        (Some(backend), _) => backend,
        (None, Some(saved)) if common.resume.is_some() => saved
            .parse()
            .map_err(|e| anyhow::anyhow!("the resumed run's backend {saved:?}: {e}"))?,
        _ => Backend::Flex,
    };
    let device = backend.device()?;
    let resume = common.resume.is_some();
    let (run_dir, created) = match &common.resume {
        Some(dir) => (RunDir::open(dir)?, false),
        None => new_run_dir(common.out.as_deref(), &name)?,
    };
    let default_run = task.is_none() && saved.is_none();
    let ctx = TaskCtx {
        common,
        backend,
        device,
        run_dir,
        resume,
        saved,
    };
    let result = match (task, name.as_str()) {
        (Some(Task::CharLm(args)), _) => char_lm::run(&ctx, &args),
        (None, "char-lm") if default_run => {
            char_lm::run(&ctx, &char_lm::CharLmArgs::short_default())
        }
        (None, "char-lm") => char_lm::run(&ctx, &char_lm::CharLmArgs::default()),
        (Some(Task::Tutorial(args)), _) => tutorial::run(&ctx, &args),
        (None, "tutorial") => tutorial::run(&ctx, &tutorial::TutorialArgs::default()),
        (Some(Task::Forecast(args)), _) => forecast::run(&ctx, &args),
        (None, "forecast") => forecast::run(&ctx, &forecast::ForecastArgs::default()),
        (Some(Task::Tagger(args)), _) => tagger::run(&ctx, &args),
        (None, "tagger") => tagger::run(&ctx, &tagger::TaggerArgs::default()),
        (Some(Task::Seq2seq(args)), _) => seq2seq::run(&ctx, &args),
        (None, "seq2seq") => seq2seq::run(&ctx, &seq2seq::Seq2SeqArgs::default()),
        (None, other) => Err(anyhow::anyhow!(
            "unknown task {other:?} in the configuration"
        )),
    };
    // A run that failed before its first checkpoint (a missing file, a bad option) leaves
    // nothing of value: remove the directory it created rather than litter `runs/`.
    if result.is_err()
        && created
        && ctx.run_dir.latest_complete_checkpoint().is_none()
        && !ctx.run_dir.metrics_json_path().exists()
    {
        let _ = std::fs::remove_dir_all(ctx.run_dir.root());
    }
    result
}
