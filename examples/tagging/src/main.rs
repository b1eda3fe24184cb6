//! Part-of-speech tagging with a bidirectional LSTM, through the library API, on the
//! bundled Turkish Web Treebank (14 universal POS tags).
//!
//! What it shows:
//!
//! - [`TaggerTaskConfig`]: the settings (the CoNLL files, word embeddings and character-CNN
//!   features, the BiLSTM, the training loop), here cut down to a short run;
//! - [`TaggerData::load`]: the files read, vocabularies fitted on the training part, every
//!   part encoded;
//! - [`train_tagger`]: one model trained through the shared loop (validation accuracy and
//!   macro F1 after every epoch, the best epoch's weights kept), with [`Progress`];
//! - [`evaluate_part`]: token accuracy and macro F1 on the test file;
//! - [`predict_tags`]: tags for new sentences given as tokens.
//!
//! Run it from anywhere in the workspace (about a minute of training):
//!
//! ```sh
//! cargo run --release -p recurrent-example-tagging
//! cargo run --release -p recurrent-example-tagging -- --epochs 20 --minutes 10
//! ```
//!
//! Another backend: `--no-default-features --features wgpu` (or `ndarray`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Parser;
use recurrent::backend::{self, Backend};
use recurrent::train::Progress;
use recurrent::train::tagger::{
    TaggerData, TaggerTaskConfig, evaluate_part, predict_tags, train_tagger,
};

/// Train a part-of-speech tagger on the Turkish Web Treebank and tag two sentences.
#[derive(Parser, Debug)]
struct Args {
    /// Epochs at most.
    #[arg(long, default_value_t = 6)]
    epochs: usize,
    /// Minutes of training at most.
    #[arg(long, default_value_t = 1.0)]
    minutes: f64,
}

/// A file of the workspace's `data/` directory, wherever the example is run from.
fn bundled(file: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    // examples/tagging -> the workspace root
    let root = manifest.ancestors().nth(2).unwrap_or(manifest);
    root.join("data").join(file)
}

/// Sentences to tag, split into tokens the way the treebank splits them (its tokens are
/// inflectional groups, and punctuation stands apart).
const SENTENCES: [&str; 2] = [
    "Bu akşam arkadaşlarımla sinemaya gideceğim .",
    "İstanbul çok güzel ve kalabalık bir şehir .",
];

fn main() -> Result<()> {
    let args = Args::parse();

    // The library's defaults (words seen twice or more, embeddings of 64, 50 character-CNN
    // features, one BiLSTM layer of 128 per direction, dropout 0.33, Adam 2e-3, early
    // stopping on validation macro F1), with the treebank's own validation and test files
    // and a short training budget: whichever of `epochs` and `minutes` comes first.
    let mut config = TaggerTaskConfig::new(bundled("pos_turkish_twt_train.conll"));
    config.valid = Some(bundled("pos_turkish_twt_valid.conll"));
    config.test = Some(bundled("pos_turkish_twt_test.conll"));
    config.fit.epochs = args.epochs;
    config.fit.max_minutes = Some(args.minutes);

    let data =
        TaggerData::load(&config).with_context(|| format!("reading {}", config.train.display()))?;
    println!(
        "{} tags, {} words, {} characters; {} training, {} validation, {} test sentences",
        data.vocabs.n_tags(),
        data.vocabs.words.len(),
        data.vocabs.chars.len(),
        data.train.sentences.len(),
        data.valid.sentences.len(),
        data.test.sentences.len(),
    );

    // Training runs on the autodiff twin of the first compiled backend's device; the model
    // comes back without autodiff, for evaluation and prediction on the plain device.
    let backend = Backend::default_compiled()?;
    let device = backend.device()?;
    println!(
        "training a BiLSTM tagger with {} for at most {} epoch(s) or {} minute(s)",
        backend::describe(backend, &device),
        config.fit.epochs,
        args.minutes
    );
    let mut progress = Progress::new();
    let fitted = train_tagger(
        &config,
        &data,
        config.fit.seed,
        &device.clone().autodiff(),
        None,
        false,
        |event| progress.observe(event),
    )?;
    println!(
        "{} epoch(s) in {:.1} s, weights of epoch {} kept",
        fitted.history.len(),
        fitted.train_seconds,
        fitted
            .best_epoch
            .map_or_else(|| "(last)".to_owned(), |e| e.to_string()),
    );

    // One model here; an ensemble would pass several and average their probabilities.
    let models = std::slice::from_ref(&fitted.model);
    let test = evaluate_part(models, &data.test, &data.vocabs, 64, &device)?;
    println!(
        "test ({} tokens): token accuracy {:.4}, macro F1 {:.4}",
        test.tokens, test.token_accuracy, test.macro_f1
    );

    let sentences: Vec<Vec<String>> = SENTENCES
        .iter()
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .collect();
    let tags = predict_tags(models, &data.vocabs, &sentences, 64, &device)?;
    for (tokens, tags) in sentences.iter().zip(&tags) {
        let tagged: Vec<String> = tokens
            .iter()
            .zip(tags)
            .map(|(token, tag)| format!("{token}/{tag}"))
            .collect();
        println!("{}", tagged.join(" "));
    }
    Ok(())
}
