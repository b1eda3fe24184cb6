//! `cargo xtask train char-lm`: a character-level language model (the zoo's `CharLm`: LSTM
//! by default, `--cell rnn|gru|ln-lstm`, `--residual`, `--recurrent-dropout`; or its
//! `TransformerLm` with `--model transformer`, `--hidden` its size, `--layers`, `--heads`,
//! `--d-ff`, `--positions sinusoidal|learned`); prints
//! validation loss (nats/char), perplexity, a generated sample and the run directory.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use recurrent::train::char_lm::{
    CharLmData, CharLmTaskConfig, MODEL_FILE, Sampling, TOKENIZER_FILE, evaluate_ensemble,
    generate, train_char_lm,
};
use recurrent::train::ensemble::train_members;
use recurrent::train::weights::save_weights;
use recurrent::train::{Progress, plot};
use recurrent::zoo::models::LanguageModel;
use recurrent::zoo::transformer::{PositionKind, TransformerLmConfig};
use serde::Serialize;

use super::{Family, TaskCtx};

/// The bundled text of the short default run.
const HAMLET: &str = "data/text_shakespeare_hamlet.txt";

/// Options of `char-lm` (unset: the default, or the setting of `--config` / `--resume`).
#[derive(Args, Debug, Clone)]
pub struct CharLmArgs {
    /// Text file [default: the bundled Hamlet].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The network: recurrent (--cell, default LSTM) or transformer (decoder-only:
    /// --hidden 128, --layers 3, --heads 4, --d-ff 512, Adam 1e-3 cosine to 1e-4)
    /// [default: recurrent, or the saved run's].
    #[arg(long)]
    pub model: Option<Family>,
    /// Positions of the Transformer: sinusoidal or learned [default: sinusoidal].
    #[arg(long)]
    pub positions: Option<PositionKind>,
    /// Characters per training window [default: 100].
    #[arg(long)]
    pub seq_len: Option<usize>,
    /// Embedding size [default: 32].
    #[arg(long)]
    pub embed: Option<usize>,
    /// Dropout between the recurrent layers and before the read-out while training
    /// [default: 0].
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Residual connections around every recurrent layer (x + f(x)); `--residual false`
    /// turns them off in a repeated run.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub residual: Option<bool>,
    /// Variational recurrent dropout on h(t-1) in every step (Keras' recurrent_dropout)
    /// [default: 0].
    #[arg(long)]
    pub recurrent_dropout: Option<f64>,
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
            model: None,
            positions: None,
            seq_len: None,
            embed: None,
            dropout: None,
            residual: None,
            recurrent_dropout: None,
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
    /// Each member of an `--ensemble` run (the scores above are the ensemble's).
    #[serde(skip_serializing_if = "Option::is_none")]
    members: Option<Vec<MemberScores>>,
}

