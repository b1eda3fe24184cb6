//! `cargo xtask train char-lm`: a character-level LSTM language model; prints validation
//! loss (nats/char), perplexity, a generated sample and the run directory.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use recurrent::train::char_lm::{CharLmConfig, Sampling, generate, train_char_lm};
use recurrent::train::{Progress, plot};
use serde::Serialize;

use super::TaskCtx;

/// The bundled text of the short default run.
const HAMLET: &str = "data/text_shakespeare_hamlet.txt";

/// Options of `char-lm` (unset: the default, or the setting of `--config` / `--resume`).
#[derive(Args, Debug, Clone)]
pub struct CharLmArgs {
    /// Text file [default: the bundled Hamlet].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Characters per training window [default: 100].
    #[arg(long)]
    pub seq_len: Option<usize>,
    /// Embedding size [default: 32].
    #[arg(long)]
    pub embed: Option<usize>,
    /// Dropout on the LSTM outputs while training [default: 0].
    #[arg(long)]
    pub dropout: Option<f64>,
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
    /// The command line's defaults (for a run started from `--config` or `--resume`).
    fn default() -> Self {
        Self {
            data: None,
            seq_len: None,
            embed: None,
            dropout: None,
            prime: "HAMLET.\n".into(),
            length: 400,
            temperature: 0.8,
            top_k: None,
            greedy: false,
            beam: None,
        }
    }
}

impl CharLmArgs {
    /// The short run of `cargo xtask train` without a task: Hamlet, 20 epochs or 4 minutes.
    pub fn short_default() -> Self {
        Self::default()
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

/// The settings of a run without `--config`: the library's defaults, and for the short
/// default run 20 epochs or 4 minutes.
fn default_config(ctx: &TaskCtx) -> CharLmConfig {
    let mut config = CharLmConfig::new(PathBuf::from(HAMLET));
    config.fit.epochs = 10;
    if ctx.common.epochs.is_none() && ctx.common.max_minutes.is_none() {
        config.fit.epochs = 20;
        config.fit.max_minutes = Some(4.0);
    }
    config
}

/// Runs `char-lm`.
pub fn run(ctx: &TaskCtx, args: &CharLmArgs) -> Result<()> {
    let mut config = ctx.settings(default_config(ctx))?;
    if let Some(data) = &args.data {
        config.data = data.clone();
    }
    if let Some(seq_len) = args.seq_len {
        config.seq_len = seq_len;
    }
    if let Some(embed) = args.embed {
        config.embed = embed;
    }
    if let Some(dropout) = args.dropout {
        config.dropout = dropout;
    }
    let c = &ctx.common;
    if let Some(cell) = c.cell {
        config.cell = cell;
    }
    if let Some(hidden) = c.hidden {
        config.hidden = hidden;
    }
    if let Some(layers) = c.layers {
        config.layers = layers;
    }
    if let Some(batch_size) = c.batch_size {
        config.batch_size = batch_size;
    }
    if c.ensemble.is_some_and(|n| n > 1) {
        anyhow::bail!("--ensemble: char-lm trains one model (ensembles: forecast, tagger)");
    }
    ctx.apply_fit_options(&mut config.fit)?;
    if !config.data.is_file() {
        anyhow::bail!("{}: no such file (--data)", config.data.display());
    }
    let sampling = sampling(args.beam, args.greedy, args.temperature, args.top_k);
    ctx.write_config("char-lm", &config)?;
    println!(
        "char-lm: {} on {}, {} {}x{}, windows of {}, up to {} epochs{}",
        config.data.display(),
        recurrent::backend::describe(ctx.backend, &ctx.device),
        config.cell.to_string().to_uppercase(),
        config.layers,
        config.hidden,
        config.seq_len,
        config.fit.epochs,
        config
            .fit
            .max_minutes
            .map(|m| format!(" or {m} minutes"))
            .unwrap_or_default()
    );
    let mut progress = Progress::new();
    let run = train_char_lm(
        &config,
        &ctx.device.clone().autodiff(),
        Some(&ctx.run_dir),
        ctx.resume,
        |event| progress.observe(event),
    )?;
    let root = ctx.run_dir.root();
    run.history.write_csv(&ctx.run_dir.metrics_csv_path())?;
    if !run.history.is_empty() {
        plot::loss_curves(&root.join("loss.png"), &run.history)?;
    }
    run.tokenizer.save(&root.join("tokenizer.json"))?;
    run.model
        .state_dict()
        .save(root.join("model.safetensors"))?;
    let sample = generate(
        &run.model,
        &run.tokenizer,
        &args.prime,
        args.length,
        sampling,
        config.fit.seed,
        &ctx.device,
    )?;
    let metrics = CharLmMetrics {
        task: "char-lm",
        backend: ctx.backend.name().to_owned(),
        epochs_run: run.history.len(),
        train_seconds: run.train_seconds,
        val_loss: run.val_loss,
        val_perplexity: run.val_loss.exp(),
        test_loss: run.test_loss,
        sample: sample.clone(),
    };
    ctx.run_dir.write_json("metrics.json", &metrics)?;
    println!(
        "val_loss {:.4} nats/char (perplexity {:.2}), test_loss {:.4}, {:.1} s of training\n\n{}{}\n\nrun directory: {}",
        metrics.val_loss,
        metrics.val_perplexity,
        metrics.test_loss,
        metrics.train_seconds,
        args.prime,
        sample,
        root.display()
    );
    Ok(())
}
