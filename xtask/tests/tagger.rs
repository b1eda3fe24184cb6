//! `cargo xtask train tagger` and `cargo xtask predict` on a tagger run, as a user runs
//! them: a tiny run writes a complete run directory, predict tags CoNLL and plain text, an
//! ensemble reports its members, and missing or malformed files are clear errors.

mod common;

use common::xtask;
use std::path::{Path, PathBuf};
use std::process::Output;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "recurrent-xtask-tagger-{name}-{}",
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

fn metrics(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap()
}

fn finite_fraction(value: &serde_json::Value, what: &str) -> f64 {
    let v = value
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {value}"));
    assert!((0.0..=1.0).contains(&v), "{what} = {v}");
    v
}

const TINY: [&str; 8] = [
    "--hidden",
    "12",
    "--char-features",
    "8",
    "--batch-size",
    "8",
    "--seed",
    "3",
];

#[test]
fn trains_writes_the_run_directory_and_predicts() {
    let dir = scratch("run");
    let data = dir.join("ner.conll");
    std::fs::write(&data, common::bio_corpus(60)).unwrap();
    let out = dir.join("run");
    let mut args = vec![
        "train",
        "tagger",
        "--data",
        data.to_str().unwrap(),
        "--epochs",
        "2",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(TINY);
    let stdout = ok(&xtask(&args));
    assert!(stdout.contains("test: token accuracy"), "{stdout}");
    for file in [
        "config.toml",
        "metrics.csv",
        "metrics.json",
        "model.safetensors",
        "words.json",
        "chars.json",
        "tags.json",
        "loss.png",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let m = metrics(&out);
    assert_eq!(m["task"], "tagger");
    assert_eq!(m["backend"], "flex");
    assert_eq!(m["epochs_run"], 2);
    assert!(m["train_seconds"].as_f64().unwrap() > 0.0);
    for part in ["test", "valid"] {
        finite_fraction(&m[part]["token_accuracy"], "token_accuracy");
        finite_fraction(&m[part]["macro_f1"], "macro_f1");
        finite_fraction(&m[part]["entity_f1"], "entity_f1");
        assert!(m[part]["loss"].as_f64().unwrap().is_finite());
    }
    // 60 sentences split 48 / 6 / 6.
    assert_eq!(m["data"]["train"]["sentences"], 48);
    assert_eq!(m["data"]["test"]["sentences"], 6);
    assert_eq!(m["data"]["bio"], true);
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(
        csv.starts_with("epoch,seconds,loss,accuracy,val_loss,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 3);
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(
        config.contains("task = \"tagger\"") && config.contains("hidden = 12"),
        "{config}"
    );

    let tags: Vec<String> = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(out.join("tags.json")).unwrap(),
    )
    .unwrap()["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tags, ["B-LOC", "B-PER", "I-PER", "O"]);

    // predict on CoNLL: the tag column is replaced, sentences stay apart.
    let conll = dir.join("tag-me.conll");
    std::fs::write(&conll, "Zed\tO\nworks\tO\n\nthe\tO\nlamp\tO\n.\tO\n").unwrap();
    let run = xtask(&[
        "predict",
        out.to_str().unwrap(),
        "--data",
        conll.to_str().unwrap(),
    ]);
    let printed = ok(&run);
    let blocks: Vec<&str> = printed.trim_end().split("\n\n").collect();
    assert_eq!(blocks.len(), 2, "{printed}");
    let first: Vec<&str> = blocks[0].lines().collect();
    assert_eq!(first.len(), 2);
    for line in printed.lines().filter(|l| !l.is_empty()) {
        let (token, tag) = line.split_once('\t').unwrap();
        assert!(
            !token.is_empty() && tags.contains(&tag.to_owned()),
            "{line}"
        );
    }
    assert!(first[0].starts_with("Zed\t") && first[1].starts_with("works\t"));
    assert!(String::from_utf8_lossy(&run.stderr).contains("agreement"));

    // predict on plain text: one sentence per line.
    let text = dir.join("tag-me.txt");
    std::fs::write(&text, "Mia Silva works in Lima .\nthe door is here .\n").unwrap();
    let printed = ok(&xtask(&[
        "predict",
        out.to_str().unwrap(),
        "--data",
        text.to_str().unwrap(),
    ]));
    let blocks: Vec<Vec<&str>> = printed
        .trim_end()
        .split("\n\n")
        .map(|b| b.lines().collect())
        .collect();
    assert_eq!(blocks.len(), 2, "{printed}");
    assert_eq!(blocks[0].len(), 6);
    assert!(blocks[0][0].starts_with("Mia\t"));
    assert!(blocks[1][1].starts_with("door\t"));

    // predict without the file, and with a missing one.
    let run = xtask(&["predict", out.to_str().unwrap()]);
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("--data"));
    let missing = dir.join("nope.txt");
    let run = xtask(&[
        "predict",
        out.to_str().unwrap(),
        "--data",
        missing.to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("nope.txt: no such file"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_ensemble_reports_each_member_and_predicts_with_all() {
    let dir = scratch("ensemble");
    let data = dir.join("ner.conll");
    std::fs::write(&data, common::bio_corpus(30)).unwrap();
    let out = dir.join("run");
    let mut args = vec![
        "train",
        "tagger",
        "--data",
        data.to_str().unwrap(),
        "--epochs",
        "1",
        "--ensemble",
        "2",
        "--cell",
        "gru",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(TINY);
    let stdout = ok(&xtask(&args));
    assert!(
        stdout.contains("member 2/2: test token accuracy"),
        "{stdout}"
    );
    assert!(stdout.contains("ensemble test: token accuracy"), "{stdout}");
    let m = metrics(&out);
    assert_eq!(m["ensemble"], 2);
    let members = m["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!(members[0]["seed"], 3);
    assert_eq!(members[1]["seed"], 4);
    for member in members {
        finite_fraction(&member["test"]["token_accuracy"], "member token_accuracy");
        finite_fraction(&member["test"]["macro_f1"], "member macro_f1");
    }
    finite_fraction(&m["test"]["token_accuracy"], "ensemble token_accuracy");
    assert_eq!(m["epochs_run"], 2);
    for k in 1..=2 {
        let member = out.join("members").join(format!("member-{k}"));
        assert!(member.join("model.safetensors").is_file());
        assert!(member.join("metrics.csv").is_file());
    }
    assert!(out.join("loss.png").is_file());

    let text = dir.join("in.txt");
    std::fs::write(&text, "Kim Silva works in Oslo .\n").unwrap();
    let run = xtask(&[
        "predict",
        out.to_str().unwrap(),
        "--data",
        text.to_str().unwrap(),
    ]);
    let printed = ok(&run);
    assert_eq!(printed.lines().filter(|l| !l.is_empty()).count(), 6);
    assert!(String::from_utf8_lossy(&run.stderr).contains("2 model(s)"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_and_malformed_files_are_clear_errors() {
    let dir = scratch("errors");
    let missing = dir.join("absent.conll");
    let out = dir.join("run-absent");
    let run = xtask(&[
        "train",
        "tagger",
        "--data",
        missing.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("absent.conll: no such file (--data)"), "{err}");

    let good = dir.join("good.conll");
    std::fs::write(&good, common::bio_corpus(12)).unwrap();
    let bad = dir.join("bad.conll");
    std::fs::write(&bad, "Ana\tB-PER\nworks\n").unwrap();
    let out = dir.join("run-bad");
    let run = xtask(&[
        "train",
        "tagger",
        "--data",
        good.to_str().unwrap(),
        "--valid",
        bad.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("bad.conll:2") && err.contains("no tag"),
        "{err}"
    );

    // A CSV handed over as CoNLL: its lines have one column each.
    let csv = dir.join("series.csv");
    std::fs::write(&csv, "date,value\n2020-01,3\n").unwrap();
    let run = xtask(&[
        "train",
        "tagger",
        "--data",
        csv.to_str().unwrap(),
        "--out",
        dir.join("run-csv").to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("series.csv:1") && err.contains("no tag"),
        "{err}"
    );

    // A tag column beyond the file's columns.
    let run = xtask(&[
        "train",
        "tagger",
        "--data",
        good.to_str().unwrap(),
        "--tag-column",
        "5",
        "--out",
        dir.join("run-column").to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("good.conll:1") && err.contains("column"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
