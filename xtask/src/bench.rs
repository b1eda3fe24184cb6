//! `cargo xtask bench`: parses the options and runs `recurrent::train::bench`.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};
use clap::Args;
use recurrent::backend::Backend;
use recurrent::train::bench::{
    self, BenchCell, BenchMode, BenchOptions, BenchShape, ReportContext,
};

/// Options of `cargo xtask bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Configs: A (32x50, 32→128), B (64x100, 128→256), C (B, 2 layers, bidirectional).
    #[arg(long, default_value = "A,B,C", value_delimiter = ',')]
    configs: Vec<String>,
    /// Layers: rnn, lstm, gru.
    #[arg(long, default_value = "rnn,lstm,gru", value_delimiter = ',')]
    cells: Vec<String>,
    /// Modes: fwd, fwdbwd.
    #[arg(long, default_value = "fwd,fwdbwd", value_delimiter = ',')]
    modes: Vec<String>,
    /// Timed runs per measurement (the median is reported).
    #[arg(long, default_value_t = 10)]
    reps: usize,
    /// Untimed runs before them.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Rounds per config and layer (PyTorch, then ours, each time); each side's fastest
    /// round counts.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Backend ours runs on (flex or ndarray have fused kernels).
    #[arg(long, default_value = "flex")]
    backend: Backend,
    /// Skip timing the composite path.
    #[arg(long)]
    no_composite: bool,
    /// Skip PyTorch even if a Python with torch is found ($RECURRENT_PYTHON or python3).
    #[arg(long)]
    no_torch: bool,
    /// Threads PyTorch may use.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// The report to write (a PNG chart goes next to it).
    #[arg(long, default_value = "docs/benchmarks.md")]
    out: PathBuf,
    /// Internal: measure our peak memory of one training step and print it (run by `bench`
    /// itself in a fresh process).
    #[arg(long, hide = true)]
    memory_probe: bool,
}

/// Runs the benchmark and writes the report.
pub fn run(args: &BenchArgs) -> Result<()> {
    if args.memory_probe {
        if let Some(mib) = bench::peak_memory_probe(&args.backend.device()?) {
            println!("{mib}");
        }
        return Ok(());
    }
    let root = crate::root();
    let markdown = if args.out.is_absolute() {
        args.out.clone()
    } else {
        root.join(&args.out)
    };
    // The report's folder, made before the runs: a path that cannot be written fails now,
    // not after the quarter of an hour the runs take.
    if let Some(folder) = markdown.parent() {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("creating the report's folder {}", folder.display()))?;
    }
    let shapes = args
        .configs
        .iter()
        .map(|c| BenchShape::named(c))
        .collect::<Result<Vec<_>, _>>()?;
    let cells = args
        .cells
        .iter()
        .map(|c| BenchCell::parse(c))
        .collect::<Result<Vec<_>, _>>()?;
    let modes = args
        .modes
        .iter()
        .map(|m| BenchMode::parse(m))
        .collect::<Result<Vec<_>, _>>()?;
    let python = if args.no_torch {
        None
    } else {
        bench::find_torch_python()
    };
    let torch = match &python {
        Some(python) => torch_version(python),
        None if args.no_torch => "not run (--no-torch)".to_string(),
        None => "not run: no Python with torch found (set RECURRENT_PYTHON)".to_string(),
    };
    println!("PyTorch: {torch}");
    let options = BenchOptions {
        shapes,
        cells,
        modes,
        reps: args.reps,
        rounds: args.rounds,
        warmup: args.warmup,
        composite: !args.no_composite,
        device: args.backend.device()?,
        python,
        script: root.join("scripts/torch_rnn_bench.py"),
        threads: args.threads,
    };
    let rows = bench::run(&options, |row| {
        let ratio = |v: Option<f64>, what: &str| {
            v.map_or(String::new(), |v| format!("  {v:.2}x vs {what}"))
        };
        println!(
            "{} {:4} {:6} ours {:9.2} ms{}{}",
            row.shape,
            row.cell.name(),
            row.mode.name(),
            row.ours_ms,
            ratio(row.speed_vs_torch(), "PyTorch"),
            ratio(row.speed_vs_composite(), "composite"),
        );
    })?;
    let sgemm = bench::sgemm_peak(args.reps, args.rounds);
    println!("SGEMM peak (2048^3, all threads): {sgemm:.0} GFLOP/s");
    let mut probe = Command::new(std::env::current_exe().context("finding this program")?);
    probe.args(["bench", "--memory-probe", "--backend", args.backend.name()]);
    let memory = bench::peak_memory(&options, probe);
    if let Some(m) = &memory {
        println!(
            "peak memory of a config-B LSTM training step: ours {:.0} MiB, PyTorch {}",
            m.ours_mib,
            m.torch_mib
                .map_or("not measured".into(), |t| format!("{t:.0} MiB"))
        );
    }
    let chart = markdown.with_extension("png");
    let context = ReportContext {
        command: format!(
            "cargo xtask bench {}",
            std::env::args().skip(2).collect::<Vec<_>>().join(" ")
        ),
        machine: bench::machine_description(),
        commit: git_commit(&root),
        backend: args.backend.name().to_string(),
        torch,
        sgemm_gflops: Some(sgemm),
    };
    let drawn = bench::write_report(&rows, memory.as_ref(), &context, &markdown, &chart)?;
    println!("\n{}", bench::table(&rows));
    if drawn {
        println!("wrote {} and {}", markdown.display(), chart.display());
    } else {
        println!("wrote {} (no ratio to chart)", markdown.display());
    }
    Ok(())
}

fn torch_version(python: &PathBuf) -> String {
    Command::new(python)
        .args(["-c", "import torch; print('torch', torch.__version__)"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "torch (version unknown)".into())
}

fn git_commit(root: &std::path::Path) -> String {
    let out = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(root)
        .output()
        .context("running git");
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .current_dir(root)
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    match out {
        Ok(o) if o.status.success() => {
            let hash = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if dirty {
                format!("{hash} (with local changes)")
            } else {
                hash
            }
        }
        _ => "unknown".into(),
    }
}
