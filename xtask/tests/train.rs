//! `cargo xtask train` as a user runs it: a short tutorial run writes a complete run
//! directory; a bad option or an existing run directory is a clear error.

mod common;

use common::xtask;
use std::path::PathBuf;

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

    // predict classifies sequences of any length with the trained model.
    let sequences = scratch("tutorial-sequences.txt");
    std::fs::write(
        &sequences,
        "# one sequence per line\n0.1, 0.5, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 0.0\n0.9 0.9 0.9\n",
    )
    .unwrap();
    let predicted = xtask(&[
        "predict",
        out.to_str().unwrap(),
        "--data",
        sequences.to_str().unwrap(),
    ]);
    assert!(
        predicted.status.success(),
        "{}",
        String::from_utf8_lossy(&predicted.stderr)
    );
    let stdout = String::from_utf8_lossy(&predicted.stdout);
    let rows: Vec<Vec<&str>> = stdout.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    for (k, row) in rows.iter().enumerate() {
        assert_eq!(row[0], (k + 1).to_string());
        let p: f64 = row[1].parse().unwrap();
        assert!((0.0..=1.0).contains(&p), "{stdout}");
        assert_eq!(row[2], if p > 0.5 { "1" } else { "0" });
    }
    std::fs::write(&sequences, "0.1, 0.2\n0.3, oops\n").unwrap();
    let bad = xtask(&[
        "predict",
        out.to_str().unwrap(),
        "--data",
        sequences.to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("tutorial-sequences.txt") && err.contains(":2:") && err.contains("oops"),
        "{err}"
    );
    std::fs::remove_file(&sequences).unwrap();

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
    assert!(err.contains("expected rnn, lstm, gru or ln-lstm"), "{err}");
    let run = xtask(&["train", "tutorial", "--ensemble", "3"]);
    assert!(String::from_utf8_lossy(&run.stderr).contains("do not apply to the tutorial"));
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

#[test]
fn a_run_resumes_from_its_checkpoint_and_config_files_repeat_a_run() {
    let out = scratch("resume");
    let _ = std::fs::remove_dir_all(&out);
    let data = scratch("resume-text.txt");
    std::fs::write(
        &data,
        "all the world's a stage, and all the men and women merely players.\n".repeat(30),
    )
    .unwrap();
    let first = xtask(&[
        "train",
        "char-lm",
        "--data",
        data.to_str().unwrap(),
        "--hidden",
        "16",
        "--seq-len",
        "20",
        "--epochs",
        "2",
        "--length",
        "10",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(out.join("checkpoints/latest"))
            .unwrap()
            .trim(),
        "epoch-0002"
    );
    // As if killed after the checkpoint of epoch 2: the final files are missing.
    std::fs::remove_file(out.join("metrics.json")).unwrap();
    std::fs::remove_file(out.join("model.safetensors")).unwrap();
    let resumed = xtask(&["train", "--resume", out.to_str().unwrap(), "--epochs", "3"]);
    let stdout = String::from_utf8_lossy(&resumed.stdout);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert!(
        stdout.contains("resuming after the checkpoint of epoch 2"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Epoch 3/3 - ") && !stdout.contains("Epoch 1/"),
        "{stdout}"
    );
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["epochs_run"], 3);
    assert!(out.join("model.safetensors").is_file() && out.join("loss.png").is_file());
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    // The resumed run kept its settings (hidden 16), with the new epoch count.
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(
        config.contains("hidden = 16") && config.contains("epochs = 3"),
        "{config}"
    );

    // --config repeats the run's settings in a new directory.
    let again = scratch("resume-again");
    let _ = std::fs::remove_dir_all(&again);
    let repeat = xtask(&[
        "train",
        "--config",
        out.join("config.toml").to_str().unwrap(),
        "--epochs",
        "1",
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(
        repeat.status.success(),
        "{}",
        String::from_utf8_lossy(&repeat.stderr)
    );
    let config = std::fs::read_to_string(again.join("config.toml")).unwrap();
    assert!(
        config.contains("task = \"char-lm\"") && config.contains("hidden = 16"),
        "{config}"
    );
    // A configuration of another task is refused.
    let wrong = xtask(&[
        "train",
        "tutorial",
        "--config",
        out.join("config.toml").to_str().unwrap(),
    ]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("char-lm"));
    let nothing = xtask(&["train", "--resume", "no/such/run"]);
    assert!(
        String::from_utf8_lossy(&nothing.stderr).contains("no/such/run: no such run directory")
    );
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::remove_dir_all(&again).unwrap();
}

#[test]
fn a_char_lm_ensemble_reports_members_and_the_ensemble() {
    let out = scratch("charlm-ensemble");
    let _ = std::fs::remove_dir_all(&out);
    let data = scratch("charlm-ensemble.txt");
    std::fs::write(&data, "now is the winter of our discontent.\n".repeat(40)).unwrap();
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
        "10",
        "--ensemble",
        "2",
        "--cell",
        "gru",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let members = metrics["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!(members[1]["seed"], members[0]["seed"].as_u64().unwrap() + 1);
    for key in ["val_loss", "test_loss"] {
        let ensemble = metrics[key].as_f64().unwrap();
        let mean = members
            .iter()
            .map(|m| m[key].as_f64().unwrap())
            .sum::<f64>()
            / 2.0;
        assert!(
            ensemble.is_finite() && ensemble <= mean + 1e-5,
            "{key}: {ensemble} vs {mean}"
        );
    }
    for k in 1..=2 {
        assert!(
            out.join(format!("members/member-{k}/model.safetensors"))
                .is_file()
        );
    }
    assert!(out.join("model.safetensors").is_file());
    std::fs::remove_dir_all(&out).unwrap();
}
