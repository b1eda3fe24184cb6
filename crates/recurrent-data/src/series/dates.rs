//! Dates in CSV columns: the formats recognised, detection of a column's format, and the
//! choice of a series' date column.
//!
//! Every date is held as a [`chrono::NaiveDateTime`] (a plain date is its midnight; a
//! month is its first day; a year is its 1 January), together with the [`DateFormat`] it
//! was read with, so that it is shown the way the file wrote it. Day-first and
//! month-first formats (`01/02/2020`) are not guessed: they are ambiguous.

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

use super::missing::is_missing;
use super::table::Table;

/// A date format recognised in CSV columns, tried in the order of [`DateFormat::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DateFormat {
    /// ISO 8601 date and time: `%Y-%m-%dT%H:%M:%S` or `%Y-%m-%d %H:%M:%S`, seconds
    /// optional, an optional fraction of a second and an optional trailing `Z`.
    DateTime,
    /// `%Y-%m-%d`, e.g. `2012-01-31`.
    Date,
    /// `%Y/%m/%d`, e.g. `2012/01/31`.
    DateSlash,
    /// `%Y%m%d`, exactly eight digits, e.g. `19580329`.
    DateCompact,
    /// `%Y-%m`, a month, e.g. `1949-01`.
    Month,
    /// `%Y`, a year of one to four digits, e.g. `1700`.
    Year,
}

/// What a column's name says about it, which decides whether the all-digit date formats
/// ([`DateFormat::DateCompact`], [`DateFormat::Year`]) may be tried on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameHint {
    /// Named `year` or `yr` (any case): every format, `%Y` included.
    Year,
    /// Named like a date (`date`, `time`, `timestamp`, `datetime`, `ds`, `month`, `day`,
    /// `week`, or containing `date`/`timestamp`): every format but `%Y`.
    Date,
    /// Any other name: only the formats that cannot be mistaken for a number.
    Other,
    /// The caller named the column as the date column: every format.
    Explicit,
}

impl NameHint {
    /// The hint of a column named `name`.
    pub fn of(name: &str) -> Self {
        let lower = name.trim().to_ascii_lowercase();
        match lower.as_str() {
            "year" | "yr" => NameHint::Year,
            "date" | "time" | "timestamp" | "datetime" | "ds" | "month" | "day" | "week" => {
                NameHint::Date
            }
            _ if lower.contains("date") || lower.contains("timestamp") => NameHint::Date,
            _ => NameHint::Other,
        }
    }

    /// Whether the name alone marks the column as a date column.
    pub fn is_date_like(self) -> bool {
        !matches!(self, NameHint::Other)
    }

    fn allows(self, format: DateFormat) -> bool {
        match format {
            DateFormat::Year => matches!(self, NameHint::Year | NameHint::Explicit),
            DateFormat::DateCompact => !matches!(self, NameHint::Other),
            _ => true,
        }
    }
}

impl DateFormat {
    /// All formats, in the order they are tried (most specific first).
    pub const ALL: [DateFormat; 6] = [
        DateFormat::DateTime,
        DateFormat::Date,
        DateFormat::DateSlash,
        DateFormat::DateCompact,
        DateFormat::Month,
        DateFormat::Year,
    ];

