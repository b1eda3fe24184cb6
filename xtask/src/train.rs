//! `cargo xtask train TASK [OPTIONS]`: trains a model and writes a run directory
//! (`config.toml`, `metrics.csv`, `metrics.json`, weights as safetensors).
//!
//! Tasks so far: `tutorial` (the Keras tutorial program). `char-lm`, `forecast` and
//! `tagger` follow (issue 4).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use recurrent::backend::Backend;
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
    /// The Keras tutorial: 1000 random (10, 1) sequences, random 0/1 labels, SimpleRNN(64,
    /// relu) or LSTM(64)+LSTM(32) or GRU(64)+GRU(32), Dense(1, sigmoid); Adam, binary
    /// cross-entropy; 10 epochs of batch 32. Reports the wall time of the epochs.
    Tutorial {
        /// simplernn, lstm or gru.
        #[arg(long, default_value = "lstm")]
        cell: TutorialCell,
    },
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

/// Runs `task`.
pub fn run(task: Task, common: Common) -> Result<()> {
    match task {
        Task::Tutorial { cell } => tutorial(cell, &common),
    }
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
