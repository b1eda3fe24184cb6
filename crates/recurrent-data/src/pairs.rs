//! Source/target text pairs for sequence-to-sequence tasks: date normalisation generated
//! from a seed, `source<TAB>target` files, seeded splits, and character vocabularies.
//!
//! ```rust
//! use recurrent_data::pairs::{char_vocab, date_dataset, encode_chars};
//!
//! let [train, valid, test] = date_dataset([800, 100, 100], 7).unwrap();
//! assert_eq!(train[0].target.len(), 10); // ISO: 2019-04-22
//! let vocab = char_vocab(train.iter().map(|p| p.source.as_str())).unwrap();
//! let ids = encode_chars(&vocab, &valid[0].source).unwrap();
//! assert_eq!(ids.len(), valid[0].source.chars().count());
//! # let _ = test;
//! ```

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{Datelike, Duration, NaiveDate};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

use crate::error::{DataError, Location, Result};
use crate::io::read_text;
use crate::split::SplitFractions;
use crate::vocab::{SpecialTokens, Vocab, VocabBuilder};

/// One example: a source text and its target text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// The input.
    pub source: String,
    /// The expected output.
    pub target: String,
}

/// The first and last dates the generator draws from (100 years: 36 524 dates).
const FIRST: (i32, u32, u32) = (1950, 1, 1);
const LAST: (i32, u32, u32) = (2049, 12, 31);

/// Number of human formats [`render_date`] knows.
pub const DATE_FORMATS: usize = 16;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// `1st`, `2nd`, `3rd`, `4th`, ..., `11th`, `12th`, `13th`, `21st`, ...
fn ordinal(day: u32) -> String {
    let suffix = match (day % 10, day % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{day}{suffix}")
}

/// `date` written in human format `format` (`0..DATE_FORMATS`), e.g. for 2019-04-22:
/// `April 22, 2019`, `22 Apr 2019`, `4/22/19`, `Monday, the 22nd of April 2019`, ...
///
/// # Panics
///
/// When `format >= DATE_FORMATS`.
pub fn render_date(date: NaiveDate, format: usize) -> String {
    let (y, m, d) = (date.year(), date.month(), date.day());
    let month = MONTHS[m as usize - 1];
    let mon = &month[..3];
    let weekday = WEEKDAYS[date.weekday().num_days_from_monday() as usize];
    let wd = &weekday[..3];
    let yy = y.rem_euclid(100);
    match format {
        0 => format!("{month} {d}, {y}"),
        1 => format!("{d} {mon} {y}"),
        2 => format!("{m}/{d}/{yy:02}"),
        3 => format!("{weekday}, the {} of {month} {y}", ordinal(d)),
        4 => format!("{d:02}.{m:02}.{y}"),
        5 => format!("{y}/{m:02}/{d:02}"),
        6 => format!("{mon} {d} {y}"),
        7 => format!("{d} {month} {y}"),
        8 => format!(
            "{} {} {d} {y}",
            weekday.to_lowercase(),
            month.to_lowercase()
        ),
        9 => format!("{d:02}-{mon}-{y}"),
        10 => format!("{month} {}, {y}", ordinal(d)),
        11 => format!("{wd}, {d} {mon} {y}"),
        12 => format!("{m:02}/{d:02}/{y}"),
        13 => format!("the {} of {month}, {y}", ordinal(d)),
        14 => format!("{} {d}, {y}", month.to_uppercase()),
        15 => format!("{d} {} {y}", mon.to_lowercase()),
        _ => panic!("date format {format} (there are {DATE_FORMATS})"),
    }
}

/// Every date the generator draws from, in order.
fn all_dates() -> Vec<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(FIRST.0, FIRST.1, FIRST.2).expect("a valid date");
    let last = NaiveDate::from_ymd_opt(LAST.0, LAST.1, LAST.2).expect("a valid date");
    let days = (last - first).num_days();
    (0..=days).map(|k| first + Duration::days(k)).collect()
}

