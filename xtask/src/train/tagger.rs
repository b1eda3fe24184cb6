//! `cargo xtask train tagger`: a sequence tagger (the zoo's `Tagger`: word embeddings and
//! character-CNN features, a bidirectional encoder, `--model bilstm|bilstm-attention|
//! cnn-bilstm|transformer`, `--merge concat|sum|mul|ave`) on any CoNLL file, scored by token accuracy,
//! macro F1 and, for BIO tags, entity-level F1; and `predict` for a tagger run (tags a CoNLL
//! or plain-text file).
//!
//! Without `--data` (and without `--config` / `--resume`) it trains on the bundled Turkish
//! Web Treebank part-of-speech files (`data/pos_turkish_twt_{train,valid,test}.conll`).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use recurrent::backend::Backend;
use recurrent::train::ensemble::train_members;
use recurrent::train::fit::{Fitted, StopReason};
use recurrent::train::plot::{self, Series};
use recurrent::train::tagger::{
    MODEL_FILE, TagScores, TaggerData, TaggerPart, TaggerTaskConfig, evaluate_part, gold_tags,
    load_run, predict_tags, read_tagging_input, train_tagger, write_tagged,
};
use recurrent::train::weights::save_weights;
use recurrent::train::{History, Progress};
use recurrent::zoo::MergeMode;
use recurrent::zoo::models::{Tagger, TaggerArchitecture};
use serde::Serialize;

use super::TaskCtx;

/// The bundled training file (Turkish Web Treebank, universal POS tags).
pub const BUNDLED_TRAIN: &str = "data/pos_turkish_twt_train.conll";
/// The bundled validation file.
pub const BUNDLED_VALID: &str = "data/pos_turkish_twt_valid.conll";
/// The bundled test file.
pub const BUNDLED_TEST: &str = "data/pos_turkish_twt_test.conll";

/// Options of `tagger` (and the common `--cell lstm|gru|rnn|ln-lstm`, `--hidden`,
/// `--layers`, `--epochs`, `--lr`, `--batch-size`, `--seed`, `--ensemble`, `--patience`, …).
#[derive(Args, Debug, Clone, Default)]
pub struct TaggerArgs {
    /// Network: bilstm (a bidirectional encoder), bilstm-attention (then multi-head
    /// self-attention), cnn-bilstm (a convolution over neighbouring tokens first) or
    /// transformer (pre-norm encoder layers of 2 x --hidden, --heads 4, --layers 2 by
    /// default); the cell is --cell's [default: bilstm].
    #[arg(long)]
    pub model: Option<TaggerArchitecture>,
    /// How each bidirectional layer merges its directions: concat, sum, mul or ave
    /// [default: concat].
    #[arg(long)]
    pub merge: Option<MergeMode>,
    /// Training CoNLL file: one token per line, its tag in a column (the last by default),
    /// blank lines between sentences [default: the bundled Turkish Web Treebank].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Validation file (default: 10 % of --data's sentences).
    #[arg(long)]
    pub valid: Option<PathBuf>,
    /// Test file (default: 10 % of --data's sentences).
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// 0-based column of the tag (default: the last column).
    #[arg(long)]
    pub tag_column: Option<usize>,
    /// Character-CNN features per token (0 turns character features off).
    #[arg(long)]
    pub char_features: Option<usize>,
    /// Character embedding size.
    #[arg(long)]
    pub char_embed: Option<usize>,
    /// Word embedding size.
    #[arg(long)]
    pub word_embed: Option<usize>,
    /// Words seen fewer times in training become <unk>.
    #[arg(long)]
    pub min_word_freq: Option<usize>,
    /// Look words up lower-cased (characters keep their case): --lowercase or
    /// --lowercase false.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub lowercase: Option<bool>,
    /// Dropout rate.
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Split --data in file order instead of after a seeded shuffle.
    #[arg(long)]
    pub split_in_order: bool,
}

/// The default settings: `--data` (or the bundled corpus when absent).
fn default_config(args: &TaggerArgs) -> TaggerTaskConfig {
    match &args.data {
        Some(data) => TaggerTaskConfig::new(data.clone()),
        None => {
            let mut config = TaggerTaskConfig::new(BUNDLED_TRAIN);
            config.valid = Some(BUNDLED_VALID.into());
            config.test = Some(BUNDLED_TEST.into());
            config
        }
    }
}

