//! CoNLL-style sequence-labelling files: one token per line with its columns (token first,
//! tag last in the usual layout), blank lines between sentences.
//!
//! ```text
//! -DOCSTART- -X- -X- O
//!
//! EU NNP B-NP B-ORG
//! rejects VBZ B-VP O
//! German JJ B-NP B-MISC
//! ```
//!
//! [`read_conll`] / [`parse_conll`] read such files into [`Sentence`]s, [`write_conll`] /
//! [`format_conll`] write them back (tab-separated) so that writing and reading again gives
//! the same sentences, and [`split_sentences`] splits them by position into train, validation
//! and test. Every problem in a file is reported as `FILE:LINE` (and field, where one is at
//! fault); nothing in a file makes these functions panic.

use std::path::Path;

use crate::error::{DataError, Location, Result};
use crate::split::SplitFractions;

/// The first column of a document separator line (CoNLL-2003), which is skipped.
pub const DOCSTART: &str = "-DOCSTART-";

/// One sentence of a CoNLL file: its tokens, their tags and their other columns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sentence {
    /// The tokens, in order.
    pub tokens: Vec<String>,
    /// One tag per token.
    pub tags: Vec<String>,
    /// One entry per token: the columns of its line other than the token's and the tag's, in
    /// file order (for the usual layout, the columns between the token and the tag; e.g.
    /// `["NNP", "B-NP"]` for `EU NNP B-NP B-ORG`). Always as long as `tokens`; the inner
    /// vectors are empty for a two-column file.
    pub extra: Vec<Vec<String>>,
    /// The 1-based line of the first token in the file it was read from; 0 for a sentence
    /// built in memory.
    pub line: usize,
}

impl Sentence {
    /// A sentence built in memory (line 0) with no extra columns: `extra` is one empty
    /// vector per token.
    pub fn new(tokens: Vec<String>, tags: Vec<String>) -> Self {
        let extra = vec![Vec::new(); tokens.len()];
        Self {
            tokens,
            tags,
            extra,
            line: 0,
        }
    }

    /// The number of tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the sentence has no tokens (never the case for one read from a file).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

/// How to read the columns of a CoNLL file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConllOptions {
    /// 0-based column of the tag; `None` (the default) for the last column.
    pub tag_column: Option<usize>,
    /// 0-based column of the token; 0 by default.
    pub token_column: usize,
    /// Skip comment lines: lines starting with `#` before the first token of a sentence
    /// (CoNLL-U `# sent_id = …` / `# text = …`). A `#` line inside a sentence is a token
    /// line (a `#` token). On by default.
    pub skip_comments: bool,
}

impl Default for ConllOptions {
    /// Token in column 0, tag in the last column, comments skipped.
    fn default() -> Self {
        Self {
            tag_column: None,
            token_column: 0,
            skip_comments: true,
        }
    }
}

/// Reads the CoNLL file at `path`; see [`parse_conll`] for the format and the errors.
pub fn read_conll(path: &Path, options: &ConllOptions) -> Result<Vec<Sentence>> {
    let bytes = crate::io::read_bytes(path)?;
    parse_conll(path, &bytes, options)
}