    /// The strftime pattern, for messages (`%Y-%m-%d` …).
    pub fn pattern(self) -> &'static str {
        match self {
            DateFormat::DateTime => "%Y-%m-%dT%H:%M:%S",
            DateFormat::Date => "%Y-%m-%d",
            DateFormat::DateSlash => "%Y/%m/%d",
            DateFormat::DateCompact => "%Y%m%d",
            DateFormat::Month => "%Y-%m",
            DateFormat::Year => "%Y",
        }
    }

    /// Parses a trimmed field in this format; `None` when it does not match.
    pub fn parse(self, field: &str) -> Option<NaiveDateTime> {
        let s = field.trim();
        match self {
            DateFormat::DateTime => {
                let s = s.strip_suffix('Z').unwrap_or(s);
                [
                    "%Y-%m-%dT%H:%M:%S%.f",
                    "%Y-%m-%d %H:%M:%S%.f",
                    "%Y-%m-%dT%H:%M",
                    "%Y-%m-%d %H:%M",
                ]
                .iter()
                .find_map(|p| NaiveDateTime::parse_from_str(s, p).ok())
            }
            DateFormat::Date => date(s, "%Y-%m-%d"),
            DateFormat::DateSlash => date(s, "%Y/%m/%d"),
            DateFormat::DateCompact => {
                if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
                    date(s, "%Y%m%d")
                } else {
                    None
                }
            }
            DateFormat::Month => {
                let (year, month) = s.split_once('-')?;
                if year.len() != 4
                    || !(1..=2).contains(&month.len())
                    || !year
                        .bytes()
                        .chain(month.bytes())
                        .all(|b| b.is_ascii_digit())
                {
                    return None;
                }
                NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
            }
            DateFormat::Year => {
                if !(1..=4).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                NaiveDate::from_ymd_opt(s.parse().ok()?, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0))
            }
        }
    }

    /// Shows `date` the way this format writes it (`1949-01` for a month, `1700` for a
    /// year, `2012-01-31 06:00:00` for a date-time).
    pub fn format(self, date: &NaiveDateTime) -> String {
        let pattern = match self {
            DateFormat::DateTime => "%Y-%m-%d %H:%M:%S",
            other => other.pattern(),
        };
        date.format(pattern).to_string()
    }

    /// The first format, in [`DateFormat::ALL`] order and among those `hint` allows,
    /// with which every one of `values` parses; `None` when there is none or no value.
    /// Missing values must have been filtered out.
    pub fn detect<'a>(
        values: impl Iterator<Item = &'a str> + Clone,
        hint: NameHint,
    ) -> Option<DateFormat> {
        let mut probe = values.clone();
        let first = probe.next()?;
        DateFormat::ALL
            .into_iter()
            .filter(|f| hint.allows(*f) && f.parse(first).is_some())
            .find(|f| values.clone().all(|v| f.parse(v).is_some()))
    }
}

impl fmt::Display for DateFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.pattern())
    }
}

fn date(s: &str, pattern: &str) -> Option<NaiveDateTime> {
    NaiveDate::parse_from_str(s, pattern)
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// A table's date column, parsed: its index, format and one date per row (`None` where
/// the field is missing).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParsedDates {
    /// The (first) column, where errors point.
    pub index: usize,
    /// The column's name, or the parts joined with commas (`year,month,day`).
    pub name: String,
    pub format: DateFormat,
    pub values: Vec<Option<NaiveDateTime>>,
}

