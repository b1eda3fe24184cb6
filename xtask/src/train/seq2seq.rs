//! `cargo xtask train seq2seq`: an encoder-decoder with attention (the zoo's `Seq2Seq`, or
//! its `TransformerSeq2Seq` with `--model transformer`) on
//! character pairs, scored by exact match and character accuracy, greedy and beam; and
//! `predict` for a seq2seq run (translates the lines of a file, or of standard input).
//!
//! Without `--data` it trains on date normalisation generated from the seed: human dates in
//! 16 formats ("April 22, 2019", "4/22/19", "Monday, the 22nd of April 2019", ...) to ISO
//! `2019-04-22`, every date in one part only.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use recurrent::backend::Backend;
use recurrent::train::Progress;
use recurrent::train::fit::{StopReason, TeacherForcing};
use recurrent::train::plot;
use recurrent::train::seq2seq::{
    MODEL_FILE, SRC_VOCAB_FILE, Seq2SeqData, Seq2SeqScores, Seq2SeqTaskConfig, TGT_VOCAB_FILE,
    attention_map, evaluate, load_run, save_vocab, train_seq2seq, translate_with,
};
use recurrent::train::weights::save_weights;
use recurrent::zoo::models::Seq2SeqAttention;
use recurrent::zoo::search::Search;
use recurrent::zoo::transformer::TransformerSeq2SeqConfig;
use serde::Serialize;

use super::{Family, TaskCtx};

