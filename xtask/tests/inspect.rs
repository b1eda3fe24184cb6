//! `cargo xtask inspect` as a user runs it: the report of each bundled dataset, and
//! `FILE:LINE: what is wrong` with a non-zero exit on broken files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn inspect(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("inspect")
        .args(args)
        .current_dir(root())
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn reports_the_bundled_datasets() {
    let out = inspect(&["data/ts_co2_weekly_maunaloa.csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("2284 rows") && text.contains("59"), "{text}");

    let out = inspect(&["data/text_shakespeare_hamlet.txt"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("65 distinct"), "{}", stdout(&out));

    let out = inspect(&[
        "--format",
        "conll",
        "crates/recurrent-data/tests/fixtures/conll/pos_sample.tsv",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("sentences"), "{}", stdout(&out));
}

#[test]
fn broken_files_fail_with_file_and_line() {
    let cases = [
        (
            "crates/recurrent-data/tests/fixtures/series/ragged.csv",
            "ragged.csv:4:",
        ),
        (
            "crates/recurrent-data/tests/fixtures/conll/missing_tag.conll",
            "missing_tag.conll:4:",
        ),
        (
            "crates/recurrent-data/tests/fixtures/conll/empty.conll",
            "empty.conll: the file is empty",
        ),
    ];
    for (file, expected) in cases {
        let out = inspect(&[file]);
        assert_eq!(out.status.code(), Some(1), "{file}");
        let err = stderr(&out);
        assert!(
            err.starts_with("error: ") && err.contains(expected),
            "{file}: {err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{err}"
        );
    }
    let out = inspect(&["Cargo.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--format"), "{}", stderr(&out));
}
