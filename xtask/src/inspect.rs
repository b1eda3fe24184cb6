//! `cargo xtask inspect FILE [--format csv|text|conll]`: what a data file holds, before
//! training on it. Malformed input exits non-zero with `FILE:LINE: what is wrong`.

use std::path::Path;

use anyhow::{Result, bail};
use clap::ValueEnum;
use recurrent::data::inspect::{conll::inspect_conll, csv::inspect_csv, text::inspect_text};

/// File formats `inspect` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header row (time series, tables).
    Csv,
    /// Plain UTF-8 text (language modelling).
    Text,
    /// One `token<TAB>tag` per line, blank line between sentences.
    Conll,
}

impl Format {
    /// The format of `path` from its extension.
    pub fn guess(path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        Ok(match ext.as_str() {
            "csv" => Format::Csv,
            "txt" | "text" | "md" => Format::Text,
            "conll" | "conllu" | "tsv" | "iob" | "bio" => Format::Conll,
            _ => bail!(
                "{}: cannot tell the format from the extension {ext:?}; pass --format csv|text|conll",
                path.display()
            ),
        })
    }
}

/// Prints the report of `path` in `format` (guessed from the extension when `None`). On
/// malformed input it prints `error: FILE:LINE: what is wrong` and exits with status 1.
pub fn run(path: &Path, format: Option<Format>) -> Result<()> {
    if let Err(err) = report(path, format) {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
    Ok(())
}

fn report(path: &Path, format: Option<Format>) -> Result<()> {
    let format = match format {
        Some(format) => format,
        None => Format::guess(path)?,
    };
    // The data errors already read `FILE:LINE: what is wrong`.
    let report = match format {
        Format::Csv => inspect_csv(path).map(|r| r.to_string()),
        Format::Text => inspect_text(path).map(|r| r.to_string()),
        Format::Conll => inspect_conll(path).map(|r| r.to_string()),
    };
    match report {
        Ok(report) => {
            println!("{report}");
            Ok(())
        }
        Err(err) => bail!("{err}"),
    }
}
