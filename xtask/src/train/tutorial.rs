//! `cargo xtask train tutorial`: the Keras tutorial program on our layers, with Keras-like
//! epoch lines and the wall time of the epochs.

use anyhow::Result;
use clap::Args;
use recurrent::train::tutorial::{TutorialConfig, train_tutorial};
use recurrent::train::weights::save_weights;
use recurrent::train::{Progress, plot};
use recurrent::zoo::RecurrentKind;
use serde::Serialize;

use super::TaskCtx;

/// Options of `tutorial`: the common ones (`--cell simplernn|lstm|gru|ln-lstm`, default lstm;
/// `--epochs`, `--batch-size`, `--lr`, `--seed`, `--backend`).
#[derive(Args, Debug, Clone, Default)]
pub struct TutorialArgs {}

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

/// Runs `tutorial`.
pub fn run(ctx: &TaskCtx, _args: &TutorialArgs) -> Result<()> {
    let mut config = ctx.settings(TutorialConfig::new(RecurrentKind::Lstm))?;
    if let Some(cell) = ctx.common.cell {
        config.cell = cell;
    }
    if let Some(batch_size) = ctx.common.batch_size {
        config.batch_size = batch_size;
    }
    ctx.apply_fit_options(&mut config.fit)?;
    let c = &ctx.common;
    if c.hidden.is_some() || c.layers.is_some() || c.ensemble.is_some_and(|n| n != 1) {
        anyhow::bail!(
            "--hidden, --layers and --ensemble do not apply to the tutorial: its models are the \
             Keras tutorial's (SimpleRNN(64) / LSTM(64)+LSTM(32) / GRU(64)+GRU(32)), trained once"
        );
    }
    if ctx.resume {
        anyhow::bail!(
            "--resume: the tutorial run is seconds long and keeps no checkpoints; start it again"
        );
    }
    ctx.write_config("tutorial", &config)?;
    println!(
        "tutorial: {} {:?} on {}, {} sequences of ({}, 1), {} epochs of batch {}",
        config.cell,
        config.model_config().widths,
        recurrent::backend::describe(ctx.backend, &ctx.device),
        config.samples,
        config.steps,
        config.fit.epochs,
        config.batch_size
    );
    let mut progress = Progress::new();
    let (model, run) = train_tutorial(&config, &ctx.device.clone().autodiff(), |event| {
        progress.observe(event)
    })?;
    let root = ctx.run_dir.root();
    run.history.write_csv(&ctx.run_dir.metrics_csv_path())?;
    if !run.history.is_empty() {
        plot::loss_curves(&root.join("loss.png"), &run.history)?;
    }
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
        backend: ctx.backend.name().to_owned(),
        epochs_run: run.history.len(),
        train_seconds: run.train_seconds,
        history,
    };
    ctx.run_dir.write_json("metrics.json", &metrics)?;
    save_weights(&model, &root.join("model.safetensors"))?;
    println!(
        "{} epochs in {:.2} s; run directory: {}",
        metrics.epochs_run,
        run.train_seconds,
        root.display()
    );
    Ok(())
}
