//! `cargo xtask parity`: PyTorch reference cases on a chosen backend.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use recurrent::backend::Backend;
use recurrent::cells::golden::GoldenCase;

/// The reference cases vendored in the repository.
pub fn vendored_cases(root: &Path) -> Result<Vec<PathBuf>> {
    let dir = root.join("crates/recurrent-cells/tests/golden");
    let mut files = Vec::new();
    for d in [dir.clone(), dir.join("extra")] {
        let entries = std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))?;
        files.extend(
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "safetensors")),
        );
    }
    files.sort();
    if files.is_empty() {
        bail!("no reference cases in {}", dir.display());
    }
    Ok(files)
}

/// Runs every case, prints one line per file, and fails if any is off or unreadable.
pub fn run(backend: Backend, tolerance: Option<f32>, files: &[PathBuf]) -> Result<()> {
    let tolerance = tolerance.unwrap_or(match backend {
        Backend::Wgpu => 1e-3,
        Backend::Flex | Backend::NdArray => 1e-4,
    });
    let device = backend.device()?;
    let described = recurrent::backend::describe(backend, &device);
    println!(
        "{:<64} {:>10} {:>10} {:>10}  ({described}, tolerance {tolerance:e})",
        "case", "output", "state", "grad"
    );
    let mut failures = Vec::new();
    for file in files {
        let name = file.display().to_string();
        let report = match GoldenCase::load(file).and_then(|case| case.run(&device)) {
            Ok(report) => report,
            Err(e) => {
                println!("{name:<64} error: {e}");
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let verdict = match report.first_failure(tolerance) {
            Some(bad) => {
                failures.push(format!(
                    "{name}: `{}` is off by {:e} (tolerance {tolerance:e})",
                    bad.name, bad.max_abs_error
                ));
                format!("FAIL at {}", bad.name)
            }
            None => "ok".to_string(),
        };
        println!(
            "{name:<64} {:>10.2e} {:>10.2e} {:>10.2e}  {verdict}",
            report.output_error(),
            report.state_error(),
            report.grad_error()
        );
    }
    if !failures.is_empty() {
        bail!(
            "{} of {} cases failed; first: {}",
            failures.len(),
            files.len(),
            failures[0]
        );
    }
    println!("{} passed, 0 failed", files.len());
    Ok(())
}
