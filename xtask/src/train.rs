//! `cargo xtask train TASK [OPTIONS]`: trains a model and writes a run directory
//! (`config.toml`, `metrics.csv`, `metrics.json`, weights as safetensors).
//!
//! Tasks so far: `char-lm` (the default) and `tutorial` (the Keras tutorial program).
//! `forecast` and `tagger` follow (issue 4).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use recurrent::backend::Backend;
use recurrent::train::char_lm::{CharLmConfig, Sampling, generate, train_char_lm};
use recurrent::train::tutorial::{TutorialCell, TutorialConfig, train_tutorial};
use recurrent::train::{RunDir, keras_line};
use serde::Serialize;

/// Options every task takes.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Backend: flex, ndarray or wgpu (compiled in by Cargo feature).
    #[arg(long, default_value = "flex", global = true)]
    pub backend: Backend,
    /// Run directory (default `runs/<task>-<timestamp>`); must not exist or be empty.
    #[arg(long, global = true)]
    pub out: Option<PathBuf>,
    /// Epochs (the task's default when absent).
    #[arg(long, global = true)]
    pub epochs: Option<usize>,
    /// Seed of data, weights and shuffling.
    #[arg(long, global = true)]
    pub seed: Option<u64>,
    /// Learning rate.
    #[arg(long, global = true)]
    pub lr: Option<f64>,
    /// Batch size.
    #[arg(long, global = true)]
    pub batch_size: Option<usize>,
}

/// The training tasks.
#[derive(Subcommand, Debug, Clone)]
pub enum Task {
    /// Character-level LSTM language model; prints validation loss (nats/char), perplexity
    /// and a generated sample.
    CharLm(CharLmArgs),
    /// The Keras tutorial: 1000 random (10, 1) sequences, random 0/1 labels, SimpleRNN(64,
    /// relu) or LSTM(64)+LSTM(32) or GRU(64)+GRU(32), Dense(1, sigmoid); Adam, binary
    /// cross-entropy; 10 epochs of batch 32. Reports the wall time of the epochs.
    Tutorial {
        /// simplernn, lstm or gru.
        #[arg(long, default_value = "lstm")]
        cell: TutorialCell,
    },
}

/// Options of `char-lm`.
#[derive(Args, Debug, Clone)]
pub struct CharLmArgs {
    /// Text file (default: the bundled Hamlet).
    #[arg(long, default_value = "data/text_shakespeare_hamlet.txt")]
    pub data: PathBuf,
    /// LSTM hidden size.
    #[arg(long, default_value_t = 256)]
    pub hidden: usize,
    /// LSTM layers.
    #[arg(long, default_value_t = 1)]
    pub layers: usize,
    /// Characters per training window.
    #[arg(long, default_value_t = 100)]
    pub seq_len: usize,
    /// Gradient clipping by norm.
    #[arg(long, default_value_t = 5.0)]
    pub clip_norm: f32,
    /// Stop training after this many minutes, then evaluate and write everything.
    #[arg(long)]
    pub max_minutes: Option<f64>,
    /// Text the sample starts from.
    #[arg(long, default_value = "HAMLET.\n")]
    pub prime: String,
    /// Characters to generate.
    #[arg(long, default_value_t = 400)]
    pub length: usize,
    /// Sampling temperature.
    #[arg(long, default_value_t = 0.8)]
    pub temperature: f64,
    /// Sample among the k most likely characters only.
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Always take the most likely character.
    #[arg(long)]
    pub greedy: bool,
    /// Beam search with this many hypotheses (instead of sampling).
    #[arg(long)]
    pub beam: Option<usize>,
}

impl Default for CharLmArgs {
    /// The short default run of `cargo xtask train`: Hamlet, at most 4 minutes.
    fn default() -> Self {
        Self {
            data: PathBuf::from("data/text_shakespeare_hamlet.txt"),
            hidden: 256,
            layers: 1,
            seq_len: 100,
            clip_norm: 5.0,
            max_minutes: Some(4.0),
            prime: "HAMLET.\n".into(),
            length: 400,
            temperature: 0.8,
            top_k: None,
            greedy: false,
            beam: None,
        }
    }
}

#[derive(Serialize)]
struct CharLmMetrics {
    task: &'static str,
    backend: String,
    epochs_run: usize,
    train_seconds: f64,
    val_loss: f64,
    val_perplexity: f64,
    test_loss: f64,
    sample: String,
}

#[derive(Serialize)]
struct RunConfig<'a, T: Serialize> {
    task: &'a str,
    backend: &'a str,
    out: String,
    settings: &'a T,
}

#[derive(Serialize)]
struct HistoryEntry {
    epoch: usize,
    loss: f64,
    accuracy: f64,
}

#[derive(Serialize)]
struct TutorialMetrics {
    task: &'static str,
    backend: String,
    epochs_run: usize,
    train_seconds: f64,
    history: Vec<HistoryEntry>,
}

fn out_dir(common: &Common, task: &str) -> PathBuf {
    common.out.clone().unwrap_or_else(|| {
        let now: chrono::DateTime<chrono::Utc> = std::time::SystemTime::now().into();
        let stamp = now.format("%Y%m%d-%H%M%S");
        PathBuf::from("runs").join(format!("{task}-{stamp}"))
    })
}

/// The decoding the generation options ask for: beam search, else greedy, else sampling.
pub fn sampling(
    beam: Option<usize>,
    greedy: bool,
    temperature: f64,
    top_k: Option<usize>,
) -> Sampling {
    match beam {
        Some(width) => Sampling::Beam { width },
        None if greedy => Sampling::Greedy,
        None => Sampling::Random { temperature, top_k },
    }
}