/// Parses CoNLL-formatted `bytes`; `path_for_errors` only names the input in errors (use
/// [`crate::error::IN_MEMORY`] for data that did not come from a file).
///
/// The format: one token per line; the columns of a line are separated by tabs if the line
/// holds a tab (fields are then trimmed of spaces), otherwise by runs of spaces. Blank
/// (whitespace-only) lines separate sentences, any number of them. Lines whose first column
/// is `-DOCSTART-` are skipped and end the current sentence. With
/// [`ConllOptions::skip_comments`], `#` lines before a sentence are skipped. CRLF line endings,
/// a leading byte-order mark and a missing final newline are fine.
///
/// Errors, each naming the line (and the 1-based field where one is at fault):
/// - invalid UTF-8 ([`DataError::Utf8`], line and byte column);
/// - an empty or whitespace-only input ([`DataError::Empty`]), or one with no token lines;
/// - a token line with a single column (`token "x" has no tag`);
/// - a line with a different number of columns than the first token line
///   (`expected N columns like line L, found M`);
/// - an empty token or tag (possible with tab separators);
/// - a `token_column` / `tag_column` beyond the columns of the first token line, or the
///   last column (`tag_column: None`) being the token column; options naming the same column
///   for both are [`DataError::Invalid`] before anything is read.
pub fn parse_conll(
    path_for_errors: &Path,
    bytes: &[u8],
    options: &ConllOptions,
) -> Result<Vec<Sentence>> {
    let path = path_for_errors;
    if options.tag_column == Some(options.token_column) {
        return Err(DataError::invalid(
            "CoNLL columns",
            format!(
                "the token and the tag cannot both be column {}",
                options.token_column
            ),
        ));
    }
    let text = crate::io::text_from_bytes(path, bytes.to_vec())?;

    let mut sentences = Vec::new();
    let mut current = Sentence::default();
    // Column count of the first token line of the file, and that line.
    let mut layout: Option<(usize, usize)> = None;

    for (index, raw) in text.split('\n').enumerate() {
        let line_no = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            finish(&mut sentences, &mut current);
            continue;
        }
        if options.skip_comments && current.is_empty() && line.starts_with('#') {
            continue;
        }
        let fields = split_fields(line);
        if fields.first() == Some(&DOCSTART) {
            finish(&mut sentences, &mut current);
            continue;
        }
        let at = |column: usize| Location::at(path, line_no, column);
        let [token_field, tag_field] = match fields.as_slice() {
            [only] => {
                return Err(DataError::parse(
                    Location::line(path, line_no),
                    format!("token {only:?} has no tag"),
                ));
            }
            _ => match layout {
                Some((columns, first_line)) if columns != fields.len() => {
                    return Err(DataError::parse(
                        Location::line(path, line_no),
                        format!(
                            "expected {columns} columns like line {first_line}, found {}",
                            fields.len()
                        ),
                    ));
                }
                Some(_) => columns_of(options, fields.len()),
                None => {
                    let columns = columns_of(options, fields.len());
                    check_columns(path, line_no, options, fields.len())?;
                    layout = Some((fields.len(), line_no));
                    columns
                }
            },
        };
        let (Some(token), Some(tag)) = (fields.get(token_field), fields.get(tag_field)) else {
            // Unreachable: check_columns and the column-count check guarantee both fields.
            return Err(DataError::parse(
                Location::line(path, line_no),
                "token or tag column missing",
            ));
        };
        if token.is_empty() {
            return Err(DataError::parse(at(token_field + 1), "empty token"));
        }
        if tag.is_empty() {
            return Err(DataError::parse(
                at(tag_field + 1),
                format!("token {token:?} has an empty tag"),
            ));
        }
        if current.is_empty() {
            current.line = line_no;
        }
        current.tokens.push((*token).to_owned());
        current.tags.push((*tag).to_owned());
        current.extra.push(
            fields
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != token_field && *i != tag_field)
                .map(|(_, field)| (*field).to_owned())
                .collect(),
        );
    }
    finish(&mut sentences, &mut current);

    if sentences.is_empty() {
        return Err(DataError::parse(
            Location::file(path),
            "no tokens: the file holds only blank lines, comments and -DOCSTART- lines",
        ));
    }
    Ok(sentences)
}

/// Pushes `current` onto `sentences` if it has tokens, and starts a new one.
fn finish(sentences: &mut Vec<Sentence>, current: &mut Sentence) {
    if !current.is_empty() {
        sentences.push(std::mem::take(current));
    }
}

/// The fields of a non-blank line: tab-separated (trimmed of spaces) if it holds a tab,
/// otherwise separated by runs of spaces.
fn split_fields(line: &str) -> Vec<&str> {
    if line.contains('\t') {
        line.split('\t')
            .map(|field| field.trim_matches(' '))
            .collect()
    } else {
        line.split(' ').filter(|field| !field.is_empty()).collect()
    }
}

/// The 0-based `[token, tag]` columns for a line of `count` columns (`count >= 1`).
fn columns_of(options: &ConllOptions, count: usize) -> [usize; 2] {
    [
        options.token_column,
        options.tag_column.unwrap_or(count.saturating_sub(1)),
    ]
}

/// Checks that the requested token and tag columns exist in a line of `count` columns.
fn check_columns(path: &Path, line_no: usize, options: &ConllOptions, count: usize) -> Result<()> {
    let [token, tag] = columns_of(options, count);
    for (what, column) in [("token", token), ("tag", tag)] {
        if column >= count {
            return Err(DataError::parse(
                Location::line(path, line_no),
                format!(
                    "the {what} column is column {} (0-based {column}), but this line has \
                     only {count} columns",
                    column + 1
                ),
            ));
        }
    }
    if token == tag {
        return Err(DataError::parse(
            Location::line(path, line_no),
            format!(
                "the token column {token} (0-based) is also the tag column: this line has \
                 {count} column(s)"
            ),
        ));
    }
    Ok(())
}

/// Writes `sentences` to `path` atomically in the format of [`format_conll`].
pub fn write_conll(path: &Path, sentences: &[Sentence]) -> Result<()> {
    let text = format_conll(sentences)?;
    crate::io::write_atomic(path, text.as_bytes())
}

