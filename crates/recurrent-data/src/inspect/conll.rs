//! What a CoNLL sequence-labelling file holds, before training on it: sentences, tokens,
//! columns, the tag set with counts, whether it is BIO, and how long the sentences are.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::conll::{ConllOptions, Sentence, parse_conll};
use crate::error::Result;
use crate::tags::TagVocab;

/// How often a tag occurs.
#[derive(Debug, Clone, PartialEq)]
pub struct TagCount {
    /// The tag.
    pub tag: String,
    /// Its number of tokens.
    pub count: usize,
    /// Its share of all tokens, in percent.
    pub percent: f64,
}

/// The distribution of sentence lengths, in tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct LengthStats {
    /// The shortest sentence.
    pub min: usize,
    /// The median (the mean of the two middle lengths for an even count).
    pub median: f64,
    /// The mean.
    pub mean: f64,
    /// The 90th percentile (nearest rank: the smallest length at least 90% of the sentences
    /// do not exceed).
    pub p90: usize,
    /// The longest sentence.
    pub max: usize,
}

impl LengthStats {
    /// The statistics of `lengths`; `None` if there are none.
    pub fn of(lengths: &[usize]) -> Option<Self> {
        let mut sorted = lengths.to_vec();
        sorted.sort_unstable();
        let n = sorted.len();
        let (&min, &max) = (sorted.first()?, sorted.last()?);
        let median = if n % 2 == 1 {
            sorted[n / 2] as f64
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) as f64 / 2.0
        };
        let mean = sorted.iter().sum::<usize>() as f64 / n as f64;
        // Nearest rank: ceil(0.9 n), 1-based.
        let rank = (9 * n).div_ceil(10).max(1);
        let p90 = sorted[rank - 1];
        Some(Self {
            min,
            median,
            mean,
            p90,
            max,
        })
    }
}

/// What [`inspect_conll`] found in a CoNLL file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConllReport {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: usize,
    /// The number of sentences.
    pub sentences: usize,
    /// The number of tokens.
    pub tokens: usize,
    /// The number of distinct tokens (case-sensitive).
    pub distinct_tokens: usize,
    /// The number of columns of a token line (token, extra columns, tag).
    pub columns: usize,
    /// Each tag with its count, most frequent first (ties alphabetically).
    pub tags: Vec<TagCount>,
    /// Whether the tags look like BIO (see [`TagVocab::is_bio`]).
    pub is_bio: bool,
    /// Sentence lengths in tokens.
    pub lengths: LengthStats,
}

/// Reads the CoNLL file at `path` with the default [`ConllOptions`] (token first, tag last)
/// and reports what it holds; errors are those of [`parse_conll`].
pub fn inspect_conll(path: &Path) -> Result<ConllReport> {
    inspect_conll_with(path, &ConllOptions::default())
}

/// [`inspect_conll`] with explicit column options.
pub fn inspect_conll_with(path: &Path, options: &ConllOptions) -> Result<ConllReport> {
    let bytes = crate::io::read_bytes(path)?;
    let sentences = parse_conll(path, &bytes, options)?;
    Ok(report(path, bytes.len(), &sentences))
}

/// The report on `sentences` read from `path` (`bytes` long). `sentences` is not empty
/// (parse_conll guarantees it); an empty slice gives zero lengths.
fn report(path: &Path, bytes: usize, sentences: &[Sentence]) -> ConllReport {
    let tokens: usize = sentences.iter().map(Sentence::len).sum();
    let distinct_tokens = sentences
        .iter()
        .flat_map(|sentence| &sentence.tokens)
        .collect::<HashSet<_>>()
        .len();
    let columns = sentences
        .first()
        .and_then(|sentence| sentence.extra.first())
        .map_or(2, |extra| extra.len() + 2);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for tag in sentences.iter().flat_map(|sentence| &sentence.tags) {
        *counts.entry(tag).or_default() += 1;
    }
    let mut tags: Vec<TagCount> = counts
        .into_iter()
        .map(|(tag, count)| TagCount {
            tag: tag.to_owned(),
            count,
            percent: 100.0 * count as f64 / tokens.max(1) as f64,
        })
        .collect();
    tags.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.tag.cmp(&b.tag)));
    let is_bio = TagVocab::from_tags(tags.iter().map(|t| &t.tag)).is_bio();
    let lengths: Vec<usize> = sentences.iter().map(Sentence::len).collect();
    let lengths = LengthStats::of(&lengths).unwrap_or(LengthStats {
        min: 0,
        median: 0.0,
        mean: 0.0,
        p90: 0,
        max: 0,
    });
    ConllReport {
        path: path.to_path_buf(),
        bytes,
        sentences: sentences.len(),
        tokens,
        distinct_tokens,
        columns,
        tags,
        is_bio,
        lengths,
    }
}

impl fmt::Display for ConllReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = &self.lengths;
        writeln!(
            f,
            "file        {} ({} bytes)",
            self.path.display(),
            self.bytes
        )?;
        writeln!(
            f,
            "format      CoNLL, {} columns per token line",
            self.columns
        )?;
        writeln!(f, "sentences   {}", self.sentences)?;
        writeln!(
            f,
            "tokens      {} ({} distinct)",
            self.tokens, self.distinct_tokens
        )?;
        writeln!(
            f,
            "length      min {}, median {:.1}, mean {:.1}, 90th percentile {}, max {}",
            l.min, l.median, l.mean, l.p90, l.max
        )?;
        let bio = if self.is_bio {
            "yes"
        } else {
            "no (entity-level scores need O, B-TYPE and I-TYPE tags)"
        };
        writeln!(f, "BIO tags    {bio}")?;
        writeln!(f, "tags        {}", self.tags.len())?;
        let tag_width = self.tags.iter().map(|t| t.tag.chars().count()).max();
        let count_width = self.tags.iter().map(|t| t.count.to_string().len()).max();
        for t in &self.tags {
            writeln!(
                f,
                "  {:<tw$}  {:>cw$}  {:>5.1}%",
                t.tag,
                t.count,
                t.percent,
                tw = tag_width.unwrap_or(0),
                cw = count_width.unwrap_or(0),
            )?;
        }
        Ok(())
    }
}
