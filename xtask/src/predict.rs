//! `cargo xtask predict RUN_DIR [OPTIONS]`: uses a finished run. A `char-lm` run generates
//! text (from `config.toml`, `tokenizer.json` and `model.safetensors`); a `forecast` run
//! forecasts the next horizon after the series in `--data` (default: the run's own data);
//! a `tagger` run tags a CoNLL or plain-text file given with `--data`; a `tutorial` run
//! classifies the sequences of `--data` (one per line, numbers separated by commas); a
//! `seq2seq` run translates the lines of `--data` (or of standard input), `--beam N` for
//! beam search.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use recurrent::backend::Backend;
use recurrent::train::SavedRun;
use recurrent::train::char_lm::{generate, load_run};
use recurrent::train::tutorial;

/// Options of `predict`.
#[derive(Args, Debug, Clone)]
pub struct PredictArgs {
    /// The run directory written by `cargo xtask train`.
    pub run_dir: PathBuf,
    /// Backend to run on.
    #[arg(long, default_value = "flex")]
    pub backend: Backend,
    /// forecast: the series to forecast after (CSV); tagger: the file to tag (CoNLL, or
    /// plain text with one whitespace-tokenised sentence per line); tutorial: sequences to
    /// classify, one per line, steps separated by commas or spaces.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// char-lm: text the generation starts from.
    #[arg(long, default_value = "\n")]
    pub prime: String,
    /// char-lm: characters to generate.
    #[arg(long, default_value_t = 400)]
    pub length: usize,
    /// char-lm: sampling temperature.
    #[arg(long, default_value_t = 0.8)]
    pub temperature: f64,
    /// char-lm: sample among the k most likely characters only.
    #[arg(long)]
    pub top_k: Option<usize>,
    /// char-lm: always take the most likely character.
    #[arg(long)]
    pub greedy: bool,
    /// char-lm, seq2seq: beam search with this many hypotheses.
    #[arg(long)]
    pub beam: Option<usize>,
    /// Seed of the sampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Runs `predict`.
pub fn run(args: &PredictArgs) -> Result<()> {
    let saved = SavedRun::read(&args.run_dir.join("config.toml")).map_err(|e| {
        anyhow::anyhow!(
            "{e}; is {} a finished run directory?",
            args.run_dir.display()
        )
    })?;
    match saved.task.as_str() {
        "char-lm" => char_lm(args),
        "forecast" => {
            crate::train::forecast::predict(&args.run_dir, args.data.as_deref(), args.backend)
        }
        "tagger" => {
            let Some(data) = &args.data else {
                bail!("predict on a tagger run needs --data FILE (CoNLL or plain text) to tag");
            };
            crate::train::tagger::predict(&args.run_dir, data, args.backend)
        }
        "seq2seq" => crate::train::seq2seq::predict(
            &args.run_dir,
            args.data.as_deref(),
            args.beam,
            args.backend,
        ),
        "tutorial" => {
            let Some(data) = &args.data else {
                bail!(
                    "predict on a tutorial run needs --data FILE: sequences to classify, one per line"
                );
            };
            tutorial(args, data)
        }
        other => bail!(
            "{}: predict does not handle {other:?} runs (char-lm, forecast, tagger, seq2seq and tutorial runs)",
            args.run_dir.display()
        ),
    }
}

fn char_lm(args: &PredictArgs) -> Result<()> {
    let device = args.backend.device()?;
    let run = load_run(&args.run_dir, &device)?;
    let sampling =
        crate::train::char_lm::sampling(args.beam, args.greedy, args.temperature, args.top_k);
    let text = generate(
        &run.model,
        &run.tokenizer,
        &args.prime,
        args.length,
        sampling,
        args.seed,
        &device,
    )?;
    println!("{}{}", args.prime, text);
    Ok(())
}

/// Prints `line<TAB>p(class 1)<TAB>class` for each sequence of `data`.
fn tutorial(args: &PredictArgs, data: &std::path::Path) -> Result<()> {
    let device = args.backend.device()?;
    let run = tutorial::load_run(&args.run_dir, &device)?;
    let sequences = tutorial::read_sequences(data)?;
    let probabilities = tutorial::predict_probabilities(&run.model, &sequences, &device)?;
    for (k, p) in probabilities.iter().enumerate() {
        println!("{}\t{p:.4}\t{}", k + 1, u8::from(*p > 0.5));
    }
    Ok(())
}
