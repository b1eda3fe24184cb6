//! Every network a task can choose from the zoo trains end to end from the command line and
//! `predict` rebuilds it from its run directory: char-lm's cells, residual stacks,
//! recurrent dropout and Transformer; the tagger's architectures (the Transformer's too) and
//! merge modes; the forecaster's hybrids; the comparison's quick run.
//! Choices that cannot work are clear errors, and `--help` lists them.

mod common;

use common::xtask;
use std::path::{Path, PathBuf};
use std::process::Output;

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("recurrent-xtask-zoo-{name}-{}", std::process::id()));
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
    let err = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn config(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("config.toml")).unwrap()
}

#[test]
fn char_lm_cells_residual_and_recurrent_dropout_train_and_predict() {
    let dir = scratch("charlm");
    let data = dir.join("text.txt");
    std::fs::write(
        &data,
        "the quick brown fox jumps over the lazy dog.\n".repeat(40),
    )
    .unwrap();
    let variants: [&[&str]; 4] = [
        &["--cell", "ln-lstm"],
        &["--cell", "gru", "--layers", "2", "--residual"],
        &["--recurrent-dropout", "0.25", "--layers", "2"],
        &["--model", "transformer", "--layers", "1", "--heads", "2"],
    ];
    for (k, extra) in variants.iter().enumerate() {
        let out = dir.join(format!("run-{k}"));
        let mut args = vec![
            "train",
            "char-lm",
            "--data",
            data.to_str().unwrap(),
            "--hidden",
            "12",
            "--seq-len",
            "20",
            "--epochs",
            "1",
            "--length",
            "20",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        ok(&xtask(&args));
        let settings = config(&out);
        match k {
            0 => assert!(settings.contains("kind = \"ln-lstm\""), "{settings}"),
            1 => assert!(settings.contains("residual = true") && settings.contains("n_layers = 2")),
            2 => assert!(settings.contains("recurrent_dropout = 0.25"), "{settings}"),
            _ => assert!(
                settings.contains("[settings.transformer]")
                    && settings.contains("d_model = 12")
                    && settings.contains("max_len = 20"),
                "{settings}"
            ),
        }
        let predict = |seed: &str| {
            ok(&xtask(&[
                "predict",
                out.to_str().unwrap(),
                "--prime",
                "the ",
                "--length",
                "15",
                "--greedy",
                "--seed",
                seed,
            ]))
        };
        let text = predict("1");
        assert!(
            text.starts_with("the ") && text.trim_end().chars().count() >= 4,
            "{text}"
        );
        assert_eq!(
            text,
            predict("2"),
            "greedy decoding does not depend on the seed"
        );
    }
    let err = failure(&xtask(&["train", "char-lm", "--recurrent-dropout", "1.5"]));
    assert!(err.contains("recurrent_dropout"), "{err}");
}

/// A small BIO corpus.
fn corpus(sentences: usize) -> String {
    let names = ["Ana", "Bo", "Kim", "Lars", "Mia", "Olu"];
    let places = ["Oslo", "Lima", "Quito", "Accra"];
    let mut out = String::new();
    for i in 0..sentences {
        if i % 3 == 2 {
            out.push_str("the\tO\nlamp\tO\nis\tO\nhere\tO\n.\tO\n\n");
        } else {
            let n = names[i % names.len()];
            let p = places[(i / 2) % places.len()];
            out.push_str(&format!(
                "{n}\tB-PER\nworks\tO\nin\tO\n{p}\tB-LOC\n.\tO\n\n"
            ));
        }
    }
    out
}

#[test]
fn tagger_architectures_and_merge_modes_train_and_predict() {
    let dir = scratch("tagger");
    let data = dir.join("ner.conll");
    std::fs::write(&data, corpus(45)).unwrap();
    let plain = dir.join("plain.txt");
    std::fs::write(&plain, "Kim works in Lima .\nthe lamp is here .\n").unwrap();
    for (model, merge) in [
        ("bilstm-attention", "sum"),
        ("cnn-bilstm", "ave"),
        ("bilstm", "mul"),
    ] {
        let out = dir.join(format!("run-{model}-{merge}"));
        let stdout = ok(&xtask(&[
            "train",
            "tagger",
            "--data",
            data.to_str().unwrap(),
            "--model",
            model,
            "--merge",
            merge,
            "--hidden",
            "8",
            "--char-features",
            "6",
            "--epochs",
            "1",
            "--out",
            out.to_str().unwrap(),
        ]));
        assert!(
            stdout.contains(model) && stdout.contains(&format!("merge {merge}")),
            "{stdout}"
        );
        let settings = config(&out);
        assert!(
            settings.contains(&format!("architecture = \"{model}\""))
                && settings.contains(&format!("merge = \"{merge}\"")),
            "{settings}"
        );
        let tagged = ok(&xtask(&[
            "predict",
            out.to_str().unwrap(),
            "--data",
            plain.to_str().unwrap(),
        ]));
        let lines: Vec<&str> = tagged.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 10, "{tagged}");
        assert!(lines[0].starts_with("Kim\t"), "{tagged}");
    }
    // The Transformer encoder: two layers of 2 x --hidden with --heads heads.
    let out = dir.join("run-transformer");
    let stdout = ok(&xtask(&[
        "train",
        "tagger",
        "--data",
        data.to_str().unwrap(),
        "--model",
        "transformer",
        "--hidden",
        "8",
        "--heads",
        "2",
        "--char-features",
        "6",
        "--epochs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(stdout.contains("transformer 2x16 (2 heads)"), "{stdout}");
    assert!(config(&out).contains("architecture = \"transformer\""));
    let tagged = ok(&xtask(&[
        "predict",
        out.to_str().unwrap(),
        "--data",
        plain.to_str().unwrap(),
    ]));
    assert!(tagged.lines().any(|l| l.starts_with("Kim\t")), "{tagged}");
    let err = failure(&xtask(&["train", "tagger", "--model", "mamba"]));
    assert!(
        err.contains("bilstm, bilstm-attention, cnn-bilstm or transformer"),
        "{err}"
    );
    let err = failure(&xtask(&["train", "tagger", "--merge", "none"]));
    assert!(err.contains("--merge none"), "{err}");
}

/// 60 months of a seasonal series with a trend.
fn monthly_csv(dir: &Path) -> PathBuf {
    let mut text = String::from("month,sales\n");
    for t in 0..60 {
        let (year, month) = (2000 + t / 12, t % 12 + 1);
        let season = (2.0 * std::f64::consts::PI * f64::from(t) / 12.0).sin();
        let sales = 100.0 + f64::from(t) + 20.0 * season;
        text.push_str(&format!("{year}-{month:02},{sales}\n"));
    }
    let path = dir.join("sales.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn forecaster_models_train_and_predict() {
    let dir = scratch("forecast");
    let csv = monthly_csv(&dir);
    for (model, cell, architecture) in [
        ("cnn-lstm", None, "cnn-recurrent"),
        ("lstm-attention", Some("gru"), "recurrent-attention"),
        ("ln-lstm", None, "recurrent"),
    ] {
        let out = dir.join(format!("run-{model}"));
        let mut args = vec![
            "train",
            "forecast",
            "--data",
            csv.to_str().unwrap(),
            "--target",
            "sales",
            "--horizon",
            "4",
            "--season",
            "12",
            "--test-size",
            "8",
            "--hidden",
            "8",
            "--epochs",
            "2",
            "--model",
            model,
            "--out",
            out.to_str().unwrap(),
        ];
        if let Some(cell) = cell {
            args.extend(["--cell", cell]);
        }
        ok(&xtask(&args));
        let settings = config(&out);
        assert!(
            settings.contains(&format!("architecture = \"{architecture}\""))
                && settings.contains(&format!(
                    "kind = \"{}\"",
                    cell.unwrap_or(if model == "ln-lstm" {
                        "ln-lstm"
                    } else {
                        "lstm"
                    })
                )),
            "{settings}"
        );
        let forecast = ok(&xtask(&["predict", out.to_str().unwrap()]));
        let rows: Vec<&str> = forecast
            .lines()
            .filter(|l| l.starts_with("2005-"))
            .collect();
        assert_eq!(rows.len(), 4, "{forecast}");
    }
    let err = failure(&xtask(&[
        "train",
        "forecast",
        "--model",
        "cnn-lstm",
        "--mode",
        "autoregressive",
    ]));
    assert!(err.contains("--mode direct"), "{err}");
    let err = failure(&xtask(&[
        "train", "forecast", "--model", "gru", "--cell", "lstm",
    ]));
    assert!(err.contains("disagree"), "{err}");
}

#[test]
fn help_lists_the_choices() {
    let help = ok(&xtask(&["train", "tagger", "--help"]));
    assert!(
        help.contains("bilstm-attention") && help.contains("cnn-bilstm"),
        "{help}"
    );
    assert!(help.contains("concat, sum, mul or ave"), "{help}");
    let help = ok(&xtask(&["train", "forecast", "--help"]));
    assert!(
        help.contains("cnn-lstm") && help.contains("lstm-attention"),
        "{help}"
    );
    let help = ok(&xtask(&["train", "char-lm", "--help"]));
    assert!(
        help.contains("--residual") && help.contains("--recurrent-dropout"),
        "{help}"
    );
    assert!(help.contains("ln-lstm"), "{help}");
}

#[test]
fn compare_measures_every_network_and_writes_its_report() {
    let dir = scratch("compare");
    let stdout = ok(&xtask(&[
        "compare",
        "--quick",
        "--steps",
        "2",
        "--hidden",
        "8",
        "--models",
        "rnn,gru,transformer",
        "--char-lm-data",
        "none",
        "--out",
        dir.to_str().unwrap(),
    ]));
    assert!(
        stdout.contains("| SimpleRNN |") && stdout.contains("| Transformer |"),
        "{stdout}"
    );
    let md = std::fs::read_to_string(dir.join("compare.md")).unwrap();
    assert!(md.contains("cargo xtask compare --quick"), "{md}");
    for png in [
        "compare_adding.png",
        "compare_copy.png",
        "compare_curves.png",
    ] {
        assert!(dir.join(png).is_file(), "{png}");
    }
    let err = failure(&xtask(&["compare", "--models", "lstm,mamba"]));
    assert!(err.contains("mamba"), "{err}");
}
