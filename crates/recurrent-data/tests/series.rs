//! Time series from CSV: the four vendored files, broken files, missing-value policies,
//! windows that stay inside their split, scalers fitted on training rows, batchers on the
//! CPU backends, per-step labelled windows, `inspect`, and property tests.

use std::path::PathBuf;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::tensor::Device;
use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;
use recurrent_data::error::DataError;
use recurrent_data::inspect::csv::{ColumnSummary, inspect_csv, inspect_csv_bytes};
use recurrent_data::series::{
    Boundary, ColumnType, DateFormat, ForecastData, MissingPolicy, Scaler, ScalerConfig,
    ScalerKind, SeriesOptions, SplitSpec, SplitWindows, StepLabelBatcher, StepLabelOptions, Table,
    TimeSeries, WindowConfig, WindowDataset, label_window_starts, load_series, load_step_labels,
    window_count,
};
use recurrent_data::split::{Split, SplitFractions, tail_ranges};

fn data(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/")).join(name)
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/series/"
    ))
    .join(name)
}

const AIRLINE: &str = "ts_airline_passengers.csv";
const SUNSPOTS: &str = "ts_sunspots_yearly.csv";
const CO2: &str = "ts_co2_weekly_maunaloa.csv";
const WEATHER: &str = "ts_seattle_weather_daily.csv";

/// The CPU backends every test runs on.
#[allow(deprecated)] // burn-ndarray is deprecated in burn 0.22 but still a supported backend.
fn cpu_devices() -> Vec<(&'static str, Device)> {
    vec![("flex", Device::flex()), ("ndarray", Device::ndarray())]
}

fn f32s<const D: usize>(t: &burn::tensor::Tensor<D>) -> Vec<f32> {
    t.to_data().try_into_vec_as::<f32>().unwrap()
}

/// The data lines of a CSV file split into fields, with their 1-based line numbers,
/// read without the crate (the files have no quoted commas).
fn raw_rows(name: &str) -> Vec<(usize, Vec<String>)> {
    let text = std::fs::read_to_string(data(name)).unwrap();
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.split(',').map(|f| f.trim().to_string()).collect()))
        .collect()
}

fn date(y: i32, m: u32, d: u32) -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
}

fn err_text<T: std::fmt::Debug>(r: Result<T, DataError>) -> String {
    r.expect_err("expected an error").to_string()
}

// ---------------------------------------------------------------- the four real files

#[test]
fn airline_loads_144_months() {
    let s = load_series(data(AIRLINE), &SeriesOptions::new("Passengers")).unwrap();
    assert_eq!(s.len(), 144);
    assert_eq!(s.columns(), ["Passengers"]);
    assert_eq!(s.date_column(), Some("Date"));
    assert_eq!(s.date_format(), Some(DateFormat::Month));
    let dates = s.dates().unwrap();
    assert_eq!(dates[0], date(1949, 1, 1));
    assert_eq!(dates[143], date(1960, 12, 1));
    for (i, d) in dates.iter().enumerate() {
        assert_eq!(d.year(), 1949 + (i / 12) as i32);
        assert_eq!(d.month0() as usize, i % 12);
    }
    assert_eq!(s.date_label(0).as_deref(), Some("1949-01"));
    assert_eq!(s.date_label(143).as_deref(), Some("1960-12"));
    assert_eq!(s.lines()[0], 2);
    assert_eq!(s.lines()[143], 145);
    let raw = raw_rows(AIRLINE);
    for (t, (_, fields)) in raw.iter().enumerate() {
        assert_eq!(s.value(t, 0), Some(fields[1].parse().unwrap()));
    }
    assert_eq!(s.missing()[0].count, 0);
    assert_eq!(s.dropped_rows(), 0);
}

#[test]
fn sunspots_loads_309_years_with_zeros() {
    let s = load_series(data(SUNSPOTS), &SeriesOptions::new("SUNACTIVITY")).unwrap();
    assert_eq!(s.len(), 309);
    assert_eq!(s.date_column(), Some("YEAR"));
    assert_eq!(s.date_format(), Some(DateFormat::Year));
    let years: Vec<i32> = s.dates().unwrap().iter().map(|d| d.year()).collect();
    assert_eq!(years, (1700..=2008).collect::<Vec<_>>());
    assert_eq!(s.date_label(0).as_deref(), Some("1700"));
    assert!(
        s.target().contains(&0.0),
        "sunspots has years without spots"
    );
    assert!(s.target().iter().all(|v| *v >= 0.0));
}

/// 1-based lines of the co2 rows whose value is empty, read from the raw text.
fn co2_gap_lines() -> Vec<usize> {
    raw_rows(CO2)
        .into_iter()
        .filter(|(_, f)| f.len() < 2 || f[1].is_empty())
        .map(|(line, _)| line)
        .collect()
}

