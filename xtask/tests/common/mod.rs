//! What the xtask integration tests share: running the built binary as a user would, and
//! the small data files the runs train on.
// Each test binary includes this module and uses part of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs `cargo xtask ARGS` (the built binary) from the workspace root, without backtraces.
pub fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

/// 60 months from 2000-01 to 2004-12 of a seasonal series with a trend (`sales`) and a
/// covariate (`price`), as CSV with a `month` date column.
pub fn monthly_sales_csv() -> String {
    let mut text = String::from("month,sales,price\n");
    for t in 0..60 {
        let (year, month) = (2000 + t / 12, t % 12 + 1);
        let season = (2.0 * std::f64::consts::PI * f64::from(t) / 12.0).sin();
        let sales = 100.0 + f64::from(t) + 20.0 * season + f64::from(t * 7 % 5);
        let price = 10.0 + f64::from(t % 4);
        text.push_str(&format!("{year}-{month:02},{sales},{price}\n"));
    }
    text
}

/// A small BIO corpus in CoNLL form: `NAME Silva works in PLACE .` and `the WORD is here .`
/// sentences.
pub fn bio_corpus(sentences: usize) -> String {
    let names = ["Ana", "Bo", "Kim", "Lars", "Mia", "Olu", "Pia", "Raj"];
    let places = ["Oslo", "Lima", "Quito", "Accra"];
    let words = ["cat", "map", "lamp", "door", "book"];
    let mut out = String::new();
    for i in 0..sentences {
        if i % 3 == 2 {
            let w = words[i % words.len()];
            out.push_str(&format!("the\tO\n{w}\tO\nis\tO\nhere\tO\n.\tO\n\n"));
        } else {
            let n = names[i % names.len()];
            let p = places[(i / 2) % places.len()];
            out.push_str(&format!(
                "{n}\tB-PER\nSilva\tI-PER\nworks\tO\nin\tO\n{p}\tB-LOC\n.\tO\n\n"
            ));
        }
    }
    out
}

/// `pairs` lines of `word<TAB>reversed word` over ten short words of a, b, c, d.
pub fn reversal_pairs(pairs: usize) -> String {
    let words = [
        "abc", "abd", "bca", "cab", "dab", "bad", "cad", "dcba", "abcd", "bcda",
    ];
    let mut text = String::new();
    for i in 0..pairs {
        let w = words[i % words.len()];
        text.push_str(&format!("{w}\t{}\n", w.chars().rev().collect::<String>()));
    }
    text
}