/// Options of `seq2seq` (and the common `--cell`, `--hidden`, `--layers`, `--epochs`,
/// `--lr`, `--batch-size`, `--seed`, `--patience`, `--max-minutes`, ...).
#[derive(Args, Debug, Clone, Default)]
pub struct Seq2SeqArgs {
    /// Pairs to learn, one `source<TAB>target` per line [default: generated dates].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Validation pairs (default: 10 % of --data's lines).
    #[arg(long)]
    pub valid: Option<PathBuf>,
    /// Test pairs (default: 10 % of --data's lines).
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Generated date task: training examples (validation and test get a tenth each, at
    /// least 200).
    #[arg(long)]
    pub examples: Option<usize>,
    /// The network: recurrent (encoder-decoder with attention) or transformer (2 + 2
    /// pre-norm layers: --hidden 128, --layers for each side, --heads 4, --d-ff 256; Adam
    /// 1e-3) [default: recurrent, or the saved run's].
    #[arg(long)]
    pub model: Option<Family>,
    /// Attention: bahdanau, luong-dot, luong-general or luong-scaled [default: bahdanau].
    #[arg(long)]
    pub attention: Option<Seq2SeqAttention>,
    /// Embedding size.
    #[arg(long)]
    pub embed: Option<usize>,
    /// A one-directional encoder (bidirectional by default).
    #[arg(long)]
    pub unidirectional: bool,
    /// Dropout rate.
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Beam width of the final test scores (1: greedy only).
    #[arg(long)]
    pub beam: Option<usize>,
    /// Length normalisation of the beam search (0 none, 1 per character).
    #[arg(long)]
    pub length_penalty: Option<f64>,
    /// Scheduled sampling: START[:END[:EPOCHS]], the teacher-forcing ratio moving from
    /// START to END over EPOCHS epochs (1 = always the true previous character).
    #[arg(long)]
    pub teacher_forcing: Option<String>,
    /// Longest source (characters).
    #[arg(long)]
    pub max_source: Option<usize>,
    /// Longest target (characters).
    #[arg(long)]
    pub max_target: Option<usize>,
}

/// `START[:END[:EPOCHS]]`.
fn parse_teacher_forcing(text: &str) -> Result<TeacherForcing> {
    let parts: Vec<&str> = text.split(':').collect();
    let number = |s: &str| -> Result<f64> {
        let v: f64 = s
            .trim()
            .parse()
            .with_context(|| format!("--teacher-forcing {text:?}: {s:?} is not a number"))?;
        if !(0.0..=1.0).contains(&v) {
            bail!("--teacher-forcing {text:?}: {v} is not in [0, 1]");
        }
        Ok(v)
    };
    match parts.as_slice() {
        [start] => {
            let start = number(start)?;
            Ok(TeacherForcing {
                start,
                end: start,
                decay_epochs: 0,
            })
        }
        [start, end] => Ok(TeacherForcing {
            start: number(start)?,
            end: number(end)?,
            decay_epochs: 10,
        }),
        [start, end, epochs] => Ok(TeacherForcing {
            start: number(start)?,
            end: number(end)?,
            decay_epochs: epochs
                .trim()
                .parse()
                .with_context(|| format!("--teacher-forcing {text:?}: epochs {epochs:?}"))?,
        }),
        _ => bail!("--teacher-forcing {text:?}: expected START[:END[:EPOCHS]]"),
    }
}

/// The settings of this run: saved ones or the defaults, with the command line applied.
fn settings(ctx: &TaskCtx, args: &Seq2SeqArgs) -> Result<Seq2SeqTaskConfig> {
    let mut config = ctx.settings(Seq2SeqTaskConfig::new(args.data.clone()))?;
    if args.data.is_some() {
        config.data = args.data.clone();
    }
    if args.valid.is_some() {
        config.valid = args.valid.clone();
    }
    if args.test.is_some() {
        config.test = args.test.clone();
    }
    if let Some(n) = args.examples {
        if n == 0 {
            bail!("--examples 0: the date task needs training examples");
        }
        let held_out = (n / 10).max(200);
        config.date_examples = [n, held_out, held_out];
    }
    let model = &mut config.model;
    if let Some(attention) = args.attention {
        model.attention = attention;
    }
    if let Some(n) = args.embed {
        model.d_embed = n;
    }
    if args.unidirectional {
        model.bidirectional = false;
    }
    if let Some(dropout) = args.dropout {
        model.dropout = dropout;
    }
    if let Some(width) = args.beam {
        if width == 0 {
            bail!("--beam 0: a beam holds at least one hypothesis");
        }
        config.beam_width = width;
    }
    if let Some(penalty) = args.length_penalty {
        config.length_penalty = penalty;
    }
    if let Some(text) = &args.teacher_forcing {
        config.fit.teacher_forcing = parse_teacher_forcing(text)?;
    }
    if let Some(n) = args.max_source {
        config.max_source = n;
    }
    if let Some(n) = args.max_target {
        config.max_target = n;
    }
    if ctx.common.ensemble.is_some_and(|n| n != 1) {
        bail!("seq2seq trains one model: --ensemble is not supported");
    }
    match args.model {
        Some(Family::Transformer) if config.transformer.is_none() => {
            config.transformer = Some(TransformerSeq2SeqConfig::new(0, 0));
            config.fit.lr = 1e-3;
        }
        Some(Family::Recurrent) => config.transformer = None,
        _ => {}
    }
    if let Some(t) = &mut config.transformer {
        t.max_len = config.max_source.max(config.max_target + 1);
        if let Some(dropout) = args.dropout {
            t.dropout = dropout;
        }
        let mut layers = t.n_encoder_layers;
        ctx.apply_transformer_options(
            &mut t.d_model,
            &mut layers,
            &mut t.n_heads,
            &mut t.d_ff,
            &mut config.batch_size,
        );
        t.n_encoder_layers = layers;
        t.n_decoder_layers = layers;
    } else {
        ctx.apply_model_options(
            &mut config.model.kind,
            &mut config.model.d_hidden,
            &mut config.model.n_layers,
            &mut config.batch_size,
        );
    }
    ctx.apply_fit_options(&mut config.fit)?;
    for (option, path) in [
        ("--data", config.data.as_ref()),
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

#[derive(Serialize)]
struct TestScores {
    /// Greedy decoding.
    exact_match: f64,
    char_accuracy: f64,
    examples: usize,
    /// Beam search.
    beam: Seq2SeqScores,
    beam_width: usize,
}

#[derive(Serialize)]
struct Example {
    source: String,
    target: String,
    greedy: String,
    beam: String,
}

#[derive(Serialize)]
struct Seq2SeqMetrics {
    task: &'static str,
    backend: String,
    epochs_run: usize,
    train_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    best_epoch: Option<usize>,
    stop: StopReason,
    test: TestScores,
    valid: Seq2SeqScores,
    data: String,
    examples: [usize; 3],
    source_chars: usize,
    target_chars: usize,
    samples: Vec<Example>,
}

/// Runs `seq2seq`.
pub fn run(ctx: &TaskCtx, args: &Seq2SeqArgs) -> Result<()> {
    let mut config = settings(ctx, args)?;
    let data = Seq2SeqData::load(&config)?;
    config.model = config.model_config(&data);
    if let Some(t) = &mut config.transformer {
        t.src_vocab = data.src_vocab.len();
        t.tgt_vocab = data.tgt_vocab.len();
    }
    ctx.write_config("seq2seq", &config)?;
    let root = ctx.run_dir.root().to_path_buf();
    save_vocab(&data.src_vocab, &root.join(SRC_VOCAB_FILE))?;
    save_vocab(&data.tgt_vocab, &root.join(TGT_VOCAB_FILE))?;
    println!(
        "seq2seq: {} on {}\n  {} / {} / {} pairs; {} source and {} target characters\n  \
         {}, up to {} epochs of batch {}",
        data.source,
        recurrent::backend::describe(ctx.backend, &ctx.device),
        data.train.len(),
        data.valid.len(),
        data.test.len(),
        data.src_vocab.len(),
        data.tgt_vocab.len(),
        config.describe_model(),
        config.fit.epochs,
        config.batch_size,
    );
    let autodiff = ctx.device.clone().autodiff();
    let mut progress = Progress::new();
    let fitted = train_seq2seq(
        &config,
        &data,
        config.fit.seed,
        &autodiff,
        Some(&ctx.run_dir),
        ctx.resume,
        |event| progress.observe(event),
    )?;
    save_weights(&fitted.model, &root.join(MODEL_FILE))?;
    fitted.history.write_csv(&ctx.run_dir.metrics_csv_path())?;
    if !fitted.history.is_empty() {
        plot::loss_curves(&root.join("loss.png"), &fitted.history)?;
    }

    let model = &fitted.model;
    let limits = data.limits(config.max_target)?;
    let batch = config.batch_size.max(64);
    let device = &ctx.device;
    let valid = evaluate(
        model,
        &data.valid,
        &data,
        Search::Greedy,
        limits,
        batch,
        device,
    )?;
    let greedy = evaluate(
        model,
        &data.test,
        &data,
        Search::Greedy,
        limits,
        batch,
        device,
    )?;
    let beam_search = Search::Beam {
        width: config.beam_width,
        length_penalty: config.length_penalty,
    };
    let beam = evaluate(model, &data.test, &data, beam_search, limits, batch, device)?;

    // A few test examples, decoded both ways, and their attention maps.
    let shown: Vec<_> = data.test.iter().take(8).collect();
    let sources: Vec<&str> = shown.iter().map(|p| p.source.as_str()).collect();
    let translate = |search| {
        translate_with(
            model,
            &data.src_vocab,
            &data.tgt_vocab,
            &sources,
            search,
            limits,
            batch,
            device,
        )
    };
    let (greedy_out, beam_out) = (translate(Search::Greedy)?, translate(beam_search)?);
    let samples: Vec<Example> = shown
        .iter()
        .zip(greedy_out.iter().zip(&beam_out))
        .map(|(pair, (g, b))| Example {
            source: pair.source.clone(),
            target: pair.target.clone(),
            greedy: g.clone(),
            beam: b.clone(),
        })
        .collect();
    for (k, pair) in shown.iter().take(3).enumerate() {
        let rows = attention_map(model, &data, pair, device)?;
        let row_labels: Vec<String> = pair
            .target
            .chars()
            .map(String::from)
            .chain(std::iter::once("<eos>".to_owned()))
            .collect();
        let col_labels: Vec<String> = pair.source.chars().map(String::from).collect();
        plot::heatmap(
            &root.join(format!("attention-{}.png", k + 1)),
            &format!("attention: {:?} -> {:?}", pair.source, pair.target),
            &row_labels,
            &col_labels,
            &rows,
        )?;
    }

    let metrics = Seq2SeqMetrics {
        task: "seq2seq",
        backend: ctx.backend.name().to_owned(),
        epochs_run: fitted.history.len(),
        train_seconds: fitted.train_seconds,
        best_epoch: fitted.best_epoch,
        stop: fitted.stop,
        test: TestScores {
            exact_match: greedy.exact_match,
            char_accuracy: greedy.char_accuracy,
            examples: greedy.examples,
            beam,
            beam_width: config.beam_width,
        },
        valid,
        data: data.source.clone(),
        examples: [data.train.len(), data.valid.len(), data.test.len()],
        source_chars: data.src_vocab.len(),
        target_chars: data.tgt_vocab.len(),
        samples,
    };
    ctx.run_dir.write_json("metrics.json", &metrics)?;
    for example in metrics.samples.iter().take(4) {
        println!(
            "  {:?} -> greedy {:?}, beam {:?} (target {:?})",
            example.source, example.greedy, example.beam, example.target
        );
    }
    println!(
        "test: exact match {:.4} greedy, {:.4} beam {} (character accuracy {:.4} / {:.4}); \
         valid exact match {:.4}; {:.1} s of training\nrun directory: {}",
        greedy.exact_match,
        beam.exact_match,
        config.beam_width,
        greedy.char_accuracy,
        beam.char_accuracy,
        valid.exact_match,
        fitted.train_seconds,
        root.display()
    );
    Ok(())
}

/// `predict` for a seq2seq run: translates every line of `data` (standard input when
/// `None`), one output line per input line, greedily or by beam search.
pub fn predict(
    run_dir: &Path,
    data: Option<&Path>,
    beam: Option<usize>,
    backend: Backend,
) -> Result<()> {
    let device = backend.device()?;
    let run = load_run(run_dir, &device)
        .with_context(|| format!("{}: is it a finished seq2seq run?", run_dir.display()))?;
    let config = &run.config;
    let lines: Vec<String> = match data {
        Some(path) => {
            if !path.is_file() {
                bail!("{}: no such file (--data)", path.display());
            }
            std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?
                .lines()
                .map(str::to_owned)
                .collect()
        }
        None => std::io::stdin()
            .lock()
            .lines()
            .collect::<std::io::Result<_>>()
            .context("reading standard input")?,
    };
    let where_ = data.map_or("standard input".to_owned(), |p| p.display().to_string());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            bail!("{where_}:{}: an empty line has nothing to translate", i + 1);
        }
        let n = line.chars().count();
        if n > config.max_source {
            bail!(
                "{where_}:{}: {n} characters, more than the {} the model was trained for",
                i + 1,
                config.max_source
            );
        }
    }
    let sources: Vec<&str> = lines.iter().map(String::as_str).collect();
    let outputs = run.translate(&sources, beam, &device)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for output in outputs {
        writeln!(out, "{output}").context("writing the translations")?;
    }
    out.flush().context("writing the translations")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teacher_forcing_schedules_parse() {
        let tf = parse_teacher_forcing("1:0.5:4").unwrap();
        assert_eq!((tf.start, tf.end, tf.decay_epochs), (1.0, 0.5, 4));
        let tf = parse_teacher_forcing("0.8").unwrap();
        assert_eq!((tf.start, tf.end, tf.decay_epochs), (0.8, 0.8, 0));
        assert!(parse_teacher_forcing("1.5").is_err());
        assert!(parse_teacher_forcing("a:b").is_err());
        assert!(parse_teacher_forcing("1:0:2:3").is_err());
    }
}