/// Formats `sentences` as CoNLL text: one `token<TAB>extra…<TAB>tag` line per token, a blank
/// line after each sentence. [`parse_conll`] with the default options reads the result back
/// into the same tokens, tags and extra columns (the `line` fields are those of the new text).
///
/// Refused ([`DataError::Invalid`]), since they would not read back the same: an empty
/// sentence; `tokens`, `tags` and `extra` of different lengths; tokens with different numbers
/// of extra columns (within and across sentences); a token, tag or extra field that is empty,
/// holds a tab, a line break or a byte-order mark, or starts or ends with whitespace; a token
/// equal to `-DOCSTART-`; and a sentence whose first token starts with `#` (a reader that skips
/// comments would drop it).
pub fn format_conll(sentences: &[Sentence]) -> Result<String> {
    let mut out = String::new();
    let mut extra_columns: Option<usize> = None;
    for (number, sentence) in sentences.iter().enumerate() {
        let which = || describe(number, sentence);
        if sentence.is_empty() {
            return Err(DataError::invalid(
                "CoNLL sentence",
                format!("{} has no tokens", which()),
            ));
        }
        if sentence.tags.len() != sentence.tokens.len()
            || sentence.extra.len() != sentence.tokens.len()
        {
            return Err(DataError::invalid(
                "CoNLL sentence",
                format!(
                    "{} has {} tokens, {} tags and {} extra-column entries; they must match",
                    which(),
                    sentence.tokens.len(),
                    sentence.tags.len(),
                    sentence.extra.len()
                ),
            ));
        }
        if let Some(first) = sentence.tokens.first()
            && first.starts_with('#')
        {
            return Err(DataError::invalid(
                "CoNLL token",
                format!(
                    "{} starts with token {first:?}, which readers that skip comments would \
                     drop as a comment line",
                    which()
                ),
            ));
        }
        for (i, ((token, tag), extra)) in sentence
            .tokens
            .iter()
            .zip(&sentence.tags)
            .zip(&sentence.extra)
            .enumerate()
        {
            let expected = *extra_columns.get_or_insert(extra.len());
            if extra.len() != expected {
                return Err(DataError::invalid(
                    "CoNLL sentence",
                    format!(
                        "token {} of {} has {} extra column(s), earlier tokens have {expected}",
                        i + 1,
                        which(),
                        extra.len()
                    ),
                ));
            }
            if token == DOCSTART {
                return Err(DataError::invalid(
                    "CoNLL token",
                    format!(
                        "token {} of {} is {DOCSTART:?}, which readers skip",
                        i + 1,
                        which()
                    ),
                ));
            }
            check_field("CoNLL token", "token", token, i, &which)?;
            for field in extra {
                check_field("CoNLL column", "extra column", field, i, &which)?;
            }
            check_field("CoNLL tag", "tag", tag, i, &which)?;
            out.push_str(token);
            for field in extra {
                out.push('\t');
                out.push_str(field);
            }
            out.push('\t');
            out.push_str(tag);
            out.push('\n');
        }
        out.push('\n');
    }
    Ok(out)
}

/// `sentence 3 (line 12)` or `sentence 3`, 1-based.
fn describe(number: usize, sentence: &Sentence) -> String {
    if sentence.line > 0 {
        format!("sentence {} (line {})", number + 1, sentence.line)
    } else {
        format!("sentence {}", number + 1)
    }
}

/// Refuses a field that would not read back the same.
fn check_field(
    what: &'static str,
    name: &str,
    field: &str,
    token: usize,
    which: &dyn Fn() -> String,
) -> Result<()> {
    let problem = if field.is_empty() {
        "is empty"
    } else if field.contains(['\t', '\n', '\r']) {
        "holds a tab or a line break"
    } else if field.starts_with(char::is_whitespace) || field.ends_with(char::is_whitespace) {
        "starts or ends with whitespace"
    } else if field.contains('\u{feff}') {
        "holds a byte-order mark"
    } else {
        return Ok(());
    };
    Err(DataError::invalid(
        what,
        format!(
            "the {name} {field:?} of token {} of {} {problem}",
            token + 1,
            which()
        ),
    ))
}

/// Splits sentences by position into `[train, valid, test]` with
/// [`SplitFractions::ranges`]: the first sentences train, the next validate, the last test
/// (no shuffling, so documents stay together and nothing later leaks into training).
pub fn split_sentences(
    mut sentences: Vec<Sentence>,
    fractions: &SplitFractions,
) -> Result<[Vec<Sentence>; 3]> {
    let [train, valid, _] = fractions.ranges(sentences.len())?;
    let test = sentences.split_off(valid.end);
    let valid = sentences.split_off(train.end);
    Ok([sentences, valid, test])
}