/// The settings of this run: saved ones (`--config` / `--resume`) or the defaults, with the
/// options typed on the command line applied.
fn settings(ctx: &TaskCtx, args: &TaggerArgs) -> Result<TaggerTaskConfig> {
    let mut config = ctx.settings(default_config(args))?;
    if let Some(data) = &args.data {
        config.train = data.clone();
    }
    if args.valid.is_some() {
        config.valid = args.valid.clone();
    }
    if args.test.is_some() {
        config.test = args.test.clone();
    }
    if args.tag_column.is_some() {
        config.tag_column = args.tag_column;
    }
    let model = &mut config.model;
    if let Some(architecture) = args.model {
        if architecture == TaggerArchitecture::Transformer
            && model.architecture != TaggerArchitecture::Transformer
            && ctx.common.layers.is_none()
        {
            // One Transformer layer sees each token's neighbours once; two is the default.
            model.n_layers = 2;
        }
        model.architecture = architecture;
    }
    if let Some(heads) = ctx.common.heads {
        model.n_heads = heads;
    }
    if let Some(merge) = args.merge {
        if merge == MergeMode::None {
            bail!(
                "--merge none returns two sequences; the tagger needs one (concat, sum, mul or ave)"
            );
        }
        model.merge = merge;
    }
    if let Some(n) = args.char_features {
        model.char_features = n;
    }
    if let Some(n) = args.char_embed {
        model.d_char = n;
    }
    if let Some(n) = args.word_embed {
        model.d_word = n;
    }
    if let Some(dropout) = args.dropout {
        model.dropout = dropout;
    }
    if let Some(n) = args.min_word_freq {
        config.min_word_freq = n;
    }
    if let Some(lowercase) = args.lowercase {
        config.lowercase = lowercase;
    }
    if args.split_in_order {
        config.shuffle_split = false;
    }
    let common = &ctx.common;
    ctx.apply_model_options(
        &mut config.model.kind,
        &mut config.model.d_hidden,
        &mut config.model.n_layers,
        &mut config.batch_size,
    );
    if common.ensemble.is_some() {
        config.ensemble = ctx.members()?;
    }
    ctx.apply_fit_options(&mut config.fit)?;
    if config.ensemble == 0 {
        bail!("ensemble = 0: an ensemble needs at least one member");
    }
    for (option, path) in [
        ("--data", Some(&config.train)),
        ("--valid", config.valid.as_ref()),
        ("--test", config.test.as_ref()),
    ] {
        if let Some(path) = path
            && !path.is_file()
        {
            bail!("{}: no such file ({option})", path.display());
        }
    }
    Ok(config)
}

/// What one trained model scored.
#[derive(Serialize)]
struct MemberReport {
    member: usize,
    seed: u64,
    epochs_run: usize,
    train_seconds: f64,
    best_epoch: Option<usize>,
    stop: StopReason,
    valid: TagScores,
    test: TagScores,
}

#[derive(Serialize)]
struct PartSummary {
    source: String,
    sentences: usize,
    tokens: usize,
    unseen_tags: usize,
}

impl PartSummary {
    fn of(part: &TaggerPart) -> Self {
        Self {
            source: part.source.clone(),
            sentences: part.sentences.len(),
            tokens: part.tokens(),
            unseen_tags: part.unseen_tags,
        }
    }
}

#[derive(Serialize)]
struct DataSummary {
    train: PartSummary,
    valid: PartSummary,
    test: PartSummary,
    words: usize,
    chars: usize,
    tags: Vec<String>,
    bio: bool,
}

#[derive(Serialize)]
struct TaggerMetrics {
    task: &'static str,
    backend: String,
    /// Epochs run (summed over the members of an ensemble).
    epochs_run: usize,
    /// Seconds of training (summed over the members of an ensemble).
    train_seconds: f64,
    /// The best validation epoch of a single model (its weights are the ones saved).
    #[serde(skip_serializing_if = "Option::is_none")]
    best_epoch: Option<usize>,
    /// Why training of a single model ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    stop: Option<StopReason>,
    /// The scores of the model (of the ensemble's averaged probabilities).
    test: TagScores,
    valid: TagScores,
    ensemble: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    members: Vec<MemberReport>,
    data: DataSummary,
}

