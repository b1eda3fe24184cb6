//! The per-epoch record of a training run: metrics of the training and validation passes,
//! written as CSV (one row per epoch) and printed as Keras-style progress lines.
//!
//! Metric order is the same everywhere: `loss` first, then the other metrics in
//! alphabetical order; validation metrics follow the training ones, prefixed `val_`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// The metrics of one epoch.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EpochRecord {
    /// The epoch number (1-based by convention, as in `Epoch 3/10`).
    pub epoch: usize,
    /// Wall-clock seconds the epoch took.
    pub seconds: f64,
    /// Training metrics by name (`loss`, `accuracy`…), without a prefix.
    pub train: BTreeMap<String, f64>,
    /// Validation metrics by the same names, without the `val_` prefix (it is added on
    /// output).
    pub valid: BTreeMap<String, f64>,
}

/// `names` in output order: `loss` first, then the rest alphabetically (the set is already
/// sorted).
fn ordered<'a>(names: impl IntoIterator<Item = &'a String>) -> Vec<&'a str> {
    let mut names: Vec<&str> = names.into_iter().map(String::as_str).collect();
    if let Some(position) = names.iter().position(|&name| name == "loss") {
        let loss = names.remove(position);
        names.insert(0, loss);
    }
    names
}

/// The records of all epochs so far, in the order they were pushed. Serializes as a JSON
/// array of [`EpochRecord`]s (serde_json writes a NaN metric as `null`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct History {
    /// The records.
    records: Vec<EpochRecord>,
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the record of an epoch.
    pub fn push(&mut self, record: EpochRecord) {
        self.records.push(record);
    }

    /// All records.
    pub fn records(&self) -> &[EpochRecord] {
        &self.records
    }

    /// The number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there is no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The latest record.
    pub fn last(&self) -> Option<&EpochRecord> {
        self.records.last()
    }

    /// Drops the records of epochs after `epoch` (on resume from the checkpoint of
    /// `epoch`, the epochs after it are trained again).
    pub fn keep_through(&mut self, epoch: usize) {
        self.records.retain(|record| record.epoch <= epoch);
    }

    /// The CSV header: `epoch`, `seconds`, the training metrics of any record (`loss`
    /// first, then alphabetically), then the validation metrics in the same order with a
    /// `val_` prefix.
    pub fn columns(&self) -> Vec<String> {
        let (train, valid) = self.metric_names();
        let mut columns = vec!["epoch".to_owned(), "seconds".to_owned()];
        columns.extend(ordered(&train).into_iter().map(str::to_owned));
        columns.extend(
            ordered(&valid)
                .into_iter()
                .map(|name| format!("val_{name}")),
        );
        columns
    }

    /// The names of the training and of the validation metrics over all records.
    fn metric_names(&self) -> (BTreeSet<String>, BTreeSet<String>) {
        let mut train = BTreeSet::new();
        let mut valid = BTreeSet::new();
        for record in &self.records {
            train.extend(record.train.keys().cloned());
            valid.extend(record.valid.keys().cloned());
        }
        (train, valid)
    }

    /// The history as CSV with the header of [`Self::columns`], one row per record. Numbers
    /// are written in full (shortest text that reads back to the same `f64`; `NaN`, `inf`);
    /// a metric a record lacks is an empty field.
    pub fn to_csv(&self) -> String {
        let (train, valid) = self.metric_names();
        let (train, valid) = (ordered(&train), ordered(&valid));
        let mut out = String::new();
        let header: Vec<String> = self.columns().iter().map(|c| csv_field(c)).collect();
        out.push_str(&header.join(","));
        out.push('\n');
        for record in &self.records {
            let mut row = vec![record.epoch.to_string(), record.seconds.to_string()];
            let value = |map: &BTreeMap<String, f64>, name: &str| {
                map.get(name).map_or_else(String::new, f64::to_string)
            };
            row.extend(train.iter().map(|name| value(&record.train, name)));
            row.extend(valid.iter().map(|name| value(&record.valid, name)));
            out.push_str(&row.join(","));
            out.push('\n');
        }
        out
    }

    /// Writes [`Self::to_csv`] to `path` atomically (a crash leaves the previous file).
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        recurrent_data::io::write_atomic(path, self.to_csv().as_bytes())?;
        Ok(())
    }
}

/// `field` quoted as CSV needs it (RFC 4180): in double quotes, quotes doubled, when it
/// holds a comma, a quote or a line break.
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// A metric value as Keras' progress bar prints it: 4 decimals when its magnitude is above
/// 1e-3, else scientific with 4 decimals and a two-digit exponent (`1.2346e-04`,
/// `0.0000e+00`); `nan`, `inf`, `-inf` as Python prints them.
pub fn keras_value(value: f64) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if value.abs() > 1e-3 {
        return format!("{value:.4}");
    }
    let text = format!("{value:.4e}");
    match text.split_once('e') {
        Some((mantissa, exponent)) => {
            let exponent: i32 = exponent.parse().unwrap_or(0);
            let sign = if exponent < 0 { '-' } else { '+' };
            format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
        }
        None => text,
    }
}

