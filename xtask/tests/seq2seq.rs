//! `cargo xtask train seq2seq` and `cargo xtask predict` on a seq2seq run, as a user runs
//! them: the generated date task learns, the run directory is complete, predict translates
//! stdin and files, and malformed files are clear errors naming file and line.

mod common;

use common::xtask;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "recurrent-xtask-seq2seq-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn ok(run: &Output) -> String {
    assert!(
        run.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    String::from_utf8_lossy(&run.stdout).into_owned()
}

fn failure(run: &Output) -> String {
    assert!(!run.status.success(), "expected a failure");
    String::from_utf8_lossy(&run.stderr).into_owned()
}

#[test]
fn the_date_task_learns_and_predict_translates() {
    let dir = scratch("dates");
    let out = dir.join("run");
    let out_s = out.to_str().unwrap();
    let stdout = ok(&xtask(&[
        "train",
        "seq2seq",
        "--examples",
        "3000",
        "--epochs",
        "3",
        "--beam",
        "3",
        "--seed",
        "5",
        "--out",
        out_s,
    ]));
    assert!(stdout.contains("test: exact match"), "{stdout}");
    for file in [
        "config.toml",
        "metrics.json",
        "metrics.csv",
        "model.safetensors",
        "src_vocab.txt",
        "tgt_vocab.txt",
        "loss.png",
        "attention-1.png",
        "attention-3.png",
    ] {
        assert!(
            out.join(file).is_file(),
            "{file} missing in the run directory"
        );
    }
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let exact = metrics["test"]["exact_match"].as_f64().unwrap();
    let chars = metrics["test"]["char_accuracy"].as_f64().unwrap();
    let beam = metrics["test"]["beam"]["exact_match"].as_f64().unwrap();
    // Chance is 0 for whole dates and about 1/10 per character; three short epochs on 3000
    // dates get most characters and many whole dates right.
    assert!(chars > 0.8, "character accuracy {chars}");
    assert!(
        exact > 0.25 && beam > 0.25,
        "exact match {exact}, beam {beam}"
    );

    // Standard input, one line out per line in.
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["predict", out_s])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"March 3, 2001\n12 Oct 1987\n")
        .unwrap();
    let lines = ok(&child.wait_with_output().unwrap());
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in &lines {
        assert_eq!(line.len(), 10, "an ISO-shaped date: {line:?}");
    }
    // A file with an empty line is refused by line number.
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "March 3, 2001\n\n").unwrap();
    let err = failure(&xtask(&["predict", out_s, "--data", bad.to_str().unwrap()]));
    assert!(err.contains("bad.txt:2: an empty line"), "{err}");
}

#[test]
fn tsv_files_train_and_malformed_lines_name_file_and_line() {
    let dir = scratch("tsv");
    // Reversal of short words: any source<TAB>target file works.
    let text = common::reversal_pairs(120);
    let data = dir.join("pairs.tsv");
    std::fs::write(&data, &text).unwrap();
    let out = dir.join("run");
    ok(&xtask(&[
        "train",
        "seq2seq",
        "--data",
        data.to_str().unwrap(),
        "--epochs",
        "1",
        "--hidden",
        "8",
        "--embed",
        "8",
        "--attention",
        "luong-general",
        "--cell",
        "gru",
        "--out",
        out.to_str().unwrap(),
    ]));
    let metrics = std::fs::read_to_string(out.join("metrics.json")).unwrap();
    assert!(metrics.contains("\"exact_match\""), "{metrics}");

    let broken = dir.join("broken.tsv");
    std::fs::write(&broken, "abc\tcba\nno tab on this line\n").unwrap();
    let err = failure(&xtask(&[
        "train",
        "seq2seq",
        "--data",
        broken.to_str().unwrap(),
        "--out",
        dir.join("broken-run").to_str().unwrap(),
    ]));
    assert!(
        err.contains("broken.tsv:2: no tab between the source and the target"),
        "{err}"
    );
    assert!(
        !dir.join("broken-run").exists(),
        "a run that failed before training leaves no directory"
    );
    let err = failure(&xtask(&["train", "seq2seq", "--attention", "cosine"]));
    assert!(err.contains("cosine"), "{err}");
}

#[test]
fn the_transformer_learns_the_date_task_and_predict_rebuilds_it() {
    let dir = scratch("transformer");
    let out = dir.join("run");
    let out_s = out.to_str().unwrap();
    let stdout = ok(&xtask(&[
        "train",
        "seq2seq",
        "--model",
        "transformer",
        "--hidden",
        "64",
        "--examples",
        "2000",
        "--epochs",
        "3",
        "--beam",
        "2",
        "--out",
        out_s,
    ]));
    assert!(stdout.contains("Transformer 2+2 layers of 64"), "{stdout}");
    assert!(out.join("attention-1.png").is_file());
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let chars = metrics["test"]["char_accuracy"].as_f64().unwrap();
    // Chance is about 1/10 per character; three short epochs get most of them.
    assert!(chars > 0.6, "character accuracy {chars}");
    let settings = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(settings.contains("[settings.transformer]"), "{settings}");
    let data = dir.join("dates.txt");
    std::fs::write(&data, "April 22, 2019\n3/4/05\n").unwrap();
    let translated = ok(&xtask(&[
        "predict",
        out_s,
        "--data",
        data.to_str().unwrap(),
    ]));
    let lines: Vec<&str> = translated.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 2, "{translated}");
    assert!(lines.iter().all(|l| !l.is_empty()), "{translated}");
}
