//! Project tasks, run as `cargo xtask <task>` (see `.cargo/config.toml`).
//!
//! - `parity [--backend flex|ndarray|wgpu] FILE...`: PyTorch reference cases.
//! - `test [--skip-wgpu] [--skip-browser]`: the whole test suite (CPU tests, the parity
//!   cases on wgpu, then the server's page in a headless Chromium).
//! - `bench [--configs A,B,C] [--cells rnn,lstm,gru] [--modes fwd,fwdbwd]`: our layers
//!   against PyTorch (when a Python with torch is found) and our composite path; writes
//!   docs/benchmarks.md and its chart.
//! - `compare [--quick] [--budget-minutes M] [--backend B]`: SimpleRNN, LSTM, GRU,
//!   LayerNorm-LSTM and a Transformer measured side by side; writes docs/compare.md.
//! - `inspect FILE [--format csv|text|conll]`: what a data file holds.
//! - `train TASK [OPTIONS]`: trains a model and writes a run directory.
//! - `predict RUN_DIR [OPTIONS]`: uses a finished run (generates text, forecasts, tags).
//! - `serve RUN_DIR... [--backend B] [--host H] [--port P]`: serves finished runs over
//!   HTTP, with a page at `/`.
//!
//! Logs of the libraries go to standard error; `RECURRENT_LOG=info` (or `debug`) shows more.

mod bench;
mod compare;
mod inspect;
mod parity;
mod predict;
mod serve;
mod train;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use recurrent::backend::Backend;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Tasks of the recurrent workspace")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Task {
    /// Runs PyTorch reference cases (safetensors, `recurrent-golden/1` format) and prints the
    /// largest absolute error of outputs, states and gradients per file.
    Parity {
        /// Backend to run on: flex, ndarray or wgpu.
        #[arg(long, default_value = "flex")]
        backend: Backend,
        /// Largest accepted absolute error (default 1e-4 on CPU backends, 1e-3 on wgpu).
        #[arg(long)]
        tolerance: Option<f32>,
        /// Case files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Runs the test suite: `cargo test --workspace` on the CPU backends, the vendored
    /// parity cases on wgpu (a missing wgpu adapter is a failure), then the server's page
    /// in a headless Chromium (a missing chromium or chromedriver is a failure).
    Test {
        /// Skip the wgpu parity run (for machines without any Vulkan driver).
        #[arg(long)]
        skip_wgpu: bool,
        /// Skip the browser test of the server's page (for machines without Chromium).
        #[arg(long)]
        skip_browser: bool,
    },
    /// Times our layers (fused kernels) against PyTorch's and our composite path on configs
    /// A, B and C, and writes docs/benchmarks.md with a chart. The criterion benchmarks
    /// against burn-nn stay under `cargo bench -p recurrent-cells`.
    Bench(bench::BenchArgs),
    /// Measures SimpleRNN, LSTM, GRU, LayerNorm-LSTM and a Transformer at one width:
    /// parameters, FLOPs per step, training throughput, the adding problem, the copy task and
    /// a char-LM at an equal time budget; writes docs/compare.md and its plots.
    Compare(compare::CompareArgs),
    /// Trains a model and writes a run directory (default: a short char-lm run).
    Train {
        /// The task (default: a short char-lm run on the bundled Hamlet).
        #[command(subcommand)]
        task: Option<train::Task>,
        /// Options of every task.
        #[command(flatten)]
        common: train::Common,
    },
    /// Uses a finished run: generates text (char-lm), forecasts the next horizon
    /// (forecast) or tags a file (tagger).
    Predict(predict::PredictArgs),
    /// Serves finished runs over HTTP: `GET /models`, `POST /generate` (char-lm),
    /// `/forecast`, `/tag`, `/translate` (seq2seq), and a page at `/` to try them.
    Serve(serve::ServeArgs),
    /// Prints what a data file holds (rows, columns, missing values, characters, tags…);
    /// malformed input fails with `FILE:LINE: what is wrong`.
    Inspect {
        /// The file.
        file: PathBuf,
        /// Its format; guessed from the extension when absent.
        #[arg(long, value_enum)]
        format: Option<inspect::Format>,
    },
}

/// The process allocator: mimalloc keeps freed pages for the next allocation of a similar
/// size, where glibc's malloc hands large blocks back to the kernel and faults fresh pages in
/// on every training step (2.5x the time of a small recurrent layer's forward).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    // Our crates' logs (tracing) go to standard error: warnings by default, more with
    // RECURRENT_LOG=info|debug|trace. Other crates (wgpu's adapter probing, ...) stay quiet
    // unless RECURRENT_LOG is set.
    let level = std::env::var("RECURRENT_LOG")
        .ok()
        .and_then(|v| v.parse::<tracing::Level>().ok());
    let ours = level.unwrap_or(tracing::Level::WARN);
    let filter = [
        "recurrent",
        "recurrent_cells",
        "recurrent_data",
        "recurrent_train",
        "recurrent_serve",
        "xtask",
    ]
    .into_iter()
    .fold(
        Targets::new().with_default(level.map_or(LevelFilter::OFF, LevelFilter::from_level)),
        |filter, target| filter.with_target(target, ours),
    );
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false),
        )
        .with(filter)
        .init();
    let cli = Cli::parse();
    match cli.task {
        Task::Parity {
            backend,
            tolerance,
            files,
        } => parity::run(backend, tolerance, &files),
        Task::Test {
            skip_wgpu,
            skip_browser,
        } => test(skip_wgpu, skip_browser),
        Task::Bench(args) => bench::run(&args),
        Task::Compare(args) => compare::run(&args),
        Task::Inspect { file, format } => inspect::run(&file, format),
        Task::Train { task, common } => train::run(task, common),
        Task::Predict(args) => predict::run(&args),
        Task::Serve(args) => serve::run(&args),
    }
}

/// The workspace root (xtask lives one level below it).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits inside the workspace")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

fn run(mut cmd: Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("could not start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn test(skip_wgpu: bool, skip_browser: bool) -> Result<()> {
    let mut cmd = cargo();
    // xtask stays in the package set: its features (every backend) then unify with the
    // tests', and burn is built once for both.
    cmd.args(["test", "--workspace"]);
    run(cmd)?;
    if skip_wgpu {
        println!("skipping the wgpu parity cases (--skip-wgpu)");
    } else {
        let cases = parity::vendored_cases(&root())?;
        println!("\nparity cases on wgpu:");
        parity::run(Backend::Wgpu, None, &cases)?;
    }
    if skip_browser {
        println!("skipping the browser test of the server's page (--skip-browser)");
        return Ok(());
    }
    println!("\nthe server's page in a headless Chromium:");
    let mut cmd = cargo();
    // The same package set as above: nothing is rebuilt.
    cmd.args([
        "test",
        "--workspace",
        "--test",
        "serve_browser",
        "--",
        "--ignored",
    ]);
    run(cmd)
}