/// Runs `tagger`.
pub fn run(ctx: &TaskCtx, args: &TaggerArgs) -> Result<()> {
    let mut config = settings(ctx, args)?;
    let data = TaggerData::load(&config)?;
    // The network's vocabulary sizes come from the data; config.toml records them.
    config.model = config.model_config(&data.vocabs);
    ctx.write_config("tagger", &config)?;
    let root = ctx.run_dir.root().to_path_buf();
    data.vocabs.save(&root)?;
    println!(
        "tagger: {} on {}; {} tags{}, {} words, {} characters",
        config.train.display(),
        recurrent::backend::describe(ctx.backend, &ctx.device),
        data.vocabs.n_tags(),
        if data.vocabs.tags.is_bio() {
            " (BIO)"
        } else {
            ""
        },
        data.vocabs.words.len(),
        data.vocabs.chars.len(),
    );
    for (name, part) in [
        ("train", &data.train),
        ("valid", &data.valid),
        ("test", &data.test),
    ] {
        println!(
            "  {name}: {} sentences, {} tokens from {}",
            part.sentences.len(),
            part.tokens(),
            part.source
        );
    }
    let m = &config.model;
    let network = if m.architecture == TaggerArchitecture::Transformer {
        format!(
            "transformer {}x{} ({} heads)",
            m.n_layers,
            2 * m.d_hidden,
            m.n_heads
        )
    } else {
        format!(
            "{} ({}, merge {}) {}x{}",
            m.architecture, m.kind, m.merge, m.n_layers, m.d_hidden
        )
    };
    println!(
        "  {network} over {} word + {} character features, up to {} epochs of batch {}{}",
        m.d_word,
        m.char_features,
        config.fit.epochs,
        config.batch_size,
        if config.ensemble > 1 {
            format!(", ensemble of {}", config.ensemble)
        } else {
            String::new()
        }
    );

    let eval_batch = config.batch_size.max(64);
    let members = config.ensemble;
    let autodiff = ctx.device.clone().autodiff();
    let trained = train_members(&ctx.run_dir, members, config.fit.seed, ctx.resume, |spec| {
        let mut progress = Progress::new().with_prefix(spec.progress_prefix());
        let fitted: Fitted<Tagger> = train_tagger(
            &config,
            &data,
            spec.seed,
            &autodiff,
            Some(&spec.dir),
            spec.resume,
            |event| progress.observe(event),
        )?;
        save_weights(&fitted.model, &spec.dir.root().join(MODEL_FILE))?;
        fitted.history.write_csv(&spec.dir.metrics_csv_path())?;
        if !fitted.history.is_empty() {
            plot::loss_curves(&spec.dir.root().join("loss.png"), &fitted.history)?;
        }
        let one = std::slice::from_ref(&fitted.model);
        let valid = evaluate_part(one, &data.valid, &data.vocabs, eval_batch, &ctx.device)?;
        let test = evaluate_part(one, &data.test, &data.vocabs, eval_batch, &ctx.device)?;
        if spec.in_ensemble() {
            println!(
                "member {}/{}: test token accuracy {:.4}, macro F1 {:.4}{}",
                spec.k,
                spec.n,
                test.token_accuracy,
                test.macro_f1,
                entity_text(&test)
            );
        }
        let report = MemberReport {
            member: spec.k,
            seed: spec.seed,
            epochs_run: fitted.history.len(),
            train_seconds: fitted.train_seconds,
            best_epoch: fitted.best_epoch,
            stop: fitted.stop,
            valid,
            test,
        };
        Ok((report, fitted.history, fitted.model))
    })?;
    let mut models: Vec<Tagger> = Vec::with_capacity(members);
    let mut reports: Vec<MemberReport> = Vec::with_capacity(members);
    let mut histories: Vec<History> = Vec::with_capacity(members);
    for member in trained {
        let (report, history, model) = member.result;
        reports.push(report);
        histories.push(history);
        models.push(model);
    }

    let (valid, test) = if members == 1 {
        (reports[0].valid, reports[0].test)
    } else {
        (
            evaluate_part(&models, &data.valid, &data.vocabs, eval_batch, &ctx.device)?,
            evaluate_part(&models, &data.test, &data.vocabs, eval_batch, &ctx.device)?,
        )
    };
    if members > 1 {
        histories[0].write_csv(&ctx.run_dir.metrics_csv_path())?;
        ensemble_loss_plot(&root.join("loss.png"), &histories)?;
    }
    let metrics = TaggerMetrics {
        task: "tagger",
        backend: ctx.backend.name().to_owned(),
        epochs_run: reports.iter().map(|r| r.epochs_run).sum(),
        train_seconds: reports.iter().map(|r| r.train_seconds).sum(),
        best_epoch: (members == 1).then(|| reports[0].best_epoch).flatten(),
        stop: (members == 1).then(|| reports[0].stop),
        test,
        valid,
        ensemble: members,
        members: if members > 1 { reports } else { Vec::new() },
        data: DataSummary {
            train: PartSummary::of(&data.train),
            valid: PartSummary::of(&data.valid),
            test: PartSummary::of(&data.test),
            words: data.vocabs.words.len(),
            chars: data.vocabs.chars.len(),
            tags: data.vocabs.tags.tags().to_vec(),
            bio: data.vocabs.tags.is_bio(),
        },
    };
    ctx.run_dir.write_json("metrics.json", &metrics)?;
    println!(
        "{}test: token accuracy {:.4}, macro F1 {:.4}{} ({} tokens); valid: token accuracy {:.4}, \
         macro F1 {:.4}; {:.1} s of training\nrun directory: {}",
        if members > 1 { "ensemble " } else { "" },
        test.token_accuracy,
        test.macro_f1,
        entity_text(&test),
        test.tokens,
        valid.token_accuracy,
        valid.macro_f1,
        metrics.train_seconds,
        root.display()
    );
    Ok(())
}

