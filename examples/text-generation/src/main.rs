//! Text generation with a character-level LSTM language model, through the library API.
//!
//! What it shows:
//!
//! - [`CharLmTaskConfig`]: the settings of a run (model sizes, windows, and the training loop's
//!   [`recurrent::train::FitConfig`] with its time budget);
//! - [`train_char_lm`]: reading and splitting the text, fitting the character tokenizer,
//!   and training through the shared loop, with [`Progress`] drawing a bar per epoch (or
//!   printing a Keras-style line per epoch when the output is not a terminal);
//! - [`generate`]: text from the trained model, by temperature sampling, top-k sampling and
//!   beam search ([`Sampling`]).
//!
//! Run it from anywhere in the workspace (about a minute of training, then the samples):
//!
//! ```sh
//! cargo run --release -p recurrent-example-text-generation
//! cargo run --release -p recurrent-example-text-generation -- --minutes 5 --hidden 256
//! cargo run --release -p recurrent-example-text-generation -- --data data/text_shakespeare_8plays.txt
//! ```
//!
//! Another backend: `--no-default-features --features wgpu` (or `ndarray`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Parser;
use recurrent::backend::{self, Backend};
use recurrent::train::Progress;
use recurrent::train::char_lm::{CharLmTaskConfig, Sampling, generate, train_char_lm};

/// Train a character-level LSTM on a text, then generate from it.
#[derive(Parser, Debug)]
struct Args {
    /// The text to train on [default: the bundled Hamlet].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Minutes of training at most.
    #[arg(long, default_value_t = 1.0)]
    minutes: f64,
    /// LSTM hidden size.
    #[arg(long, default_value_t = 128)]
    hidden: usize,
    /// The text every sample starts from.
    #[arg(long, default_value = "HAMLET.\n")]
    prime: String,
    /// Characters per sample.
    #[arg(long, default_value_t = 300)]
    length: usize,
}

/// A file of the workspace's `data/` directory, wherever the example is run from.
fn bundled(file: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    // examples/text-generation -> the workspace root
    let root = manifest.ancestors().nth(2).unwrap_or(manifest);
    root.join("data").join(file)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let data = args
        .data
        .unwrap_or_else(|| bundled("text_shakespeare_hamlet.txt"));

    // The library's defaults (windows of 100 characters, batches of 64, two LSTM layers with
    // dropout, Adam 4e-3 annealed to 2e-4, gradient norm clipped at 5, a 90/5/5 split by
    // position), the hidden size asked for, and a time budget:
    // training stops after `minutes` even in the middle of an epoch, and still returns the
    // model with its validation and test loss.
    let mut config = CharLmTaskConfig::new(data.clone());
    config.model.d_hidden = args.hidden;
    config.fit.epochs = 50;
    config.fit.max_minutes = Some(args.minutes);

    // The first backend compiled in (the `flex` CPU backend by default). Training runs on
    // its autodiff twin; the trained model comes back without autodiff.
    let backend = Backend::default_compiled()?;
    let device = backend.device()?;
    println!(
        "training a character-level LSTM (hidden {}) on {} with {} for at most {} minute(s)",
        config.model.d_hidden,
        data.display(),
        backend::describe(backend, &device),
        args.minutes
    );

    let mut progress = Progress::new();
    let run = train_char_lm(&config, &device.clone().autodiff(), None, false, |event| {
        progress.observe(event)
    })
    .with_context(|| format!("training on {}", data.display()))?;

    println!(
        "\n{} epoch(s) in {:.1} s ({}); vocabulary of {} characters",
        run.history.len(),
        run.train_seconds,
        run.stop,
        run.tokenizer.vocab_size()
    );
    println!(
        "validation loss {:.3} nats/char (perplexity {:.2}), test loss {:.3}",
        run.val_loss,
        run.val_loss.exp(),
        run.test_loss
    );

    // Decoding strategies: sampling at two temperatures (lower is more conservative), top-k
    // sampling, and beam search (the most likely continuation among `width` hypotheses kept
    // at each step, which tends to repeat itself on a small model).
    let strategies = [
        (
            "sampling, temperature 0.8",
            Sampling::Random {
                temperature: 0.8,
                top_k: None,
            },
        ),
        (
            "sampling, temperature 0.5, top 5",
            Sampling::Random {
                temperature: 0.5,
                top_k: Some(5),
            },
        ),
        ("beam search, width 5", Sampling::Beam { width: 5 }),
    ];
    let seed = config.fit.seed;
    for (name, sampling) in strategies {
        let text = generate(
            &run.model,
            &run.tokenizer,
            &args.prime,
            args.length,
            sampling,
            seed,
            &device,
        )?;
        println!("\n--- {name} ---\n{}{text}", args.prime);
    }
    Ok(())
}