#[derive(Serialize)]
struct MemberScores {
    member: usize,
    seed: u64,
    epochs_run: usize,
    train_seconds: f64,
    val_loss: f64,
    test_loss: f64,
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

/// The settings of a run without `--config`: the library's defaults with 15 epochs, and for
/// the short default run 20 epochs or 4 minutes.
fn default_config(ctx: &TaskCtx) -> CharLmTaskConfig {
    let mut config = CharLmTaskConfig::new(PathBuf::from(HAMLET));
    config.fit.epochs = 15;
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
    match args.model {
        Some(Family::Transformer) if config.transformer.is_none() => {
            // The Transformer's own defaults: a smaller learning rate than the LSTM's.
            config.transformer = Some(
                TransformerLmConfig::new(0)
                    .with_n_layers(3)
                    .with_max_len(config.seq_len),
            );
            config.fit.lr = 1e-3;
            config.fit.schedule = recurrent::train::fit::Schedule::Cosine { min_lr: 1e-4 };
        }
        Some(Family::Recurrent) => config.transformer = None,
        _ => {}
    }
    if let Some(t) = &mut config.transformer {
        // The context is the training window (a longer one is never trained).
        t.max_len = config.seq_len;
        if let Some(kind) = args.positions {
            t.positions = kind;
        }
        if let Some(dropout) = args.dropout {
            t.dropout = dropout;
        }
        ctx.apply_transformer_options(
            &mut t.d_model,
            &mut t.n_layers,
            &mut t.n_heads,
            &mut t.d_ff,
            &mut config.batch_size,
        );
    } else if args.positions.is_some() {
        anyhow::bail!("--positions is a Transformer option (--model transformer)");
    }
    let model = &mut config.model;
    if let Some(embed) = args.embed {
        model.d_embed = embed;
    }
    if let Some(dropout) = args.dropout {
        model.dropout = dropout;
    }
    if let Some(residual) = args.residual {
        model.residual = residual;
    }
    if let Some(p) = args.recurrent_dropout {
        model.recurrent_dropout = p;
    }
    if config.transformer.is_none() {
        ctx.apply_model_options(
            &mut model.kind,
            &mut model.d_hidden,
            &mut model.n_layers,
            &mut config.batch_size,
        );
    }
    let members = ctx.members()?;
    ctx.apply_fit_options(&mut config.fit)?;
    if !config.data.is_file() {
        anyhow::bail!("{}: no such file (--data)", config.data.display());
    }
    let sampling = sampling(args.beam, args.greedy, args.temperature, args.top_k);
    ctx.write_config("char-lm", &config)?;
    let m = &config.model;
    let recurrent_only = config.transformer.is_none();
    println!(
        "char-lm: {} on {}, {}{}{}, windows of {}, up to {} epochs{}",
        config.data.display(),
        recurrent::backend::describe(ctx.backend, &ctx.device),
        config.describe_model(),
        if m.residual && recurrent_only {
            " residual"
        } else {
            ""
        },
        if m.recurrent_dropout > 0.0 && recurrent_only {
            format!(", recurrent dropout {}", m.recurrent_dropout)
        } else {
            String::new()
        },
        config.seq_len,
        config.fit.epochs,
        config
            .fit
            .max_minutes
            .map(|m| format!(" or {m} minutes"))
            .unwrap_or_default()
    );
    let root = ctx.run_dir.root();
    let autodiff = ctx.device.clone().autodiff();
    // A single model trains in the run directory itself; ensemble members in theirs.
    let trained = train_members(&ctx.run_dir, members, config.fit.seed, ctx.resume, |spec| {
        let mut member = config.clone();
        member.fit.seed = spec.seed;
        let mut progress = Progress::new().with_prefix(spec.progress_prefix());
        let run = train_char_lm(&member, &autodiff, Some(&spec.dir), spec.resume, |event| {
            progress.observe(event)
        })?;
        if spec.in_ensemble() {
            run.history.write_csv(&spec.dir.metrics_csv_path())?;
            save_weights(&run.model, &spec.dir.root().join(MODEL_FILE))?;
            println!(
                "member {}/{} (seed {}): val_loss {:.4}, test_loss {:.4}",
                spec.k, spec.n, spec.seed, run.val_loss, run.test_loss
            );
        }
        Ok(run)
    })?;
    let seeds: Vec<u64> = trained.iter().map(|m| m.spec.seed).collect();
    let runs: Vec<_> = trained.into_iter().map(|m| m.result).collect();
    // The member with the best validation loss generates the sample and is the run's
    // `model.safetensors`; the ensemble's scores average the members' probabilities.
    let best = runs
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.val_loss.total_cmp(&b.1.val_loss))
        .map_or(0, |(i, _)| i);
    let run = &runs[best];
    let (val_loss, test_loss) = if members == 1 {
        (run.val_loss, run.test_loss)
    } else {
        let data = CharLmData::load(&config)?;
        let models: Vec<&LanguageModel> = runs.iter().map(|r| &r.model).collect();
        (
            evaluate_ensemble(&models, &data.valid, config.batch_size, &ctx.device),
            evaluate_ensemble(&models, &data.test, config.batch_size, &ctx.device),
        )
    };
    // metrics.csv and loss.png: the (best) member's epochs.
    run.history.write_csv(&ctx.run_dir.metrics_csv_path())?;
    if !run.history.is_empty() {
        plot::loss_curves(&root.join("loss.png"), &run.history)?;
    }
    run.tokenizer.save(&root.join(TOKENIZER_FILE))?;
    save_weights(&run.model, &root.join(MODEL_FILE))?;
    let sample = generate(
        &run.model,
        &run.tokenizer,
        &args.prime,
        args.length,
        sampling,
        config.fit.seed,
        &ctx.device,
    )?;
    let member_scores = (members > 1).then(|| {
        runs.iter()
            .zip(&seeds)
            .enumerate()
            .map(|(i, (r, &seed))| MemberScores {
                member: i + 1,
                seed,
                epochs_run: r.history.len(),
                train_seconds: r.train_seconds,
                val_loss: r.val_loss,
                test_loss: r.test_loss,
            })
            .collect()
    });
    let metrics = CharLmMetrics {
        task: "char-lm",
        backend: ctx.backend.name().to_owned(),
        epochs_run: runs.iter().map(|r| r.history.len()).sum(),
        train_seconds: runs.iter().map(|r| r.train_seconds).sum(),
        val_loss,
        val_perplexity: val_loss.exp(),
        test_loss,
        sample: sample.clone(),
        members: member_scores,
    };
    ctx.run_dir.write_json("metrics.json", &metrics)?;
    println!(
        "{}val_loss {:.4} nats/char (perplexity {:.2}), test_loss {:.4}, {:.1} s of training\n\n{}{}\n\nrun directory: {}",
        if members > 1 {
            format!("ensemble of {members} (sample from member {}): ", best + 1)
        } else {
            String::new()
        },
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
