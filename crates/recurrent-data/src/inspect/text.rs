//! What a plain-text corpus holds: size, lines, characters and words.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::tokenizer::TokenizerKind;

/// Summary of a text file (see [`inspect_text`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TextReport {
    /// The file.
    pub path: PathBuf,
    /// Size in bytes.
    pub bytes: usize,
    /// Number of lines (a last line without a newline counts).
    pub lines: usize,
    /// Lines holding only whitespace.
    pub blank_lines: usize,
    /// Characters (Unicode scalar values).
    pub chars: usize,
    /// Distinct characters, each with its count, most frequent first.
    pub char_counts: Vec<(char, usize)>,
    /// Words (as the word tokenizer cuts them, case kept).
    pub words: usize,
    /// Distinct words.
    pub distinct_words: usize,
    /// Distinct words after lower-casing.
    pub distinct_words_lowercase: usize,
    /// Most frequent words with their counts.
    pub top_words: Vec<(String, usize)>,
    /// The longest line: (1-based line number, characters).
    pub longest_line: (usize, usize),
    /// Whether every byte is ASCII.
    pub ascii: bool,
}

/// Reads `path` as UTF-8 text (invalid UTF-8 or an empty file is an error naming the line)
/// and summarises it.
pub fn inspect_text(path: &Path) -> Result<TextReport> {
    let text = crate::io::read_text(path)?;
    let mut lines = 0;
    let mut blank_lines = 0;
    let mut longest_line = (0, 0);
    for (i, line) in text.lines().enumerate() {
        lines += 1;
        if line.trim().is_empty() {
            blank_lines += 1;
        }
        let n = line.chars().count();
        if n > longest_line.1 {
            longest_line = (i + 1, n);
        }
    }
    let mut chars: HashMap<char, usize> = HashMap::new();
    for c in text.chars() {
        *chars.entry(c).or_default() += 1;
    }
    let mut char_counts: Vec<(char, usize)> = chars.into_iter().collect();
    char_counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut words: HashMap<String, usize> = HashMap::new();
    let mut lower: HashMap<String, ()> = HashMap::new();
    let mut n_words = 0;
    for piece in (TokenizerKind::Word { lowercase: false }).pieces(&text) {
        if !piece.chars().any(char::is_alphanumeric) {
            continue;
        }
        n_words += 1;
        lower.entry(piece.to_lowercase()).or_default();
        *words.entry(piece.into_owned()).or_default() += 1;
    }
    let distinct_words = words.len();
    let mut top_words: Vec<(String, usize)> = words.into_iter().collect();
    top_words.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top_words.truncate(10);
    Ok(TextReport {
        path: path.to_path_buf(),
        bytes: text.len(),
        lines,
        blank_lines,
        chars: text.chars().count(),
        char_counts,
        words: n_words,
        distinct_words,
        distinct_words_lowercase: lower.len(),
        top_words,
        longest_line,
        ascii: text.is_ascii(),
    })
}

fn show(c: char) -> String {
    match c {
        '\n' => "\\n".into(),
        '\t' => "\\t".into(),
        '\r' => "\\r".into(),
        ' ' => "' '".into(),
        c => c.to_string(),
    }
}

impl fmt::Display for TextReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} (text)", self.path.display())?;
        writeln!(f, "  size        {} bytes", self.bytes)?;
        writeln!(
            f,
            "  lines       {} ({} blank); longest line {} with {} characters",
            self.lines, self.blank_lines, self.longest_line.0, self.longest_line.1
        )?;
        writeln!(
            f,
            "  characters  {} total, {} distinct ({})",
            self.chars,
            self.char_counts.len(),
            if self.ascii {
                "all ASCII"
            } else {
                "not all ASCII"
            }
        )?;
        let chars: Vec<String> = self
            .char_counts
            .iter()
            .take(20)
            .map(|(c, n)| format!("{} {}", show(*c), n))
            .collect();
        writeln!(f, "  top chars   {}", chars.join(", "))?;
        writeln!(
            f,
            "  words       {} total, {} distinct ({} lower-cased)",
            self.words, self.distinct_words, self.distinct_words_lowercase
        )?;
        let words: Vec<String> = self
            .top_words
            .iter()
            .map(|(w, n)| format!("{w} {n}"))
            .collect();
        write!(f, "  top words   {}", words.join(", "))
    }
}