/// Epoch seconds as the progress line prints them: one decimal below 10 s (`0.4s`), whole
/// seconds from 10 s on (`12s`), after rounding to a tenth (so 9.96 s prints `10s`).
pub fn keras_seconds(seconds: f64) -> String {
    let tenths = (seconds * 10.0).round() / 10.0;
    if tenths < 10.0 {
        format!("{tenths:.1}s")
    } else {
        format!("{seconds:.0}s")
    }
}

/// The Keras-style summary line of an epoch:
/// `Epoch 3/10 - 0.4s - loss: 0.6931 - accuracy: 0.5120 - val_loss: 0.7012 - val_accuracy:
/// 0.4900` (on one line). `loss` comes first, then the other training metrics
/// alphabetically, then the validation metrics in the same order with a `val_` prefix;
/// values as [`keras_value`], seconds as [`keras_seconds`].
pub fn keras_line(epoch: usize, epochs: usize, record: &EpochRecord) -> String {
    let mut line = format!("Epoch {epoch}/{epochs} - {}", keras_seconds(record.seconds));
    for name in ordered(record.train.keys()) {
        let _ = write!(line, " - {name}: {}", keras_value(record.train[name]));
    }
    for name in ordered(record.valid.keys()) {
        let _ = write!(line, " - val_{name}: {}", keras_value(record.valid[name]));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(
        epoch: usize,
        seconds: f64,
        train: &[(&str, f64)],
        valid: &[(&str, f64)],
    ) -> EpochRecord {
        let map = |pairs: &[(&str, f64)]| {
            pairs
                .iter()
                .map(|&(name, value)| (name.to_owned(), value))
                .collect()
        };
        EpochRecord {
            epoch,
            seconds,
            train: map(train),
            valid: map(valid),
        }
    }

    #[test]
    fn keras_line_matches_the_documented_example() {
        let r = record(
            3,
            0.4,
            &[("accuracy", 0.512), ("loss", 0.69309)],
            &[("loss", 0.70123), ("accuracy", 0.49)],
        );
        assert_eq!(
            keras_line(3, 10, &r),
            "Epoch 3/10 - 0.4s - loss: 0.6931 - accuracy: 0.5120 - val_loss: 0.7012 - val_accuracy: 0.4900"
        );
    }

    #[test]
    fn keras_line_orders_other_metrics_alphabetically() {
        let r = record(1, 12.4, &[("mae", 0.5), ("loss", 1.0), ("auc", 0.75)], &[]);
        assert_eq!(
            keras_line(1, 2, &r),
            "Epoch 1/2 - 12s - loss: 1.0000 - auc: 0.7500 - mae: 0.5000"
        );
    }

    #[test]
    fn keras_seconds_and_values() {
        assert_eq!(keras_seconds(0.04), "0.0s");
        assert_eq!(keras_seconds(9.94), "9.9s");
        assert_eq!(keras_seconds(9.96), "10s");
        assert_eq!(keras_seconds(12.6), "13s");
        // Python: f"{0.00012345:.4e}" == "1.2345e-04"; f"{0.0:.4e}" == "0.0000e+00"
        assert_eq!(keras_value(0.00012345), "1.2345e-04");
        assert_eq!(keras_value(0.0), "0.0000e+00");
        assert_eq!(keras_value(-0.0005), "-5.0000e-04");
        assert_eq!(keras_value(0.0011), "0.0011");
        assert_eq!(keras_value(1234.5), "1234.5000");
        assert_eq!(keras_value(f64::NAN), "nan");
        assert_eq!(keras_value(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn csv_has_stable_columns_and_empty_missing_fields() {
        let mut history = History::new();
        history.push(record(
            1,
            1.5,
            &[("loss", 0.5), ("acc", 0.25)],
            &[("loss", 0.75)],
        ));
        history.push(record(
            2,
            2.0,
            &[("loss", 0.25)],
            &[("loss", 0.5), ("acc", 0.5)],
        ));
        let expected = "epoch,seconds,loss,acc,val_loss,val_acc\n\
                        1,1.5,0.5,0.25,0.75,\n\
                        2,2,0.25,,0.5,0.5\n";
        assert_eq!(history.to_csv(), expected);
    }

    #[test]
    fn csv_quotes_odd_names() {
        let mut history = History::new();
        history.push(record(1, 1.0, &[("a,b", 1.0)], &[]));
        assert_eq!(history.to_csv(), "epoch,seconds,\"a,b\"\n1,1,1\n");
    }

    #[test]
    fn keep_through_drops_later_epochs() {
        let mut history = History::new();
        for epoch in 1..=4 {
            history.push(record(epoch, 1.0, &[("loss", 1.0)], &[]));
        }
        history.keep_through(2);
        assert_eq!(history.len(), 2);
        assert_eq!(history.last().map(|r| r.epoch), Some(2));
    }
}
