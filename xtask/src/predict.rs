//! `cargo xtask predict RUN_DIR [OPTIONS]`: uses a finished run. A `char-lm` run generates
//! text (from `config.toml`, `tokenizer.json` and `model.safetensors`); a `forecast` run
//! forecasts the next horizon after the series in `--data` (default: the run's own data);
//! a `tagger` run tags a CoNLL or plain-text file given with `--data`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use recurrent::backend::Backend;
use recurrent::cells::StateDict;
use recurrent::data::Tokenizer;
use recurrent::train::char_lm::{CharLm, CharLmConfig, generate};
use serde::Deserialize;

/// Options of `predict`.
#[derive(Args, Debug, Clone)]
pub struct PredictArgs {
    /// The run directory written by `cargo xtask train`.
    pub run_dir: PathBuf,
    /// Backend to run on.
    #[arg(long, default_value = "flex")]
    pub backend: Backend,
    /// forecast: the series to forecast after (CSV); tagger: the file to tag (CoNLL, or
    /// plain text with one whitespace-tokenised sentence per line).
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
    /// char-lm: beam search with this many hypotheses.
    #[arg(long)]
    pub beam: Option<usize>,
    /// Seed of the sampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Deserialize)]
struct SavedTask {
    task: String,
}

#[derive(Deserialize)]
struct SavedRun<T> {
    settings: T,
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| {
        format!(
            "{}: cannot read it; is {} a finished run directory?",
            path.display(),
            path.parent().unwrap_or(Path::new(".")).display()
        )
    })
}

/// Runs `predict`.
pub fn run(args: &PredictArgs) -> Result<()> {
    let config_path = args.run_dir.join("config.toml");
    let text = read(&config_path)?;
    let task: SavedTask =
        toml::from_str(&text).with_context(|| format!("{}", config_path.display()))?;
    match task.task.as_str() {
        "char-lm" => char_lm(args, &text),
        "forecast" => crate::train::forecast::predict(
            &args.run_dir,
            settings(&text, &config_path)?,
            args.data.as_deref(),
            args.backend,
        ),
        "tagger" => {
            let Some(data) = &args.data else {
                bail!("predict on a tagger run needs --data FILE (CoNLL or plain text) to tag");
            };
            crate::train::tagger::predict(
                &args.run_dir,
                settings(&text, &config_path)?,
                data,
                args.backend,
            )
        }
        other => bail!(
            "{}: predict does not handle {other:?} runs (char-lm, forecast and tagger runs)",
            args.run_dir.display()
        ),
    }
}

/// The `[settings]` table of a run's `config.toml`.
fn settings(text: &str, path: &Path) -> Result<toml::Value> {
    let saved: SavedRun<toml::Value> =
        toml::from_str(text).with_context(|| format!("{}", path.display()))?;
    Ok(saved.settings)
}

fn char_lm(args: &PredictArgs, config_text: &str) -> Result<()> {
    let saved: SavedRun<CharLmConfig> = toml::from_str(config_text)
        .with_context(|| format!("{}/config.toml", args.run_dir.display()))?;
    let tokenizer = Tokenizer::load(&args.run_dir.join("tokenizer.json"))?;
    let dict = StateDict::load(args.run_dir.join("model.safetensors"))?;
    let device = args.backend.device()?;
    let model = CharLm::from_state_dict(&saved.settings, tokenizer.vocab_size(), &dict, &device)
        .with_context(|| format!("{}/model.safetensors", args.run_dir.display()))?;
    let sampling =
        crate::train::char_lm::sampling(args.beam, args.greedy, args.temperature, args.top_k);
    let text = generate(
        &model,
        &tokenizer,
        &args.prime,
        args.length,
        sampling,
        args.seed,
        &device,
    )?;
    println!("{}{}", args.prime, text);
    Ok(())
}