/// Parses column `index` of `table` as dates under `hint`. Every present value must parse
/// with one format; the first that does not is a `FILE:LINE:COL` error.
pub(crate) fn parse_date_column(
    table: &Table,
    index: usize,
    hint: NameHint,
) -> Result<ParsedDates> {
    let name = &table.header()[index];
    let fields = table.column(index).unwrap_or(&[]);
    let present = fields.iter().map(String::as_str).filter(|v| !is_missing(v));
    if let Some(format) = DateFormat::detect(present.clone(), hint) {
        let values = fields
            .iter()
            .map(|v| if is_missing(v) { None } else { format.parse(v) })
            .collect();
        return Ok(ParsedDates {
            index,
            name: name.clone(),
            format,
            values,
        });
    }
    // No single format fits: report the first value that breaks the format of the first
    // value, or the first value itself when nothing reads it.
    let Some(first_row) = fields.iter().position(|v| !is_missing(v)) else {
        return Err(DataError::parse(
            crate::error::Location::file(table.path()),
            format!("date column {name:?} has no values at all"),
        ));
    };
    let first = &fields[first_row];
    let format = DateFormat::ALL
        .into_iter()
        .find(|f| hint.allows(*f) && f.parse(first).is_some());
    let tried = || {
        DateFormat::ALL
            .into_iter()
            .filter(|f| hint.allows(*f))
            .map(DateFormat::pattern)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match format {
        None => Err(DataError::parse(
            table.location(first_row, index),
            format!(
                "cannot parse {first:?} as a date in column {name:?} (formats tried: {})",
                tried()
            ),
        )),
        Some(format) => {
            let row = fields
                .iter()
                .position(|v| !is_missing(v) && format.parse(v).is_none())
                .unwrap_or(first_row);
            Err(DataError::parse(
                table.location(row, index),
                format!(
                    "cannot parse {:?} as a date in column {name:?} (earlier rows are {}, line {})",
                    fields[row],
                    format.pattern(),
                    table.lines()[first_row]
                ),
            ))
        }
    }
}

/// The names of date parts, in the order a composite date reads them.
pub const DATE_PARTS: [&str; 4] = ["year", "month", "day", "hour"];

/// Reads columns `indices` (year, month, day and optionally hour, in that order) as one
/// date per row, as pandas' `to_datetime(df[["year", "month", "day"]])` does. A row with a
/// part missing has no date; a part that is not a whole number, or parts that make no date
/// (month 13, 30 February), are errors at their `FILE:LINE:COL`.
pub(crate) fn parse_date_parts(table: &Table, indices: &[usize]) -> Result<ParsedDates> {
    if !(3..=4).contains(&indices.len()) {
        return Err(DataError::invalid(
            "date columns",
            format!(
                "{} columns given; a date is read from year, month, day and optionally hour",
                indices.len()
            ),
        ));
    }
    let header = table.header();
    let name = indices
        .iter()
        .map(|&i| header[i].as_str())
        .collect::<Vec<_>>()
        .join(",");
    let columns: Vec<&[String]> = indices
        .iter()
        .map(|&i| table.column(i).unwrap_or(&[]))
        .collect();
    let mut values = Vec::with_capacity(table.n_rows());
    for row in 0..table.n_rows() {
        let fields: Vec<&str> = columns.iter().map(|c| c[row].trim()).collect();
        if fields.iter().any(|f| is_missing(f)) {
            values.push(None);
            continue;
        }
        let mut parts = [0i64; 4];
        for (k, field) in fields.iter().enumerate() {
            // Whole numbers, also when written `2019.0` by a spreadsheet.
            let number = field
                .parse::<i64>()
                .ok()
                .or_else(|| {
                    field
                        .parse::<f64>()
                        .ok()
                        .filter(|v| v.fract() == 0.0 && v.abs() < 1e9)
                        .map(|v| v as i64)
                })
                .ok_or_else(|| {
                    DataError::parse(
                        table.location(row, indices[k]),
                        format!(
                            "{field:?} in column {:?} is not a whole number ({} of a date)",
                            header[indices[k]], DATE_PARTS[k]
                        ),
                    )
                })?;
            parts[k] = number;
        }
        let date = i32::try_from(parts[0])
            .ok()
            .zip(u32::try_from(parts[1]).ok())
            .zip(u32::try_from(parts[2]).ok())
            .and_then(|((y, m), d)| chrono::NaiveDate::from_ymd_opt(y, m, d))
            .and_then(|d| d.and_hms_opt(u32::try_from(parts[3]).ok()?, 0, 0))
            .ok_or_else(|| {
                DataError::parse(
                    table.location(row, indices[0]),
                    format!("{} is not a date (columns {name})", fields.join("/")),
                )
            })?;
        values.push(Some(date));
    }
    Ok(ParsedDates {
        index: indices[0],
        name,
        format: if indices.len() == 4 {
            DateFormat::DateTime
        } else {
            DateFormat::Date
        },
        values,
    })
}

/// The `year`, `month`, `day` (or `date_of_month`) and `hour` columns of `table` (by name,
/// any case), when it has the first three and none of them is in `exclude`.
pub(crate) fn date_part_columns(table: &Table, exclude: &[usize]) -> Option<Vec<usize>> {
    let find = |part: &str| {
        // The day of the month also goes by `date_of_month` (CDC / FiveThirtyEight births).
        let names: &[&str] = match part {
            "day" => &["day", "date_of_month", "day_of_month"],
            other => &[other][..],
        };
        table
            .header()
            .iter()
            .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
            .filter(|i| !exclude.contains(i))
    };
    let mut indices: Vec<usize> = DATE_PARTS[..3]
        .iter()
        .map(|p| find(p))
        .collect::<Option<_>>()?;
    if let Some(hour) = find(DATE_PARTS[3]) {
        indices.push(hour);
    }
    Some(indices)
}

/// Chooses the date column of a series loaded from `table`.
///
/// - `explicit`: that column, which must exist and parse (every format allowed); or, when
///   it names several columns separated by commas (`year,month,day[,hour]`), those read as
///   one date ([`parse_date_parts`]).
/// - Otherwise columns named `year`, `month` and `day` (and `hour`), none of them selected,
///   read as one date.
/// - Otherwise the first column not in `exclude` whose name is date-like ([`NameHint`])
///   and whose first present value parses as a date: then every value must parse, and a
///   bad one is an error at its `FILE:LINE:COL`. A date-like name whose first value is no
///   date (a `time` column of seconds) is passed over.
/// - Otherwise the first column not in `exclude` whose every present value parses with
///   one of the formats that cannot be mistaken for numbers.
/// - Otherwise no dates.
pub(crate) fn choose_date_column(
    table: &Table,
    explicit: Option<&str>,
    exclude: &[usize],
) -> Result<Option<ParsedDates>> {
    if let Some(name) = explicit {
        if name.contains(',') {
            let indices = name
                .split(',')
                .map(|part| table.column_index(part.trim()))
                .collect::<Result<Vec<_>>>()?;
            return parse_date_parts(table, &indices).map(Some);
        }
        let index = table.column_index(name)?;
        return parse_date_column(table, index, NameHint::Explicit).map(Some);
    }
    if let Some(indices) = date_part_columns(table, exclude) {
        return parse_date_parts(table, &indices).map(Some);
    }
    let candidates = (0..table.n_columns()).filter(|i| !exclude.contains(i));
    for index in candidates.clone() {
        let hint = NameHint::of(&table.header()[index]);
        if !hint.is_date_like() {
            continue;
        }
        let fields = table.column(index).unwrap_or(&[]);
        let Some(first) = fields.iter().find(|v| !is_missing(v)) else {
            continue;
        };
        if DateFormat::ALL
            .into_iter()
            .any(|f| hint.allows(f) && f.parse(first).is_some())
        {
            return parse_date_column(table, index, hint).map(Some);
        }
    }
    for index in candidates {
        let fields = table.column(index).unwrap_or(&[]);
        let present = fields.iter().map(String::as_str).filter(|v| !is_missing(v));
        if DateFormat::detect(present, NameHint::Other).is_some() {
            return parse_date_column(table, index, NameHint::Other).map(Some);
        }
    }
    Ok(None)
}
/// The next `count` dates after the last of `dates`, in steps of the series: calendar
/// months for monthly data, years for yearly data, else the last interval (no dates when
/// `dates` is empty).
pub fn next_dates(dates: &[NaiveDateTime], format: DateFormat, count: usize) -> Vec<NaiveDateTime> {
    let Some(&last) = dates.last() else {
        return Vec::new();
    };
    let months = match format {
        DateFormat::Month => Some(1),
        DateFormat::Year => Some(12),
        _ => None,
    };
    let step = match dates {
        [.., a, b] => *b - *a,
        _ => chrono::TimeDelta::zero(),
    };
    (1..=count)
        .map(|h| match months {
            Some(m) => last
                .checked_add_months(chrono::Months::new(m * h as u32))
                .unwrap_or(last),
            None => last + step * h as i32,
        })
        .collect()
}