/// `, entity F1 0.8123` for BIO tags, else nothing.
fn entity_text(scores: &TagScores) -> String {
    scores
        .entity_f1
        .map(|f1| format!(", entity F1 {f1:.4}"))
        .unwrap_or_default()
}

/// The training and validation loss of every member in one plot.
fn ensemble_loss_plot(path: &Path, histories: &[History]) -> Result<()> {
    let mut series = Vec::new();
    for (k, history) in histories.iter().enumerate() {
        let epochs: Vec<f64> = history.records().iter().map(|r| r.epoch as f64).collect();
        for (name, valid) in [("loss", false), ("val_loss", true)] {
            let values = history
                .records()
                .iter()
                .map(|r| {
                    let map = if valid { &r.valid } else { &r.train };
                    map.get("loss").copied().unwrap_or(f64::NAN)
                })
                .collect();
            series.push(Series::new(
                format!("member {} {name}", k + 1),
                epochs.clone(),
                values,
            ));
        }
    }
    if series.iter().any(|s| s.y.iter().any(|v| v.is_finite())) {
        plot::lines(
            path,
            "Tagger ensemble loss",
            "epoch",
            "loss (nats/token)",
            &series,
        )?;
    }
    Ok(())
}

/// `predict` for a tagger run: tags `data` (CoNLL: the tag column replaced, or added to
/// one-column lines; plain text: one whitespace-tokenised sentence per line) and prints
/// `token<TAB>tag` lines with a blank line after each sentence. When a CoNLL file carries
/// tags, the agreement of the predictions with them goes to standard error.
pub fn predict(run_dir: &Path, data: &Path, backend: Backend) -> Result<()> {
    if !data.is_file() {
        bail!("{}: no such file (--data)", data.display());
    }
    let device = backend.device()?;
    let run = load_run(run_dir, &device)
        .with_context(|| format!("{}: is it a finished tagger run?", run_dir.display()))?;
    let (config, vocabs, models) = (run.config, run.vocabs, run.models);
    let input = read_tagging_input(data, None)?;
    let sentences: Vec<Vec<String>> = input.sentences.iter().map(|s| s.tokens.clone()).collect();
    let tags = predict_tags(
        &models,
        &vocabs,
        &sentences,
        config.batch_size.max(64),
        &device,
    )?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    write_tagged(&mut out, &input, &tags, config.tag_column)?;
    out.flush().context("writing the tagged output")?;
    let tokens: usize = sentences.iter().map(Vec::len).sum();
    eprintln!(
        "tagged {} sentences, {tokens} tokens of {} ({:?}) with {} model(s)",
        sentences.len(),
        data.display(),
        input.format,
        models.len()
    );
    if let Some(gold) = gold_tags(&input, config.tag_column) {
        let agree = gold
            .iter()
            .flatten()
            .zip(tags.iter().flatten())
            .filter(|(g, p)| g == p)
            .count();
        eprintln!(
            "agreement with the file's own tag column: {:.4} ({agree} of {tokens} tokens)",
            agree as f64 / tokens.max(1) as f64
        );
    }
    Ok(())
}
