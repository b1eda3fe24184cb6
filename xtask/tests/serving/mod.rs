//! What the server's tests share: five small runs trained once per test binary with the
//! built `cargo xtask` (a char-lm, a copy of it with every weight NaN, a forecaster with a
//! covariate, a tagger and a seq2seq model), and the app that serves them.
// Two test binaries include this module; each uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use recurrent::backend::Backend;
use recurrent_serve::App;

pub use super::common::xtask;
use super::common::{bio_corpus, monthly_sales_csv, reversal_pairs};

/// The runs' directories (their names are what requests give as `model`).
pub struct Runs {
    /// The scratch directory holding the data and the runs.
    pub root: PathBuf,
    /// char-lm on a small text, served as `lm`.
    pub lm: PathBuf,
    /// The same char-lm with every weight NaN, served as `lm-nan`.
    pub lm_nan: PathBuf,
    /// A forecaster of `sales` with the covariate `price`, horizon 4, served as `sales`.
    pub sales: PathBuf,
    /// A BIO tagger, served as `ner`.
    pub ner: PathBuf,
    /// A seq2seq model that reverses short words, served as `rev`.
    pub rev: PathBuf,
}

/// The text the char-lm learns.
pub const LM_TEXT: &str = "the quick brown fox jumps over the lazy dog.\n";

fn train(args: &[&str]) {
    let run = xtask(args);
    assert!(
        run.status.success(),
        "cargo xtask {}:\n{}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}

/// A copy of the run `from` in `to` whose `model.safetensors` holds NaN for every weight
/// (the safetensors header kept, every data byte 0xFF: a NaN in f32).
fn nan_copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    let weights = to.join("model.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    let header = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    for b in &mut bytes[8 + header..] {
        *b = 0xFF;
    }
    std::fs::write(&weights, bytes).unwrap();
}

/// The runs, trained on first use (once per test binary).
pub fn runs() -> &'static Runs {
    static RUNS: OnceLock<Runs> = OnceLock::new();
    RUNS.get_or_init(|| {
        let root = std::env::temp_dir().join(format!(
            "recurrent-serve-runs-{}-{}",
            std::process::id(),
            env!("CARGO_CRATE_NAME")
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let path = |name: &str| root.join(name);
        let s = |p: &PathBuf| p.to_str().unwrap().to_owned();

        std::fs::write(path("lm.txt"), LM_TEXT.repeat(40)).unwrap();
        let lm = path("lm");
        train(&[
            "train",
            "char-lm",
            "--data",
            &s(&path("lm.txt")),
            "--hidden",
            "16",
            "--seq-len",
            "20",
            "--epochs",
            "2",
            "--length",
            "10",
            "--out",
            &s(&lm),
        ]);
        let lm_nan = path("lm-nan");
        nan_copy(&lm, &lm_nan);

        std::fs::write(path("sales.csv"), monthly_sales_csv()).unwrap();
        let sales = path("sales");
        train(&[
            "train",
            "forecast",
            "--data",
            &s(&path("sales.csv")),
            "--target",
            "sales",
            "--covariates",
            "price",
            "--horizon",
            "4",
            "--season",
            "12",
            "--epochs",
            "2",
            "--hidden",
            "8",
            "--out",
            &s(&sales),
        ]);

        std::fs::write(path("ner.conll"), bio_corpus(60)).unwrap();
        let ner = path("ner");
        train(&[
            "train",
            "tagger",
            "--data",
            &s(&path("ner.conll")),
            "--epochs",
            "2",
            "--hidden",
            "12",
            "--char-features",
            "8",
            "--batch-size",
            "8",
            "--seed",
            "3",
            "--out",
            &s(&ner),
        ]);

        std::fs::write(path("pairs.tsv"), reversal_pairs(120)).unwrap();
        let rev = path("rev");
        train(&[
            "train",
            "seq2seq",
            "--data",
            &s(&path("pairs.tsv")),
            "--epochs",
            "1",
            "--hidden",
            "8",
            "--embed",
            "8",
            "--cell",
            "gru",
            "--out",
            &s(&rev),
        ]);
        Runs {
            root,
            lm,
            lm_nan,
            sales,
            ner,
            rev,
        }
    })
}

/// The app serving every run on flex.
pub fn app() -> App {
    let runs = runs();
    let device = Backend::Flex.device().unwrap();
    App::load(
        &[
            runs.lm.clone(),
            runs.lm_nan.clone(),
            runs.sales.clone(),
            runs.ner.clone(),
            runs.rev.clone(),
        ],
        &device,
        "flex",
    )
    .unwrap()
}
