//! `cargo xtask train` as a user runs it: a short tutorial run writes a complete run
//! directory; a bad option or an existing run directory is a clear error.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("recurrent-xtask-{name}-{}", std::process::id()))
}

#[test]
fn tutorial_writes_config_metrics_and_weights() {
    let out = scratch("tutorial");
    let _ = std::fs::remove_dir_all(&out);
    let run = xtask(&[
        "train",
        "tutorial",
        "--cell",
        "gru",
        "--epochs",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("Epoch 2/2 - "), "{stdout}");
    for file in [
        "config.toml",
        "metrics.csv",
        "metrics.json",
        "model.safetensors",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["task"], "tutorial");
    assert_eq!(metrics["backend"], "flex");
    assert_eq!(metrics["epochs_run"], 2);
    assert!(metrics["train_seconds"].as_f64().unwrap() > 0.0);
    let history = metrics["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    for entry in history {
        assert!(entry["loss"].as_f64().unwrap().is_finite());
        assert!(entry["accuracy"].as_f64().unwrap().is_finite());
    }
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(
        config.contains("cell = \"gru\"") && config.contains("epochs = 2"),
        "{config}"
    );

    // The same directory again: refused, nothing overwritten.
    let again = xtask(&["train", "tutorial", "--out", out.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn bad_options_are_clear_errors() {
    let run = xtask(&["train", "tutorial", "--cell", "transformer"]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("expected simplernn, lstm or gru"), "{err}");
    let run = xtask(&["train", "tutorial", "--backend", "cuda"]);
    assert!(String::from_utf8_lossy(&run.stderr).contains("expected flex, ndarray or wgpu"));
}

#[test]
fn char_lm_writes_metrics_tokenizer_and_a_sample() {
    let out = scratch("charlm");
    let _ = std::fs::remove_dir_all(&out);
    let data = scratch("charlm-text.txt");
    std::fs::write(
        &data,
        "the quick brown fox jumps over the lazy dog.\n".repeat(40),
    )
    .unwrap();
    let run = xtask(&[
        "train",
        "char-lm",
        "--data",
        data.to_str().unwrap(),
        "--hidden",
        "16",
        "--seq-len",
        "20",
        "--epochs",
        "1",
        "--length",
        "30",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for file in [
        "config.toml",
        "metrics.csv",
        "metrics.json",
        "model.safetensors",
        "tokenizer.json",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["task"], "char-lm");
    assert_eq!(metrics["epochs_run"], 1);
    for key in ["val_loss", "val_perplexity", "test_loss", "train_seconds"] {
        assert!(metrics[key].as_f64().unwrap().is_finite(), "{key}");
    }
    assert_eq!(metrics["sample"].as_str().unwrap().chars().count(), 30);

    // predict reloads the run (config, tokenizer, weights) and generates; greedy decoding
    // is the same twice.
    let args = [
        "predict",
        out.to_str().unwrap(),
        "--prime",
        "the ",
        "--length",
        "25",
        "--greedy",
    ];
    let first = xtask(&args);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let text = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(
        text.starts_with("the ") && text.trim_end().chars().count() >= 4,
        "{text:?}"
    );
    assert_eq!(xtask(&args).stdout, first.stdout);
    let beam = xtask(&[
        "predict",
        out.to_str().unwrap(),
        "--length",
        "10",
        "--beam",
        "3",
    ]);
    assert!(
        beam.status.success(),
        "{}",
        String::from_utf8_lossy(&beam.stderr)
    );
    std::fs::remove_dir_all(&out).unwrap();

    let not_a_run = xtask(&["predict", data.to_str().unwrap()]);
    assert!(!not_a_run.status.success());
    assert!(String::from_utf8_lossy(&not_a_run.stderr).contains("config.toml"));

    let missing = xtask(&["train", "char-lm", "--data", "no/such/file.txt"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no/such/file.txt: no such file"));
}
