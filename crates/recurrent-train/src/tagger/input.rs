//! Files to tag: CoNLL (one token per line, columns, blank lines between sentences; a tag
//! column may or may not be there) or plain text (one sentence per line, tokens separated by
//! whitespace), and the tagged output (`token<TAB>tag` lines, blank lines between
//! sentences).

use std::io::Write;
use std::path::Path;

use recurrent_data::{DataError, Location};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// The layout of a file to tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    /// One token per line (its first column), blank lines between sentences.
    Conll,
    /// One sentence per line, whitespace-separated tokens.
    Text,
}

impl InputFormat {
    /// The format of `path` by its extension: `.txt` / `.text` is text; `.conll`,
    /// `.conllu`, `.tsv`, `.iob`, `.bio`, `.bioes`, `.ner`, `.pos` are CoNLL; any other
    /// file is CoNLL when a line holds a tab, else text.
    pub fn guess(path: &Path, text: &str) -> Self {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        match ext.as_str() {
            "txt" | "text" => Self::Text,
            "conll" | "conllu" | "tsv" | "iob" | "bio" | "bioes" | "ner" | "pos" => Self::Conll,
            _ if text.contains('\t') => Self::Conll,
            _ => Self::Text,
        }
    }
}

/// One sentence of a file to tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSentence {
    /// The tokens.
    pub tokens: Vec<String>,
    /// For CoNLL input, the columns of each token's line (the token first); empty for text.
    pub columns: Vec<Vec<String>>,
    /// The 1-based line of the first token.
    pub line: usize,
}

/// The sentences of a file to tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggingInput {
    /// How the file was read.
    pub format: InputFormat,
    /// Its sentences, in order.
    pub sentences: Vec<InputSentence>,
}

/// Reads the file to tag at `path` in `format` (guessed with [`InputFormat::guess`] when
/// `None`).
///
/// CoNLL: lines are split at tabs when they hold one, else at runs of spaces; `#` lines
/// before a sentence and `-DOCSTART-` lines are skipped; every token line of the file must
/// have the same number of columns. Text: each non-blank line is a sentence.
///
/// Errors: a missing or unreadable file, invalid UTF-8 (`FILE:LINE:COLUMN`), an empty file,
/// a CoNLL line with another number of columns than the first (`FILE:LINE`), or a file with
/// no token.
pub fn read_tagging_input(path: &Path, format: Option<InputFormat>) -> Result<TaggingInput> {
    let text = recurrent_data::io::read_text(path)?;
    let format = format.unwrap_or_else(|| InputFormat::guess(path, &text));
    let mut sentences = Vec::new();
    match format {
        InputFormat::Text => {
            for (index, line) in text.lines().enumerate() {
                let tokens: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
                if !tokens.is_empty() {
                    sentences.push(InputSentence {
                        tokens,
                        columns: Vec::new(),
                        line: index + 1,
                    });
                }
            }
        }
        InputFormat::Conll => {
            let mut current: Option<InputSentence> = None;
            let mut layout: Option<(usize, usize)> = None;
            for (index, raw) in text.split('\n').enumerate() {
                let line_no = index + 1;
                let line = raw.strip_suffix('\r').unwrap_or(raw);
                if line.trim().is_empty() {
                    sentences.extend(current.take());
                    continue;
                }
                if current.is_none() && line.starts_with('#') {
                    continue;
                }
                let fields: Vec<String> = if line.contains('\t') {
                    line.split('\t')
                        .map(|f| f.trim_matches(' ').to_owned())
                        .collect()
                } else {
                    line.split(' ')
                        .filter(|f| !f.is_empty())
                        .map(str::to_owned)
                        .collect()
                };
                if fields.first().map(String::as_str) == Some(recurrent_data::conll::DOCSTART) {
                    sentences.extend(current.take());
                    continue;
                }
                match layout {
                    Some((columns, first)) if columns != fields.len() => {
                        return Err(DataError::parse(
                            Location::line(path, line_no),
                            format!(
                                "expected {columns} columns like line {first}, found {}",
                                fields.len()
                            ),
                        )
                        .into());
                    }
                    Some(_) => {}
                    None => layout = Some((fields.len(), line_no)),
                }
                if fields[0].is_empty() {
                    return Err(
                        DataError::parse(Location::at(path, line_no, 1), "empty token").into(),
                    );
                }
                let sentence = current.get_or_insert_with(|| InputSentence {
                    tokens: Vec::new(),
                    columns: Vec::new(),
                    line: line_no,
                });
                sentence.tokens.push(fields[0].clone());
                sentence.columns.push(fields);
            }
            sentences.extend(current.take());
        }
    }
    if sentences.is_empty() {
        return Err(TrainError::invalid(
            "input",
            format!("{}: no tokens to tag", path.display()),
        ));
    }
    Ok(TaggingInput { format, sentences })
}

/// Writes `tags` (one list per sentence of `input`) as `token<TAB>tag` lines with a blank
/// line after each sentence. CoNLL lines keep their columns: with two or more, the tag
/// column (`tag_column`, or the last when `None`) is replaced by the prediction; a line of
/// one column gets the prediction added.
///
/// Errors: tag lists that do not match the sentences, or a failed write.
pub fn write_tagged(
    out: &mut impl Write,
    input: &TaggingInput,
    tags: &[Vec<String>],
    tag_column: Option<usize>,
) -> Result<()> {
    if tags.len() != input.sentences.len() {
        return Err(TrainError::LengthMismatch {
            what: "tagged output: sentences vs tag lists",
            left: input.sentences.len(),
            right: tags.len(),
        });
    }
    let io = |source| TrainError::Io {
        path: "<stdout>".into(),
        source,
    };
    for (sentence, tags) in input.sentences.iter().zip(tags) {
        if tags.len() != sentence.tokens.len() {
            return Err(TrainError::invalid(
                "tagged output",
                format!(
                    "line {}: {} tokens but {} tags",
                    sentence.line,
                    sentence.tokens.len(),
                    tags.len()
                ),
            ));
        }
        for (i, (token, tag)) in sentence.tokens.iter().zip(tags).enumerate() {
            match sentence.columns.get(i) {
                Some(columns) if columns.len() >= 2 => {
                    let at = tag_column
                        .filter(|&c| c > 0 && c < columns.len())
                        .unwrap_or(columns.len() - 1);
                    let mut columns = columns.clone();
                    columns[at] = tag.clone();
                    writeln!(out, "{}", columns.join("\t")).map_err(io)?;
                }
                _ => writeln!(out, "{token}\t{tag}").map_err(io)?,
            }
        }
        writeln!(out).map_err(io)?;
    }
    Ok(())
}

/// The gold tags of a CoNLL input whose every line has a tag column (`tag_column`, or the
/// last column), for scoring a prediction; `None` for text or one-column files.
pub fn gold_tags(input: &TaggingInput, tag_column: Option<usize>) -> Option<Vec<Vec<String>>> {
    if input.format != InputFormat::Conll {
        return None;
    }
    input
        .sentences
        .iter()
        .map(|sentence| {
            sentence
                .columns
                .iter()
                .map(|columns| {
                    if columns.len() < 2 {
                        return None;
                    }
                    let at = tag_column.unwrap_or(columns.len() - 1);
                    (at > 0).then(|| columns.get(at).cloned()).flatten()
                })
                .collect()
        })
        .collect()
}
