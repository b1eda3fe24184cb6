//! `cargo xtask compare`: parses the options and runs `recurrent::train::compare`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use recurrent::backend::Backend;
use recurrent::train::bench::machine_description;
use recurrent::train::compare::{self, CompareConfig};

/// Options of `cargo xtask compare`.
#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Minutes the whole comparison may take (about: each run also stops at its step
    /// budget; 40 % goes to the char-LMs).
    #[arg(long, default_value_t = 30.0)]
    budget_minutes: f64,
    /// A quick setting (a few minutes): 150 steps per run, 15 s of char-LM per network.
    #[arg(long)]
    quick: bool,
    /// Backend: flex, ndarray or wgpu.
    #[arg(long, default_value = "flex")]
    backend: Backend,
    /// Networks: rnn, lstm, gru, ln-lstm, transformer.
    #[arg(long, default_value = "rnn,lstm,gru,ln-lstm,transformer")]
    models: String,
    /// Training steps per synthetic run [default: 1000, quick 150].
    #[arg(long)]
    steps: Option<usize>,
    /// Width of every network [default: 64].
    #[arg(long)]
    hidden: Option<usize>,
    /// The char-LM text; `none` leaves the char-LM out.
    #[arg(long, default_value = "data/text_shakespeare_hamlet.txt")]
    char_lm_data: String,
    /// Seed of weights and data.
    #[arg(long)]
    seed: Option<u64>,
    /// Where compare.md, compare.json and the plots go.
    #[arg(long, default_value = "docs")]
    out: PathBuf,
}

/// Runs the comparison and writes the report.
pub fn run(args: &CompareArgs) -> Result<()> {
    let root = crate::root();
    std::env::set_current_dir(&root)?;
    let data = (args.char_lm_data != "none").then(|| PathBuf::from(&args.char_lm_data));
    if let Some(path) = &data
        && !path.is_file()
    {
        anyhow::bail!("{}: no such file (--char-lm-data)", path.display());
    }
    if args.budget_minutes.is_nan() || args.budget_minutes <= 0.0 {
        anyhow::bail!("--budget-minutes {}: must be above 0", args.budget_minutes);
    }
    let mut config = if args.quick {
        CompareConfig::quick(data)
    } else {
        CompareConfig::full(args.budget_minutes, data)
    };
    config.models = compare::parse_models(&args.models)?;
    if let Some(steps) = args.steps {
        anyhow::ensure!(steps > 0, "--steps 0: a run needs steps");
        config.steps = steps;
        config.eval_every = config.eval_every.min(steps);
    }
    if let Some(hidden) = args.hidden {
        anyhow::ensure!(hidden > 0, "--hidden 0: a network needs units");
        config.d_model = hidden;
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    let device = args.backend.device()?;
    let backend = recurrent::backend::describe(args.backend, &device);
    println!("compare: {} on {backend}", args.models);
    let started = std::time::Instant::now();
    let report = compare::run(&config, &device, &mut |what: &str| {
        println!(
            "  [{:>6.1} min] {what}",
            started.elapsed().as_secs_f64() / 60.0
        );
    })?;
    let command = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    compare::write_report(
        &report,
        &args.out,
        &format!("cargo xtask {command}"),
        &machine_description(),
        &backend,
    )?;
    print!(
        "{}",
        compare::markdown(
            &report,
            &format!("cargo xtask {command}"),
            &machine_description(),
            &backend
        )
    );
    println!(
        "\n{:.1} minutes; wrote {}",
        started.elapsed().as_secs_f64() / 60.0,
        args.out.join("compare.md").display()
    );
    Ok(())
}
