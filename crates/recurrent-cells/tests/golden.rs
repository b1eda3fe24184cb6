//! The PyTorch reference cases in `tests/golden/` (copied from the project's shared golden
//! set; format in `tests/golden/FORMAT.md`) on every CPU backend, within 1e-4, through the
//! fused kernels where the build has them (the composite path is compared with them in
//! `tests/fused.rs`).
//!
//! Each case was made in PyTorch as
//! ```python
//! layer = torch.nn.LSTM(input_size, hidden_size, num_layers, bias=bias, batch_first=True, bidirectional=bi)
//! out, (h_n, c_n) = layer(x, (h0, c0))
//! loss = (out * up_out).sum() + (h_n * up_h).sum() + (c_n * up_c).sum(); loss.backward()
//! ```
//! (with `pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)` for the
//! cases with lengths).

mod common;

use std::path::PathBuf;

use recurrent_cells::golden::GoldenCase;

const TOLERANCE: f32 = 1e-4;

/// The shared cases and the edge cases of `scripts/make_golden.py` in `extra/`.
fn cases() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<PathBuf> = [dir.clone(), dir.join("extra")]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 18,
        "expected the vendored cases in {}",
        dir.display()
    );
    files
}

#[test]
fn every_case_matches_pytorch_on_every_cpu_backend() {
    let mut failures = Vec::new();
    for (backend, device) in common::cpu_devices() {
        for path in cases() {
            let case = GoldenCase::load(&path).unwrap();
            let fused_before = recurrent_cells::fused::runs();
            let report = case.run(&device).unwrap();
            assert!(!report.errors.is_empty());
            // Where this build has fused kernels for the backend, the case went through them.
            if recurrent_cells::fused::supports(&device) {
                assert!(
                    recurrent_cells::fused::runs() > fused_before,
                    "{backend} {}: the fused kernel did not run",
                    path.display()
                );
            }
            // Every case checks outputs, final states and gradients of input and weights.
            for name in [
                "output",
                "h_n",
                "grad.input",
                "grad.h0",
                "grad.weight_ih_l0",
            ] {
                assert!(
                    report.errors.iter().any(|e| e.name == name),
                    "{}: no {name} compared",
                    path.display()
                );
            }
            if let Some(bad) = report.first_failure(TOLERANCE) {
                failures.push(format!(
                    "{backend} {}: {} off by {}",
                    path.display(),
                    bad.name,
                    bad.max_abs_error
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_corrupted_expectation_is_caught() {
    // The harness must fail when the layer and the file disagree: perturb one expected
    // gradient and check that the report names it.
    let path = cases()
        .into_iter()
        .find(|p| p.ends_with("lstm_1l.safetensors"))
        .unwrap();
    let mut case = GoldenCase::load(&path).unwrap();
    let mut data = case.tensors.get("grad.weight_hh_l0").unwrap().clone();
    let mut values = data.try_to_vec::<f32>().unwrap();
    values[3] += 0.01;
    data = burn::tensor::TensorData::new(values, data.shape().clone());
    case.tensors.insert("grad.weight_hh_l0", data);
    let report = case.run(&common::device()).unwrap();
    let bad = report
        .first_failure(TOLERANCE)
        .expect("the perturbation is detected");
    assert_eq!(bad.name, "grad.weight_hh_l0");
    assert!((bad.max_abs_error - 0.01).abs() < 1e-3);
}

#[test]
fn unreadable_files_are_errors_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("recurrent-golden-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let garbage = dir.join("garbage.safetensors");
    std::fs::write(&garbage, b"this is not a safetensors file").unwrap();
    let err = GoldenCase::load(&garbage).unwrap_err().to_string();
    assert!(err.contains("garbage.safetensors"), "{err}");

    let missing = dir.join("missing.safetensors");
    let err = GoldenCase::load(&missing).unwrap_err().to_string();
    assert!(err.contains("missing.safetensors"), "{err}");

    // A valid safetensors file without the case metadata.
    let mut dict = recurrent_cells::StateDict::default();
    dict.insert("x", burn::tensor::TensorData::new(vec![1.0f32], [1]));
    let no_meta = dir.join("no_meta.safetensors");
    dict.save(&no_meta).unwrap();
    let err = GoldenCase::load(&no_meta).unwrap_err().to_string();
    assert!(
        err.contains("no_meta.safetensors") && err.contains("format"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