#[test]
fn co2_gaps_are_an_error_by_default() {
    let gaps = co2_gap_lines();
    assert_eq!(gaps.len(), 59);
    let err = load_series(data(CO2), &SeriesOptions::new("co2")).unwrap_err();
    match &err {
        DataError::MissingValues {
            column,
            count,
            first_lines,
            path,
        } => {
            assert_eq!(column, "co2");
            assert_eq!(*count, 59);
            assert_eq!(first_lines, &gaps[..5]);
            assert!(path.ends_with(CO2));
        }
        other => panic!("expected MissingValues, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("59 missing"), "{text}");
    assert!(text.contains(&gaps[0].to_string()), "{text}");
}

#[test]
fn co2_interpolate_fills_between_neighbours() {
    let gaps = co2_gap_lines();
    let options = SeriesOptions::new("co2").with_missing(MissingPolicy::Interpolate);
    let s = load_series(data(CO2), &options).unwrap();
    assert_eq!(s.len(), 2284);
    assert_eq!(s.date_format(), Some(DateFormat::DateCompact));
    assert_eq!(s.dates().unwrap()[0], date(1958, 3, 29));
    let y = s.target();
    assert!(y.iter().all(|v| v.is_finite() && *v > 300.0));
    let report = &s.missing()[0];
    assert_eq!(report.count, 59);
    assert_eq!(report.first_lines, gaps[..5]);
    assert_eq!(report.policy, MissingPolicy::Interpolate);
    // Every gap lies between the nearest present values around it, linearly.
    let raw = raw_rows(CO2);
    let present: Vec<Option<f64>> = raw.iter().map(|(_, f)| f[1].parse().ok()).collect();
    for (t, v) in present.iter().enumerate() {
        match v {
            Some(v) => assert_eq!(y[t], *v),
            None => {
                let lo = (0..t).rev().find(|&i| present[i].is_some()).unwrap();
                let hi = (t + 1..present.len())
                    .find(|&i| present[i].is_some())
                    .unwrap();
                let (a, b) = (present[lo].unwrap(), present[hi].unwrap());
                assert!(y[t] >= a.min(b) - 1e-9 && y[t] <= a.max(b) + 1e-9);
                let expected = a + (b - a) * (t - lo) as f64 / (hi - lo) as f64;
                assert!((y[t] - expected).abs() < 1e-9);
            }
        }
    }
}

#[test]
fn co2_drop_removes_the_59_rows() {
    let gaps = co2_gap_lines();
    let options = SeriesOptions::new("co2").with_missing(MissingPolicy::Drop);
    let s = load_series(data(CO2), &options).unwrap();
    assert_eq!(s.len(), 2284 - 59);
    assert_eq!(s.dropped_rows(), 59);
    assert!(s.lines().iter().all(|l| !gaps.contains(l)));
    assert_eq!(s.dates().unwrap().len(), s.len());
    let raw: std::collections::HashMap<usize, f64> = raw_rows(CO2)
        .into_iter()
        .filter_map(|(l, f)| Some((l, f[1].parse().ok()?)))
        .collect();
    for (t, line) in s.lines().iter().enumerate() {
        assert_eq!(s.value(t, 0), Some(raw[line]));
    }
}

#[test]
fn co2_ffill_repeats_the_previous_value() {
    let gaps = co2_gap_lines();
    let options = SeriesOptions::new("co2").with_missing(MissingPolicy::ForwardFill);
    let s = load_series(data(CO2), &options).unwrap();
    assert_eq!(s.len(), 2284);
    let y = s.target();
    for (t, line) in s.lines().iter().enumerate() {
        if gaps.contains(line) {
            assert!(t > 0);
            assert_eq!(y[t], y[t - 1], "line {line}");
        }
    }
}

#[test]
fn seattle_loads_1461_days_with_covariates() {
    let options = SeriesOptions::new("temp_max").with_covariates(["temp_min", "wind"]);
    let s = load_series(data(WEATHER), &options).unwrap();
    assert_eq!(s.len(), 1461);
    assert_eq!(s.columns(), ["temp_max", "temp_min", "wind"]);
    assert_eq!(s.date_format(), Some(DateFormat::DateSlash));
    assert_eq!(s.dates().unwrap()[0], date(2012, 1, 1));
    assert_eq!(s.dates().unwrap()[1460], date(2015, 12, 31));
    let raw = raw_rows(WEATHER);
    for (t, (line, f)) in raw.iter().enumerate() {
        assert_eq!(s.lines()[t], *line);
        assert_eq!(
            s.row(t).unwrap(),
            [
                f[2].parse::<f64>().unwrap(),
                f[3].parse().unwrap(),
                f[4].parse().unwrap()
            ]
        );
    }
    // A text column is not a number.
    let err = err_text(load_series(data(WEATHER), &SeriesOptions::new("weather")));
    assert!(err.contains("ts_seattle_weather_daily.csv:2:6: cannot parse \"drizzle\" as a number in column \"weather\""), "{err}");
}

#[test]
fn explicit_date_column_and_selection_errors() {
    let options = SeriesOptions::new("Passengers").with_date_column("Date");
    let s = load_series(data(AIRLINE), &options).unwrap();
    assert_eq!(s.date_format(), Some(DateFormat::Month));

    let err = load_series(data(AIRLINE), &SeriesOptions::new("passengers")).unwrap_err();
    assert!(
        matches!(&err, DataError::UnknownColumn { available, .. } if available == &["Date", "Passengers"])
    );
    let text = err.to_string();
    assert!(
        text.contains("\"passengers\"") && text.contains("Date, Passengers"),
        "{text}"
    );

    let options = SeriesOptions::new("Passengers").with_date_column("Passengers");
    assert!(matches!(
        load_series(data(AIRLINE), &options),
        Err(DataError::Invalid { .. })
    ));
    let options = SeriesOptions::new("Passengers").with_covariates(["Passengers"]);
    assert!(err_text(load_series(data(AIRLINE), &options)).contains("selected twice"));
    // An explicit date column that is not dates names the line.
    let options = SeriesOptions::new("temp_max").with_date_column("weather");
    let err = err_text(load_series(data(WEATHER), &options));
    assert!(
        err.contains("ts_seattle_weather_daily.csv:2:6: cannot parse \"drizzle\" as a date"),
        "{err}"
    );
}

// ---------------------------------------------------------------- broken files

#[test]
fn ragged_row_names_its_line() {
    let err = err_text(load_series(
        fixture("ragged.csv"),
        &SeriesOptions::new("value"),
    ));
    assert!(
        err.contains("ragged.csv:4: expected 3 fields like the header, found 2"),
        "{err}"
    );
    let err = err_text(inspect_csv(fixture("ragged.csv")));
    assert!(err.contains("ragged.csv:4: expected 3 fields"), "{err}");
}

#[test]
fn unparsable_number_names_line_and_column() {
    // Line 4 is blank: the bad value is on line 5 of the file.
    let err = err_text(load_series(
        fixture("bad_number.csv"),
        &SeriesOptions::new("value"),
    ));
    assert!(
        err.contains("bad_number.csv:5:2: cannot parse \"abc\" as a number in column \"value\""),
        "{err}"
    );
    // inspect refuses it too: a column of numbers with one word in it.
    let err = err_text(inspect_csv(fixture("bad_number.csv")));
    assert!(
        err.contains("bad_number.csv:5:2: cannot parse \"abc\" as a number"),
        "{err}"
    );
    // A column of words with one number in it is text.
    let path = std::env::temp_dir().join(format!("words-{}.csv", std::process::id()));
    std::fs::write(&path, "name,value\nalpha,1\n7,2\ngamma,3\n").unwrap();
    let report = inspect_csv(&path).unwrap();
    assert_eq!(report.columns[0].kind, ColumnType::Text);
}

#[test]
fn bad_date_names_line_and_column() {
    let err = err_text(load_series(
        fixture("bad_date.csv"),
        &SeriesOptions::new("value"),
    ));
    assert!(
        err.contains("bad_date.csv:5:1: cannot parse \"2020-13-45\" as a date"),
        "{err}"
    );
    let options = SeriesOptions::new("value").with_date_column("date");
    let err = err_text(load_series(fixture("bad_date.csv"), &options));
    assert!(err.contains("bad_date.csv:5:1:"), "{err}");
}

#[test]
fn empty_and_header_only_files() {
    let err = load_series(fixture("empty.csv"), &SeriesOptions::new("value")).unwrap_err();
    assert!(matches!(err, DataError::Empty { .. }));
    assert!(err.to_string().contains("empty.csv"));
    assert!(matches!(
        inspect_csv(fixture("empty.csv")),
        Err(DataError::Empty { .. })
    ));

    let err = err_text(load_series(
        fixture("header_only.csv"),
        &SeriesOptions::new("value"),
    ));
    assert!(
        err.contains("header_only.csv:1: the file has a header but no data rows"),
        "{err}"
    );
    let err = err_text(inspect_csv(fixture("header_only.csv")));
    assert!(err.contains("header_only.csv:1:"), "{err}");
}

#[test]
fn invalid_utf8_names_line_and_column() {
    let path = std::env::temp_dir().join(format!(
        "recurrent_series_bad_utf8_{}.csv",
        std::process::id()
    ));
    std::fs::write(&path, b"date,value\n2020-01-01,1\n2020-01-02,\xff2\n").unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let err = load_series(&path, &SeriesOptions::new("value")).unwrap_err();
    assert!(matches!(err, DataError::Utf8 { .. }));
    let text = err.to_string();
    assert!(text.contains(&format!("{name}:3:12")), "{text}");
    let text = err_text(inspect_csv(&path));
    assert!(text.contains(&format!("{name}:3:12")), "{text}");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn missing_io_file_names_it() {
    let err = err_text(load_series(
        fixture("no_such_file.csv"),
        &SeriesOptions::new("x"),
    ));
    assert!(err.contains("no_such_file.csv"), "{err}");
}

// ---------------------------------------------------------------- missing-value policies

#[test]
fn missing_policy_names_round_trip() {
    for policy in MissingPolicy::ALL {
        assert_eq!(policy.to_string().parse::<MissingPolicy>().unwrap(), policy);
    }
    assert_eq!(
        "FFILL".parse::<MissingPolicy>().unwrap(),
        MissingPolicy::ForwardFill
    );
    assert_eq!(MissingPolicy::default(), MissingPolicy::Error);
    let err = err_text("zero".parse::<MissingPolicy>());
    assert!(
        err.contains("\"zero\"") && err.contains("interpolate"),
        "{err}"
    );
}

#[test]
fn policies_on_a_small_file_with_every_marker() {
    let load = |p| {
        load_series(
            fixture("gaps.csv"),
            &SeriesOptions::new("value").with_missing(p),
        )
    };
    match load(MissingPolicy::Error).unwrap_err() {
        DataError::MissingValues {
            count, first_lines, ..
        } => {
            assert_eq!(count, 3);
            assert_eq!(first_lines, [3, 4, 6]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        load(MissingPolicy::Interpolate).unwrap().target(),
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    );
    assert_eq!(
        load(MissingPolicy::ForwardFill).unwrap().target(),
        [1.0, 1.0, 1.0, 4.0, 4.0, 6.0]
    );
    let dropped = load(MissingPolicy::Drop).unwrap();
    assert_eq!(dropped.target(), [1.0, 4.0, 6.0]);
    assert_eq!(dropped.lines(), [2, 5, 7]);
    assert_eq!(dropped.dates().unwrap()[1], date(2020, 1, 4));
    let report = load(MissingPolicy::Interpolate).unwrap().missing()[0].to_string();
    assert!(
        report.contains("3 missing value(s) at line(s) 3, 4, 6"),
        "{report}"
    );
}

#[test]
fn ffill_cannot_fill_a_leading_gap_but_interpolate_can() {
    let load = |p| {
        load_series(
            fixture("leading_gap.csv"),
            &SeriesOptions::new("value").with_missing(p),
        )
    };
    let err = err_text(load(MissingPolicy::ForwardFill));
    assert!(
        err.contains("leading_gap.csv:2:2:") && err.contains("use interpolate or drop"),
        "{err}"
    );
    assert_eq!(
        load(MissingPolicy::Interpolate).unwrap().target(),
        [2.0, 2.0, 3.0]
    );
    assert_eq!(load(MissingPolicy::Drop).unwrap().target(), [2.0, 3.0]);
}

#[test]
fn a_column_with_no_value_is_an_error_under_every_policy() {
    let bytes = b"t,x,y\n1,,1\n2,NA,2\n3,?,3\n".to_vec();
    let table = Table::from_bytes("all_missing.csv", bytes).unwrap();
    for policy in MissingPolicy::ALL {
        let options = SeriesOptions::new("y")
            .with_covariates(["x"])
            .with_missing(policy);
        let err = err_text(TimeSeries::from_table(&table, &options));
        assert!(
            err.contains("all_missing.csv") && err.contains("\"x\" has no values"),
            "{err}"
        );
    }
}

#[test]
fn infinities_are_not_numbers() {
    let table = Table::from_bytes("inf.csv", b"x\n1\ninf\n".to_vec()).unwrap();
    let err = err_text(TimeSeries::from_table(&table, &SeriesOptions::new("x")));
    assert!(
        err.contains("inf.csv:3:1: cannot parse \"inf\" as a number"),
        "{err}"
    );
}

#[test]
fn date_formats() {
    let cases = [
        ("2012-01-31T06:30:00", DateFormat::DateTime),
        ("2012-01-31 06:30:00.5Z", DateFormat::DateTime),
        ("2012-01-31 06:30", DateFormat::DateTime),
        ("2012-01-31", DateFormat::Date),
        ("2012/01/31", DateFormat::DateSlash),
        ("20120131", DateFormat::DateCompact),
        ("2012-01", DateFormat::Month),
        ("2012", DateFormat::Year),
    ];
    for (text, format) in cases {
        assert!(format.parse(text).is_some(), "{text} as {format}");
        let first = DateFormat::ALL
            .into_iter()
            .find(|f| f.parse(text).is_some());
        assert_eq!(first, Some(format), "{text}");
    }
    for bad in [
        "2012-13-01",
        "2012-02-30",
        "31/01/2012",
        "2012-1-1-1",
        "123456789",
        "abc",
        "",
    ] {
        assert!(
            DateFormat::ALL.into_iter().all(|f| f.parse(bad).is_none()),
            "{bad}"
        );
    }
    // All-digit values are dates only in columns named so.
    let table = Table::from_bytes(
        "ids.csv",
        b"id,year,date,when\n20120131,1999,20120131,2012-01\n".to_vec(),
    )
    .unwrap();
    assert_eq!(table.infer_type(0), Some(ColumnType::Number));
    assert_eq!(
        table.infer_type(1),
        Some(ColumnType::Date(DateFormat::Year))
    );
    assert_eq!(
        table.infer_type(2),
        Some(ColumnType::Date(DateFormat::DateCompact))
    );
    assert_eq!(
        table.infer_type(3),
        Some(ColumnType::Date(DateFormat::Month))
    );
    // Without a date-like name, the first unambiguous date column is found.
    let table =
        Table::from_bytes("when.csv", b"v,when\n1,2012-01-02\n2,2012-01-03\n".to_vec()).unwrap();
    let s = TimeSeries::from_table(&table, &SeriesOptions::new("v")).unwrap();
    assert_eq!(s.date_column(), Some("when"));
    // A numeric "time" column is not taken for dates.
    let table = Table::from_bytes("t.csv", b"time,v\n0.5,1\n1.0,2\n".to_vec()).unwrap();
    let s = TimeSeries::from_table(&table, &SeriesOptions::new("v")).unwrap();
    assert!(s.dates().is_none());
}

#[test]
fn quoted_fields_and_crlf_keep_line_numbers() {
    let bytes =
        b"\xEF\xBB\xBF\"date\",\"value\"\r\n2020-01-01,\"1\"\r\n\r\n2020-01-02,\"x\r\n".to_vec();
    let table = Table::from_bytes("q.csv", bytes).unwrap();
    assert_eq!(table.header(), ["date", "value"]);
    assert_eq!(table.lines(), [2, 4]);
    let err = err_text(TimeSeries::from_table(&table, &SeriesOptions::new("value")));
    assert!(err.contains("q.csv:4:2: cannot parse"), "{err}");
    // A quoted field over two lines, whitespace-only and leading blank lines.
    let bytes = b"\n\nname,v\n\"multi\nline\",1\n   \n\"z\",2\r\n\r\nw,q\n".to_vec();
    let table = Table::from_bytes("m.csv", bytes).unwrap();
    assert_eq!(table.header_line(), 3);
    assert_eq!(table.lines(), [4, 7, 9]);
    assert_eq!(table.column(0).unwrap()[0], "multi\nline");
    let err = err_text(TimeSeries::from_table(&table, &SeriesOptions::new("v")));
    assert!(err.contains("m.csv:9:2: cannot parse \"q\""), "{err}");
}

// ---------------------------------------------------------------- windows

#[test]
fn window_config_validation_names_the_value() {
    for (config, name) in [
        (WindowConfig::new(0, 1, 1), "lookback"),
        (WindowConfig::new(1, 0, 1), "horizon"),
        (WindowConfig::new(1, 1, 0), "stride"),
    ] {
        let err = err_text(config.validate());
        assert!(err.contains(&format!("{name} is 0")), "{err}");
    }
    assert!(WindowConfig::new(1, 1, 1).validate().is_ok());
    assert_eq!(
        "targets-only".parse::<Boundary>().unwrap(),
        Boundary::TargetsOnly
    );
    assert_eq!(Boundary::default(), Boundary::Strict);
}

#[test]
fn airline_windows_per_split() {
    let s = load_series(data(AIRLINE), &SeriesOptions::new("Passengers")).unwrap();
    let config = WindowConfig::new(12, 3, 1);
    let ranges = tail_ranges(144, 24, 24).unwrap();
    let w = SplitWindows::new(144, ranges.clone(), config, Boundary::Strict).unwrap();
    // (len - lookback - horizon) / stride + 1
    assert_eq!(w.starts(Split::Train).len(), (96 - 15) + 1);
    assert_eq!(w.starts(Split::Valid).len(), (24 - 15) + 1);
    assert_eq!(w.starts(Split::Test).len(), (24 - 15) + 1);
    for split in Split::ALL {
        let r = w.range(split);
        for &start in w.starts(split) {
            assert!(start >= r.start && start + 15 <= r.end);
        }
    }

    // A 12-month validation split cannot hold a 15-month window.
    let err = SplitWindows::from_spec(
        144,
        &SplitSpec::Tail {
            valid: 12,
            test: 12,
        },
        config,
        Boundary::Strict,
    )
    .unwrap_err();
    assert!(matches!(err, DataError::NotEnoughData(_)));
    let text = err.to_string();
    assert!(
        text.contains("valid split has 12 rows") && text.contains("lookback 12 + horizon 3 = 15"),
        "{text}"
    );
    // With targets only inside the split, it can: inputs reach back into training rows.
    let w = SplitWindows::from_spec(
        144,
        &SplitSpec::Tail {
            valid: 12,
            test: 12,
        },
        config,
        Boundary::TargetsOnly,
    )
    .unwrap();
    assert_eq!(w.starts(Split::Valid).len(), 12 - 3 + 1);
    assert_eq!(
        w.starts(Split::Valid)[0] + 12,
        120,
        "first valid target is the first valid row"
    );
    for split in Split::ALL {
        let r = w.range(split);
        for &start in w.starts(split) {
            assert!(start + 12 >= r.start && start + 15 <= r.end);
        }
    }

    // Stride 2 on the fractions (80/10/10: 115, 15 and 14 rows).
    let config = WindowConfig::new(10, 3, 2);
    let data =
        ForecastData::new(&s, &SplitSpec::default(), config, Boundary::Strict, None).unwrap();
    let [a, b, c] = SplitFractions::default().ranges(144).unwrap();
    for (ds, r) in [(&data.train, a), (&data.valid, b), (&data.test, c)] {
        assert_eq!(ds.len(), (r.len() - 13) / 2 + 1);
        assert_eq!(ds.len(), window_count(r.clone(), &config, Boundary::Strict));
        let item = ds.get(ds.len() - 1).unwrap();
        assert!(item.start + 13 <= r.end);
        let expect: Vec<f32> = (0..3)
            .map(|k| s.value(item.start + 10 + k, 0).unwrap() as f32)
            .collect();
        assert_eq!(item.target, expect);
    }
    assert!(
        data.train.get(data.train.len()).is_err(),
        "past the end is an error"
    );
}

#[test]
fn forecast_data_scales_with_training_statistics_only() {
    let options = SeriesOptions::new("temp_max").with_covariates(["precipitation", "wind"]);
    let s = load_series(data(WEATHER), &options).unwrap();
    let split = SplitSpec::Fractions(SplitFractions::new(0.7, 0.15, 0.15));
    let config = WindowConfig::new(14, 7, 1);
    let data = ForecastData::new(
        &s,
        &split,
        config,
        Boundary::Strict,
        Some(ScalerConfig::standard()),
    )
    .unwrap();
    let scaler = data.scaler.as_ref().unwrap();
    let train = split.ranges(s.len()).unwrap()[0].clone();
    assert_eq!(data.windows.range(Split::Train), train);
    for c in 0..3 {
        let xs: Vec<f64> = train.clone().map(|t| s.value(t, c).unwrap()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let std = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64).sqrt();
        assert!((scaler.columns()[c].offset - mean).abs() < 1e-9);
        assert!((scaler.columns()[c].scale - std).abs() < 1e-9);
        // Not the statistics of the whole series.
        let all: f64 = s.column(c).unwrap().iter().sum::<f64>() / s.len() as f64;
        assert_ne!(scaler.columns()[c].offset, all);
    }
    // Items hold the scaled values; inverse maps the target back.
    let item = data.valid.get(3).unwrap();
    let want = scaler
        .transform_value(0, s.value(item.start + 14, 0).unwrap())
        .unwrap();
    assert!((item.target[0] as f64 - want).abs() < 1e-5);
    let back = scaler.inverse_transform_f32(0, &item.target).unwrap();
    for (k, v) in back.iter().enumerate() {
        let x = s.value(item.start + 14 + k, 0).unwrap() as f32;
        assert!((v - x).abs() < 1e-3, "{v} vs {x}");
    }
    let input_x = s.value(item.start + 1, 2).unwrap();
    assert!((item.input[3 + 2] as f64 - scaler.transform_value(2, input_x).unwrap()).abs() < 1e-5);
}

// ---------------------------------------------------------------- scalers

#[test]
fn scaler_round_trips_and_saves() {
    let s = load_series(data(SUNSPOTS), &SeriesOptions::new("SUNACTIVITY")).unwrap();
    let dir = std::env::temp_dir().join(format!("recurrent_series_scaler_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for kind in [ScalerKind::Standard, ScalerKind::MinMax] {
        for log in [false, true] {
            let config = ScalerConfig { kind, log };
            let scaler = Scaler::fit(config, &s, 0..250).unwrap();
            let scaled = scaler.transform_series(&s).unwrap();
            assert!(
                scaled.iter().all(|v| v.is_finite()),
                "zeros work under log1p"
            );
            if kind == ScalerKind::MinMax {
                let train = &scaled[..250];
                let (lo, hi) = train
                    .iter()
                    .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
                assert!(lo.abs() < 1e-12 && (hi - 1.0).abs() < 1e-12);
            }
            let back = scaler.inverse_transform(0, &scaled).unwrap();
            for (a, b) in back.iter().zip(s.values()) {
                assert!((a - b).abs() < 1e-9 * b.abs().max(1.0), "{a} vs {b}");
            }
            let path = dir.join(format!("scaler_{kind:?}_{log}.json"));
            scaler.save(&path).unwrap();
            assert_eq!(Scaler::load(&path).unwrap(), scaler);
        }
    }
    std::fs::write(dir.join("bad.json"), "{\"kind\": \"Standard\", \"log\": false, \"columns\": [{\"name\": \"x\", \"offset\": 0, \"scale\": 0}]}").unwrap();
    assert!(err_text(Scaler::load(dir.join("bad.json"))).contains("scale must be positive"));
    std::fs::write(dir.join("broken.json"), "{").unwrap();
    assert!(err_text(Scaler::load(dir.join("broken.json"))).contains("broken.json"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn scaler_edge_cases() {
    let names = vec!["c".to_string(), "y".to_string()];
    // A constant column gets scale 1.
    let values = [5.0, 1.0, 5.0, 2.0, 5.0, 3.0];
    let scaler = Scaler::fit_values(ScalerConfig::standard(), &names, &values, 0..3).unwrap();
    assert_eq!(scaler.columns()[0].scale, 1.0);
    assert_eq!(scaler.columns()[0].offset, 5.0);
    assert_eq!(scaler.transform(&values).unwrap()[0], 0.0);
    let scaler = Scaler::fit_values(ScalerConfig::min_max(), &names, &values, 0..3).unwrap();
    assert_eq!(scaler.columns()[0].scale, 1.0);
    // Log of a value at or below -1 names it.
    let err = err_text(Scaler::fit_values(
        ScalerConfig::standard().with_log(true),
        &names,
        &[1.0, -2.5],
        0..1,
    ));
    assert!(err.contains("-2.5") && err.contains("\"y\""), "{err}");
    let series = TimeSeries::new(names.clone(), vec![1.0, 1.0, 2.0, -3.0]).unwrap();
    let err = err_text(Scaler::fit(
        ScalerConfig::min_max().with_log(true),
        &series,
        0..2,
    ));
    assert!(err.contains("<input>:2:") && err.contains("-3"), "{err}");
    // No training rows, bad column.
    assert!(matches!(
        Scaler::fit(ScalerConfig::standard(), &series, 0..0),
        Err(DataError::NotEnoughData(_))
    ));
    let scaler = Scaler::fit(ScalerConfig::standard(), &series, 0..2).unwrap();
    assert!(scaler.inverse_transform(2, &[0.0]).is_err());
    assert!(scaler.transform(&[1.0]).is_err());
}

// ---------------------------------------------------------------- batchers

#[test]
fn series_batches_on_cpu_backends() {
    let options = SeriesOptions::new("temp_max").with_covariates(["temp_min"]);
    let s = load_series(data(WEATHER), &options).unwrap();
    let config = WindowConfig::new(10, 4, 5);
    let data = ForecastData::new(
        &s,
        &SplitSpec::default(),
        config,
        Boundary::Strict,
        Some(ScalerConfig::min_max()),
    )
    .unwrap();
    let items: Vec<_> = (0..6).map(|i| data.train.get(i).unwrap()).collect();
    for (name, device) in cpu_devices() {
        let batch = data.batcher().batch(items.clone(), &device);
        assert_eq!(batch.input.dims(), [6, 10, 2], "{name}");
        assert_eq!(batch.target.dims(), [6, 4], "{name}");
        assert_eq!(batch.starts, [0, 5, 10, 15, 20, 25]);
        let input = f32s(&batch.input);
        let target = f32s(&batch.target);
        for (i, item) in items.iter().enumerate() {
            assert_eq!(input[i * 20..(i + 1) * 20], item.input[..], "{name}");
            assert_eq!(target[i * 4..(i + 1) * 4], item.target[..], "{name}");
        }
    }
}

// ---------------------------------------------------------------- per-step labels

#[test]
fn seattle_step_labels() {
    let mut options = StepLabelOptions::new(
        ["precipitation", "temp_max", "temp_min", "wind"],
        "weather",
        30,
        15,
    );
    options.split = SplitSpec::Fractions(SplitFractions::new(0.7, 0.15, 0.15));
    let d = load_step_labels(data(WEATHER), &options).unwrap();
    assert_eq!(d.len(), 1461);
    assert_eq!(d.classes(), ["drizzle", "fog", "rain", "snow", "sun"]);
    let ranges = options.split.ranges(1461).unwrap();
    let raw = raw_rows(WEATHER);
    for (split, range) in Split::ALL.into_iter().zip(ranges.iter()) {
        assert_eq!(d.range(split), *range);
        let ds = d.dataset(split);
        assert_eq!(ds.len(), (range.len() - 30) / 15 + 1, "{split:?}");
        assert_eq!(ds.starts(), label_window_starts(range.clone(), 30, 15));
        for i in 0..ds.len() {
            let item = ds.get(i).unwrap();
            assert!(item.start >= range.start && item.start + 30 <= range.end);
            assert_eq!(item.input.len(), 30 * 4);
            for (k, &label) in item.labels.iter().enumerate() {
                let row = item.start + k;
                let (line, fields) = &raw[row];
                assert_eq!(d.lines()[row], *line);
                assert_eq!(d.classes()[label as usize], fields[5], "line {line}");
            }
        }
    }
    // Features are scaled with training statistics: training rows have mean 0.
    let scaler = d.scaler().unwrap();
    let train_rows = &raw[ranges[0].clone()];
    let mean: f64 = train_rows
        .iter()
        .map(|(_, f)| f[2].parse::<f64>().unwrap())
        .sum::<f64>()
        / train_rows.len() as f64;
    assert!((scaler.columns()[1].offset - mean).abs() < 1e-9);
    let item = d.train.get(0).unwrap();
    let x: f64 = raw[0].1[2].parse().unwrap();
    assert!((item.input[1] as f64 - scaler.transform_value(1, x).unwrap()).abs() < 1e-5);

    let items: Vec<_> = (0..d.valid.len())
        .map(|i| d.valid.get(i).unwrap())
        .collect();
    for (name, device) in cpu_devices() {
        let batch = d.batcher().batch(items.clone(), &device);
        assert_eq!(batch.input.dims(), [items.len(), 30, 4], "{name}");
        assert_eq!(batch.labels.dims(), [items.len(), 30], "{name}");
        let labels = batch.labels.to_data().try_into_vec_as::<i64>().unwrap();
        let want: Vec<i64> = items.iter().flat_map(|i| i.labels.clone()).collect();
        assert_eq!(labels, want, "{name}");
        let _ = StepLabelBatcher::new(30, 4);
    }
}

#[test]
fn unknown_class_in_validation_names_its_line() {
    let options = StepLabelOptions::new(["x", "y"], "label", 1, 1);
    let err = load_step_labels(fixture("unknown_class.csv"), &options).unwrap_err();
    assert!(matches!(&err, DataError::UnknownLabel { kind: "class", label, .. } if label == "c"));
    let text = err.to_string();
    assert!(
        text.contains("unknown_class.csv:10:3: unknown class \"c\" (known: a, b)"),
        "{text}"
    );
}

#[test]
fn step_label_windows_too_long_for_a_split() {
    let mut options = StepLabelOptions::new(["precipitation"], "weather", 300, 300);
    options.split = SplitSpec::Tail {
        valid: 100,
        test: 100,
    };
    let err = err_text(load_step_labels(data(WEATHER), &options));
    assert!(
        err.contains("valid split has 100 rows") && err.contains("window needs 300 rows"),
        "{err}"
    );
    let options = StepLabelOptions::new(["precipitation"], "weather", 0, 1);
    assert!(err_text(load_step_labels(data(WEATHER), &options)).contains("window is 0"));
}

// ---------------------------------------------------------------- inspect

#[test]
fn inspect_the_four_files() {
    let expect = [
        (AIRLINE, 144, vec!["date", "number"]),
        (SUNSPOTS, 309, vec!["date", "number"]),
        (CO2, 2284, vec!["date", "number"]),
        (
            WEATHER,
            1461,
            vec!["date", "number", "number", "number", "number", "text"],
        ),
    ];
    for (name, rows, kinds) in expect {
        let report = inspect_csv(data(name)).unwrap();
        println!("{report}\n");
        assert_eq!(report.rows, rows, "{name}");
        assert_eq!(report.size, std::fs::metadata(data(name)).unwrap().len());
        let got: Vec<&str> = report.columns.iter().map(|c| c.kind.name()).collect();
        assert_eq!(got, kinds, "{name}");
        let text = report.to_string();
        assert!(text.contains(&format!("{rows} rows")), "{text}");
    }
    let co2 = inspect_csv(data(CO2)).unwrap();
    assert_eq!(co2.columns[1].missing, 59);
    assert_eq!(co2.columns[1].first_missing_line, Some(co2_gap_lines()[0]));
    let airline = inspect_csv(data(AIRLINE)).unwrap();
    assert_eq!(
        airline.columns[0].summary,
        ColumnSummary::Date {
            first: "1949-01".into(),
            last: "1960-12".into(),
            increasing: true
        }
    );
    let weather = inspect_csv(data(WEATHER)).unwrap();
    match &weather.columns[5].summary {
        ColumnSummary::Text { distinct, top } => {
            assert_eq!(*distinct, 5);
            let total: usize = top.iter().map(|(_, n)| n).sum();
            assert_eq!(total, 1461);
        }
        other => panic!("{other:?}"),
    }
    let sunspots = inspect_csv(data(SUNSPOTS)).unwrap();
    match sunspots.columns[1].summary {
        ColumnSummary::Number { min, .. } => assert_eq!(min, 0.0),
        ref other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------- properties

/// Text that looks like CSV: a header or not, numbers, dates, missing markers, stray
/// quotes, CRLF and ragged rows.
const CSV_LIKE: &str = concat!(
    "(date,x,y\n)?",
    "([0-9]{1,4}(-[0-9]{1,2}){0,2}|NA|\\?|-|\"|[a-c]|[0-9]\\.[0-9]|)",
    "(,([0-9]{1,3}|NA||\\?|x|\"|1e3)){0,3}",
    "(\r?\n([0-9]{1,4}(-[0-9]{2}){0,2}|NA|)(,([0-9]{1,3}|NA||\\?|\")){0,3}){0,12}",
);

/// Inspects `bytes` and loads every column under every policy: errors are fine, panics
/// are not, and what loads is finite and consistent.
fn load_every_way(name: &str, bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let _ = inspect_csv_bytes(name, bytes.clone());
    let Ok(table) = Table::from_bytes(name, bytes) else {
        return Ok(());
    };
    for column in table.header() {
        for policy in MissingPolicy::ALL {
            let options = SeriesOptions::new(column.clone()).with_missing(policy);
            if let Ok(s) = TimeSeries::from_table(&table, &options) {
                prop_assert!(s.values().iter().all(|v| v.is_finite()));
                prop_assert_eq!(s.len(), s.lines().len());
                prop_assert!(s.len() <= table.n_rows());
            }
        }
    }
    Ok(())
}

/// The number of windows in `r`, computed independently of the crate.
fn expected_windows(
    r: &std::ops::Range<usize>,
    config: &WindowConfig,
    boundary: Boundary,
) -> usize {
    let first = match boundary {
        Boundary::Strict => r.start + config.lookback,
        Boundary::TargetsOnly => r.start.max(config.lookback),
    };
    if first + config.horizon <= r.end {
        (r.end - first - config.horizon) / config.stride + 1
    } else {
        0
    }
}

/// Windows stay inside their split, their number follows the formula, splits are
/// disjoint, and items hold the source values at the right offsets.
fn check_windows(
    n: usize,
    fractions: SplitFractions,
    config: WindowConfig,
    boundary: Boundary,
) -> Result<(), TestCaseError> {
    let (lookback, horizon) = (config.lookback, config.horizon);
    let ranges = fractions.ranges(n).unwrap();
    prop_assert_eq!(ranges[0].start, 0);
    prop_assert_eq!(ranges[0].end, ranges[1].start);
    prop_assert_eq!(ranges[1].end, ranges[2].start);
    prop_assert_eq!(ranges[2].end, n);
    let w = match SplitWindows::new(n, ranges.clone(), config, boundary) {
        Ok(w) => w,
        Err(err) => {
            prop_assert!(matches!(err, DataError::NotEnoughData(_)), "{}", err);
            let short = ranges
                .iter()
                .any(|r| !r.is_empty() && expected_windows(r, &config, boundary) == 0);
            prop_assert!(short);
            return Ok(());
        }
    };
    let values: Vec<f64> = (0..n * 2).map(|i| i as f64 * 0.5).collect();
    let series = TimeSeries::new(vec!["y".into(), "x".into()], values).unwrap();
    let shared: std::sync::Arc<[f32]> = series.values().iter().map(|&v| v as f32).collect();
    let mut seen = std::collections::HashSet::new();
    for (r, starts) in ranges.iter().zip(&w.starts) {
        prop_assert_eq!(starts.len(), expected_windows(r, &config, boundary));
        for pair in starts.windows(2) {
            prop_assert_eq!(pair[1] - pair[0], config.stride);
        }
        let mut targets = std::collections::HashSet::new();
        for &s in starts {
            // Targets inside the split, nothing past its end.
            prop_assert!(s + lookback >= r.start && s + lookback + horizon <= r.end);
            if boundary == Boundary::Strict {
                prop_assert!(s >= r.start);
            }
            targets.extend(s + lookback..s + lookback + horizon);
        }
        prop_assert!(targets.is_disjoint(&seen));
        seen.extend(targets);
        let ds = WindowDataset::new(shared.clone(), 2, config, starts.clone()).unwrap();
        prop_assert_eq!(ds.len(), starts.len());
        for k in 0..ds.len() {
            let item = ds.get(k).unwrap();
            for (h, v) in item.target.iter().enumerate() {
                let want = series.value(item.start + lookback + h, 0).unwrap();
                prop_assert_eq!(f64::from(*v), want);
            }
            for (i, v) in item.input.iter().enumerate() {
                let want = series.value(item.start + i / 2, i % 2).unwrap();
                prop_assert_eq!(f64::from(*v), want);
            }
        }
    }
    Ok(())
}

/// Interpolation and forward fill leave present values alone and fill every gap within
/// the range of the present values; drop keeps exactly the present rows.
fn check_fills(cells: &[Option<i32>]) -> Result<(), TestCaseError> {
    let mut text = String::from("v\n");
    for c in cells {
        match c {
            Some(v) => text.push_str(&format!("{v}\n")),
            None => text.push_str("NA\n"),
        }
    }
    let table = Table::from_bytes("f.csv", text.into_bytes()).unwrap();
    let load = |p| TimeSeries::from_table(&table, &SeriesOptions::new("v").with_missing(p));
    let lo = f64::from(cells.iter().flatten().copied().min().unwrap_or_default());
    let hi = f64::from(cells.iter().flatten().copied().max().unwrap_or_default());
    let s = load(MissingPolicy::Interpolate).unwrap();
    prop_assert_eq!(s.len(), cells.len());
    for (t, c) in cells.iter().enumerate() {
        let v = s.value(t, 0).unwrap();
        match c {
            Some(x) => prop_assert_eq!(v, f64::from(*x)),
            None => prop_assert!(v >= lo - 1e-9 && v <= hi + 1e-9),
        }
    }
    let dropped = load(MissingPolicy::Drop).unwrap();
    prop_assert_eq!(dropped.len(), cells.iter().flatten().count());
    match load(MissingPolicy::ForwardFill) {
        Ok(s) => {
            prop_assert!(cells[0].is_some());
            for (t, cell) in cells.iter().enumerate().skip(1) {
                if cell.is_none() {
                    prop_assert_eq!(s.value(t, 0), s.value(t - 1, 0));
                }
            }
        }
        Err(e) => {
            prop_assert!(cells[0].is_none());
            prop_assert!(e.to_string().contains("f.csv:2:1:"), "{}", e);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary bytes never make the loader or inspect panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        load_every_way("fuzz.csv", bytes)?;
    }

    /// CSV-looking text never panics either.
    #[test]
    fn csv_like_text_never_panics(text in CSV_LIKE) {
        load_every_way("like.csv", text.into_bytes())?;
    }

    /// Windowing invariants over random lengths, splits and window shapes.
    #[test]
    fn windows_respect_splits(
        n in 0usize..200,
        train in 0.0f64..1.0,
        valid_share in 0.0f64..1.0,
        lookback in 1usize..12,
        horizon in 1usize..6,
        stride in 1usize..5,
        targets_only in any::<bool>(),
    ) {
        let valid = (1.0 - train) * valid_share;
        let fractions = SplitFractions::new(train, valid, 1.0 - train - valid);
        let boundary = if targets_only { Boundary::TargetsOnly } else { Boundary::Strict };
        check_windows(n, fractions, WindowConfig::new(lookback, horizon, stride), boundary)?;
    }

    /// Fill policies on random columns with gaps.
    #[test]
    fn fills_stay_within_present_values(
        cells in proptest::collection::vec(proptest::option::of(-1000i32..1000), 1..40),
    ) {
        prop_assume!(cells.iter().any(Option::is_some));
        check_fills(&cells)?;
    }
}

/// A CDC-style daily births file: the date spread over year, month and day columns.
fn births_csv(name: &str, rows: &[(i32, u32, u32, f64)]) -> PathBuf {
    let mut text = String::from("year,month,day,gender,births\n");
    for &(y, m, d, b) in rows {
        text.push_str(&format!("{y},{m},{d},F,{b}\n"));
    }
    let path = std::env::temp_dir().join(format!("births-{name}-{}.csv", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn dates_spread_over_year_month_day_columns_read_as_one_date() {
    let rows: Vec<(i32, u32, u32, f64)> = (0..40)
        .map(|k| {
            let date = NaiveDate::from_ymd_opt(1969, 12, 20).unwrap() + chrono::Days::new(k);
            (date.year(), date.month(), date.day(), 4000.0 + k as f64)
        })
        .collect();
    let path = births_csv("days", &rows);
    let series = load_series(&path, &SeriesOptions::new("births")).unwrap();
    assert_eq!(series.date_column(), Some("year,month,day"));
    let dates = series.dates().unwrap();
    assert_eq!(
        dates[0].date(),
        NaiveDate::from_ymd_opt(1969, 12, 20).unwrap()
    );
    assert_eq!(
        dates[12].date(),
        NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()
    );
    assert_eq!(series.date_label(12).as_deref(), Some("1970-01-01"));
    series.check_increasing().unwrap();
    // Named explicitly, with an hour column, the same columns give date-times.
    let hours = "year,month,day,hour,births\n2020,3,1,22,1\n2020,3,1,23,2\n2020,3,2,0,3\n";
    let path_h = std::env::temp_dir().join(format!("hours-{}.csv", std::process::id()));
    std::fs::write(&path_h, hours).unwrap();
    let series = load_series(
        &path_h,
        &SeriesOptions::new("births").with_date_column("year,month,day,hour"),
    )
    .unwrap();
    assert_eq!(series.date_label(2).as_deref(), Some("2020-03-02 00:00:00"));
    // Inspect reports the composite date and its order.
    let report = inspect_csv(&path).unwrap().to_string();
    assert!(
        report.contains("date from columns year,month,day: 1969-12-20 .. 1970-01-28, increasing"),
        "{report}"
    );
}

#[test]
fn a_date_that_repeats_or_goes_back_is_an_error_naming_its_line() {
    // The year column alone as the date: every day of 1970 has the same date.
    let rows = [(1970, 1, 1, 1.0), (1970, 1, 2, 2.0), (1970, 1, 3, 3.0)];
    let path = births_csv("year-only", &rows);
    let series = load_series(
        &path,
        &SeriesOptions::new("births").with_date_column("year"),
    )
    .unwrap();
    let err = series.check_increasing().unwrap_err().to_string();
    assert!(err.contains(":3:") && err.contains("repeats"), "{err}");
    assert!(err.contains("--date-columns year,month,day"), "{err}");
    // Going back, and 30 February.
    let path = births_csv("back", &[(1970, 1, 2, 1.0), (1970, 1, 1, 2.0)]);
    let series = load_series(&path, &SeriesOptions::new("births")).unwrap();
    let err = series.check_increasing().unwrap_err().to_string();
    assert!(err.contains(":3:") && err.contains("goes back"), "{err}");
    let report = inspect_csv(&path).unwrap().to_string();
    assert!(report.contains("NOT increasing: line 3"), "{report}");
    let path = births_csv("feb30", &[(1970, 2, 28, 1.0), (1970, 2, 30, 2.0)]);
    let err = load_series(&path, &SeriesOptions::new("births"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(":3:") && err.contains("1970/2/30 is not a date"),
        "{err}"
    );
}

#[test]
fn next_dates_step_by_calendar_months_years_or_the_last_interval() {
    let day = |y, m, d| {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    };
    // Monthly: calendar months, across a year end (31 Jan + 1 month clamps to 29 Feb 2024).
    let months = [day(2023, 11, 1), day(2023, 12, 1)];
    let next = recurrent_data::series::next_dates(&months, DateFormat::Month, 3);
    assert_eq!(next, [day(2024, 1, 1), day(2024, 2, 1), day(2024, 3, 1)]);
    let next = recurrent_data::series::next_dates(&[day(2024, 1, 31)], DateFormat::Month, 1);
    assert_eq!(next, [day(2024, 2, 29)]);
    // Yearly: whole years.
    let next = recurrent_data::series::next_dates(
        &[day(2019, 1, 1), day(2020, 1, 1)],
        DateFormat::Year,
        2,
    );
    assert_eq!(next, [day(2021, 1, 1), day(2022, 1, 1)]);
    // Daily: the last interval (two days here).
    let next = recurrent_data::series::next_dates(
        &[day(2024, 2, 26), day(2024, 2, 28)],
        DateFormat::Date,
        2,
    );
    assert_eq!(next, [day(2024, 3, 1), day(2024, 3, 3)]);
    assert!(recurrent_data::series::next_dates(&[], DateFormat::Date, 2).is_empty());
}