/// Runs `task`; with none, a short `char-lm` run on the bundled Hamlet.
pub fn run(task: Option<Task>, common: Common) -> Result<()> {
    match task {
        None => {
            let mut common = common;
            common.epochs.get_or_insert(20);
            char_lm(&CharLmArgs::default(), &common)
        }
        Some(Task::CharLm(args)) => char_lm(&args, &common),
        Some(Task::Tutorial { cell }) => tutorial(cell, &common),
    }
}

fn char_lm(args: &CharLmArgs, common: &Common) -> Result<()> {
    if !args.data.is_file() {
        anyhow::bail!("{}: no such file (--data)", args.data.display());
    }
    let mut config = CharLmConfig::new(args.data.clone());
    config.hidden = args.hidden;
    config.layers = args.layers;
    config.seq_len = args.seq_len;
    config.clip_norm = args.clip_norm;
    config.max_minutes = args.max_minutes;
    config.epochs = common.epochs.unwrap_or(10);
    if let Some(seed) = common.seed {
        config.seed = seed;
    }
    if let Some(lr) = common.lr {
        config.lr = lr;
    }
    if let Some(batch_size) = common.batch_size {
        config.batch_size = batch_size;
    }
    let sampling = sampling(args.beam, args.greedy, args.temperature, args.top_k);
    let device = common.backend.device()?;
    let run_dir = RunDir::create(out_dir(common, "char-lm"))?;
    let run_config = RunConfig {
        task: "char-lm",
        backend: common.backend.name(),
        out: run_dir.root().display().to_string(),
        settings: &config,
    };
    let toml = toml::to_string(&run_config).context("writing config.toml")?;
    run_dir.write_file("config.toml", toml.as_bytes())?;
    println!(
        "char-lm: {} on {}, LSTM {}x{}, windows of {}, up to {} epochs{}",
        config.data.display(),
        recurrent::backend::describe(common.backend, &device),
        config.layers,
        config.hidden,
        config.seq_len,
        config.epochs,
        config
            .max_minutes
            .map(|m| format!(" or {m} minutes"))
            .unwrap_or_default()
    );
    let epochs = config.epochs;
    let run = train_char_lm(&config, &device.clone().autodiff(), |record| {
        println!("{}", keras_line(record.epoch, epochs, record));
    })?;
    run.history.write_csv(&run_dir.metrics_csv_path())?;
    run.tokenizer.save(&run_dir.root().join("tokenizer.json"))?;
    run.model
        .state_dict()
        .save(run_dir.root().join("model.safetensors"))?;
    let sample = generate(
        &run.model,
        &run.tokenizer,
        &args.prime,
        args.length,
        sampling,
        config.seed,
        &device,
    )?;
    let metrics = CharLmMetrics {
        task: "char-lm",
        backend: common.backend.name().to_owned(),
        epochs_run: run.history.len(),
        train_seconds: run.train_seconds,
        val_loss: run.val_loss,
        val_perplexity: run.val_loss.exp(),
        test_loss: run.test_loss,
        sample: sample.clone(),
    };
    run_dir.write_json("metrics.json", &metrics)?;
    println!(
        "val_loss {:.4} nats/char (perplexity {:.2}), test_loss {:.4}, {:.1} s of training\n\n{}{}\n\nrun directory: {}",
        metrics.val_loss,
        metrics.val_perplexity,
        metrics.test_loss,
        metrics.train_seconds,
        args.prime,
        sample,
        run_dir.root().display()
    );
    Ok(())
}

fn tutorial(cell: TutorialCell, common: &Common) -> Result<()> {
    let mut config = TutorialConfig::new(cell);
    if let Some(epochs) = common.epochs {
        config.epochs = epochs;
    }
    if let Some(seed) = common.seed {
        config.seed = seed;
    }
    if let Some(lr) = common.lr {
        config.lr = lr;
    }
    if let Some(batch_size) = common.batch_size {
        config.batch_size = batch_size;
    }
    let device = common.backend.device()?;
    let run_dir = RunDir::create(out_dir(common, "tutorial"))?;
    let run_config = RunConfig {
        task: "tutorial",
        backend: common.backend.name(),
        out: run_dir.root().display().to_string(),
        settings: &config,
    };
    let toml = toml::to_string(&run_config).context("writing config.toml")?;
    run_dir.write_file("config.toml", toml.as_bytes())?;
    println!(
        "tutorial: {cell:?} on {}, {} sequences of ({}, 1), {} epochs of batch {}",
        recurrent::backend::describe(common.backend, &device),
        config.samples,
        config.steps,
        config.epochs,
        config.batch_size
    );
    let epochs = config.epochs;
    let (model, run) = train_tutorial(&config, &device.autodiff(), |record| {
        println!("{}", keras_line(record.epoch, epochs, record));
    })?;
    run.history.write_csv(&run_dir.metrics_csv_path())?;
    let history = run
        .history
        .records()
        .iter()
        .map(|r| HistoryEntry {
            epoch: r.epoch,
            loss: r.train.get("loss").copied().unwrap_or(f64::NAN),
            accuracy: r.train.get("accuracy").copied().unwrap_or(f64::NAN),
        })
        .collect();
    let metrics = TutorialMetrics {
        task: "tutorial",
        backend: common.backend.name().to_owned(),
        epochs_run: run.history.len(),
        train_seconds: run.train_seconds,
        history,
    };
    run_dir.write_json("metrics.json", &metrics)?;
    model
        .state_dict()
        .save(run_dir.root().join("model.safetensors"))?;
    println!(
        "{} epochs in {:.2} s; run directory: {}",
        metrics.epochs_run,
        run.train_seconds,
        run_dir.root().display()
    );
    Ok(())
}