/// Date normalisation examples: human-written dates (one of [`DATE_FORMATS`] formats each,
/// drawn at random) and their ISO form (`2019-04-22`), `sizes` = train, validation and test
/// counts. Every date appears in one part only, so the test dates are unseen in training.
/// The same `seed` gives the same examples.
///
/// Errors: more examples than the 36 524 dates of 1950–2049.
pub fn date_dataset(sizes: [usize; 3], seed: u64) -> Result<[Vec<Pair>; 3]> {
    let mut dates = all_dates();
    let total: usize = sizes.iter().sum();
    if total > dates.len() {
        return Err(DataError::invalid(
            "date dataset size",
            format!(
                "{total} examples asked for, {} distinct dates exist",
                dates.len()
            ),
        ));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    dates.shuffle(&mut rng);
    let mut parts = dates.into_iter();
    Ok(sizes.map(|n| {
        parts
            .by_ref()
            .take(n)
            .map(|date| Pair {
                source: render_date(date, rng.random_range(0..DATE_FORMATS)),
                target: date.format("%Y-%m-%d").to_string(),
            })
            .collect()
    }))
}

/// Pairs from `source<TAB>target` lines (`path` names the text in errors). Blank lines are
/// skipped; a trailing `\r` is dropped.
///
/// Errors, naming the file and line: a line without a tab, an empty source or target.
pub fn parse_pairs(text: &str, path: &Path) -> Result<Vec<Pair>> {
    let mut pairs = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let at = Location::line(path, index + 1);
        let Some((source, target)) = line.split_once('\t') else {
            return Err(DataError::Parse {
                at,
                message: "no tab between the source and the target".into(),
            });
        };
        for (what, text) in [("source", source), ("target", target)] {
            if text.trim().is_empty() {
                return Err(DataError::Parse {
                    at: at.clone(),
                    message: format!("empty {what}"),
                });
            }
        }
        pairs.push(Pair {
            source: source.to_owned(),
            target: target.to_owned(),
        });
    }
    Ok(pairs)
}

/// [`parse_pairs`] of a file.
///
/// Errors: as [`parse_pairs`], a file that cannot be read, or one without any pair.
pub fn read_pairs(path: &Path) -> Result<Vec<Pair>> {
    let pairs = parse_pairs(&read_text(path)?, path)?;
    if pairs.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(pairs)
}

/// `pairs` shuffled with `seed` and cut into train, validation and test parts by
/// `fractions` (each line lands in exactly one part).
///
/// Errors: invalid fractions, or too few pairs for a non-empty part.
pub fn split_pairs(
    pairs: Vec<Pair>,
    fractions: SplitFractions,
    seed: u64,
) -> Result<[Vec<Pair>; 3]> {
    let ranges = fractions.ranges(pairs.len())?;
    let mut pairs = pairs;
    pairs.shuffle(&mut StdRng::seed_from_u64(seed));
    Ok(ranges.map(|range| pairs[range].to_vec()))
}

/// A character vocabulary of `texts` (with `<pad>`, `<unk>`, `<bos>`, `<eos>` first); the
/// same texts always give the same ids.
///
/// Errors: no character at all.
pub fn char_vocab<'a>(texts: impl IntoIterator<Item = &'a str>) -> Result<Vocab> {
    let chars: BTreeSet<char> = texts.into_iter().flat_map(str::chars).collect();
    if chars.is_empty() {
        return Err(DataError::NotEnoughData(
            "no character to build a vocabulary from".into(),
        ));
    }
    let mut builder = VocabBuilder::new().specials(SpecialTokens::default());
    for c in chars {
        builder.add(&c.to_string());
    }
    builder.build()
}

/// The ids of the characters of `text`; a character outside `vocab` becomes `<unk>`.
///
/// Errors: a character outside a vocabulary without `<unk>`.
pub fn encode_chars(vocab: &Vocab, text: &str) -> Result<Vec<u32>> {
    let mut buffer = [0u8; 4];
    text.chars()
        .map(|c| vocab.id_or_unk(c.encode_utf8(&mut buffer)))
        .collect()
}

/// The text of `ids` (special tokens left out).
pub fn decode_chars(vocab: &Vocab, ids: &[u32]) -> String {
    ids.iter()
        .filter(|&&id| !vocab.is_special(id))
        .filter_map(|&id| vocab.token(id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_of_one_date_by_hand() {
        let date = NaiveDate::from_ymd_opt(2019, 4, 22).unwrap();
        let expected = [
            "April 22, 2019",
            "22 Apr 2019",
            "4/22/19",
            "Monday, the 22nd of April 2019",
            "22.04.2019",
            "2019/04/22",
            "Apr 22 2019",
            "22 April 2019",
            "monday april 22 2019",
            "22-Apr-2019",
            "April 22nd, 2019",
            "Mon, 22 Apr 2019",
            "04/22/2019",
            "the 22nd of April, 2019",
            "APRIL 22, 2019",
            "22 apr 2019",
        ];
        assert_eq!(expected.len(), DATE_FORMATS);
        for (format, text) in expected.iter().enumerate() {
            assert_eq!(render_date(date, format), *text, "format {format}");
        }
    }

    #[test]
    fn ordinals_and_two_digit_years() {
        let pairs = [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th")];
        for (day, text) in pairs {
            assert_eq!(ordinal(day), text);
        }
        for (day, text) in [
            (12, "12th"),
            (13, "13th"),
            (21, "21st"),
            (22, "22nd"),
            (31, "31st"),
        ] {
            assert_eq!(ordinal(day), text);
        }
        let date = NaiveDate::from_ymd_opt(2003, 1, 5).unwrap();
        assert_eq!(render_date(date, 2), "1/5/03");
        assert_eq!(render_date(date, 3), "Sunday, the 5th of January 2003");
    }

    #[test]
    fn splits_have_their_sizes_disjoint_dates_and_a_fixed_seed() {
        let parts = date_dataset([500, 60, 70], 3).unwrap();
        assert_eq!(parts.each_ref().map(Vec::len), [500, 60, 70]);
        let mut seen = BTreeSet::new();
        for part in &parts {
            for pair in part {
                assert!(seen.insert(pair.target.clone()), "{} twice", pair.target);
                assert!(NaiveDate::parse_from_str(&pair.target, "%Y-%m-%d").is_ok());
            }
        }
        assert_eq!(date_dataset([500, 60, 70], 3).unwrap(), parts);
        assert_ne!(date_dataset([500, 60, 70], 4).unwrap(), parts);
        // Many formats show up.
        let lengths: BTreeSet<usize> = parts[0].iter().map(|p| p.source.len()).collect();
        assert!(lengths.len() > 10, "{lengths:?}");
        assert!(date_dataset([40_000, 0, 0], 0).is_err());
    }

    #[test]
    fn tsv_lines_and_their_errors() {
        let path = Path::new("pairs.tsv");
        let pairs = parse_pairs("a b\tx\r\n\nc\ty z\n", path).unwrap();
        assert_eq!(
            pairs,
            vec![
                Pair {
                    source: "a b".into(),
                    target: "x".into()
                },
                Pair {
                    source: "c".into(),
                    target: "y z".into()
                },
            ]
        );
        let no_tab = parse_pairs("a\tb\nno tab here\n", path).unwrap_err();
        assert_eq!(
            no_tab.to_string(),
            "pairs.tsv:2: no tab between the source and the target"
        );
        let empty = parse_pairs("a\tb\nc\tb\n\t y\n", path).unwrap_err();
        assert_eq!(empty.to_string(), "pairs.tsv:3: empty source");
        let empty = parse_pairs("a\t \n", path).unwrap_err();
        assert_eq!(empty.to_string(), "pairs.tsv:1: empty target");
    }

    #[test]
    fn seeded_splits_keep_every_line_once() {
        let pairs: Vec<Pair> = (0..50)
            .map(|i| Pair {
                source: format!("s{i}"),
                target: format!("t{i}"),
            })
            .collect();
        let parts = split_pairs(pairs.clone(), SplitFractions::new(0.8, 0.1, 0.1), 9).unwrap();
        assert_eq!(parts.each_ref().map(Vec::len), [40, 5, 5]);
        let mut all: Vec<Pair> = parts.concat();
        all.sort_by(|a, b| a.source.cmp(&b.source));
        let mut expected = pairs;
        expected.sort_by(|a, b| a.source.cmp(&b.source));
        assert_eq!(all, expected);
    }

    #[test]
    fn characters_encode_with_unknowns_and_decode_back() {
        let vocab = char_vocab(["ab", "bc"]).unwrap();
        assert_eq!(vocab.len(), 4 + 3);
        let ids = encode_chars(&vocab, "cab").unwrap();
        assert_eq!(decode_chars(&vocab, &ids), "cab");
        let unknown = encode_chars(&vocab, "a?").unwrap();
        assert_eq!(unknown[1], vocab.unk_id().unwrap());
        assert_eq!(decode_chars(&vocab, &unknown), "a", "<unk> is left out");
        assert!(char_vocab([""]).is_err());
    }
}
