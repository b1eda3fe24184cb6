//! `cargo xtask train forecast` and `cargo xtask predict` on a forecast run, as a user
//! runs them: a short run on a small CSV writes a complete run directory whose
//! `metrics.json` has the fixed keys with finite values; its `config.toml` repeats the
//! run; predict prints the next dates; an ensemble keeps every member; a missing file, an
//! unknown column or a missing --target are clear errors.

mod common;

use common::xtask;
use std::path::{Path, PathBuf};
use std::process::Output;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "recurrent-xtask-forecast-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn monthly_csv(dir: &Path) -> PathBuf {
    let path = dir.join("sales.csv");
    std::fs::write(&path, common::monthly_sales_csv()).unwrap();
    path
}

fn check(run: &Output) -> String {
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    stdout
}

fn metrics(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap()
}

fn assert_scores(value: &serde_json::Value, what: &str) {
    for key in ["mae", "rmse", "smape", "mase"] {
        let v = value[key].as_f64();
        assert!(
            v.is_some_and(f64::is_finite),
            "{what}.{key} = {:?}",
            value[key]
        );
    }
}

#[test]
fn short_run_writes_the_run_directory_and_predict_forecasts_the_next_months() {
    let dir = scratch("run");
    let csv = monthly_csv(&dir);
    let out = dir.join("run");
    let stdout = check(&xtask(&[
        "train",
        "forecast",
        "--data",
        csv.to_str().unwrap(),
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
        out.to_str().unwrap(),
    ]));
    assert!(stdout.contains("Epoch 2/2 - "), "{stdout}");
    assert!(stdout.contains("seasonal naive"), "{stdout}");
    for file in [
        "config.toml",
        "metrics.csv",
        "metrics.json",
        "model.safetensors",
        "scaler.json",
        "forecast.csv",
        "loss.png",
        "forecast.png",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let m = metrics(&out);
    assert_eq!(m["task"], "forecast");
    assert_eq!(m["backend"], "flex");
    assert_eq!(m["epochs_run"], 2);
    assert!(m["train_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(m["season"], 12);
    // 60 rows, horizon 4: at least two horizons and about 10 % → 8 test rows
    assert_eq!(m["test_points"], 8);
    for name in ["model", "naive", "seasonal_naive"] {
        assert_scores(&m["test"][name], name);
    }
    assert_eq!(m["forecast"]["dates"][0], "2004-05");
    assert_eq!(m["forecast"]["model"].as_array().unwrap().len(), 8);
    let csv_lines = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(csv_lines.lines().count(), 3, "{csv_lines}");
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(config.contains("lookback = 24"), "{config}");

    // predict: the four months after 2004-12, from the run's own data
    let stdout = check(&xtask(&["predict", out.to_str().unwrap()]));
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("2005-")).collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    for (line, month) in lines
        .iter()
        .zip(["2005-01", "2005-02", "2005-03", "2005-04"])
    {
        let (date, value) = line.split_once('\t').unwrap();
        assert_eq!(date, month);
        assert!(value.trim().parse::<f64>().unwrap().is_finite(), "{line}");
    }

    // the saved settings repeat the run
    let again = dir.join("again");
    check(&xtask(&[
        "train",
        "--config",
        out.join("config.toml").to_str().unwrap(),
        "--epochs",
        "1",
        "--out",
        again.to_str().unwrap(),
    ]));
    let m = metrics(&again);
    assert_eq!(m["task"], "forecast");
    assert_eq!(m["epochs_run"], 1);
    assert_eq!(m["season"], 12);
}

#[test]
fn autoregressive_ensemble_keeps_every_member() {
    let dir = scratch("ensemble");
    let csv = monthly_csv(&dir);
    let out = dir.join("run");
    check(&xtask(&[
        "train",
        "forecast",
        "--data",
        csv.to_str().unwrap(),
        "--target",
        "sales",
        "--mode",
        "autoregressive",
        "--cell",
        "gru",
        "--horizon",
        "3",
        "--lookback",
        "6",
        "--season",
        "12",
        "--ensemble",
        "2",
        "--epochs",
        "1",
        "--hidden",
        "4",
        "--out",
        out.to_str().unwrap(),
    ]));
    let m = metrics(&out);
    assert_eq!(m["ensemble"], 2);
    assert_eq!(m["mode"], "autoregressive");
    let members = m["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    assert_ne!(members[0]["seed"], members[1]["seed"]);
    for member in members {
        assert_scores(&member["test"], "member");
    }
    assert_scores(&m["test"]["model"], "ensemble");
    for k in [1, 2] {
        let member = out.join("members").join(format!("member-{k}"));
        assert!(member.join("model.safetensors").is_file());
        assert!(member.join("metrics.csv").is_file());
    }
    let stdout = check(&xtask(&["predict", out.to_str().unwrap()]));
    assert!(stdout.contains("2 models"), "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("2005-")).count(), 3);
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = scratch("errors");
    let csv = monthly_csv(&dir);
    let run = |args: &[&str]| {
        let out = xtask(args);
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let out = dir.join("x");
    let out = out.to_str().unwrap();

    let missing = dir.join("nope.csv");
    let err = run(&[
        "train",
        "forecast",
        "--data",
        missing.to_str().unwrap(),
        "--target",
        "y",
        "--out",
        out,
    ]);
    assert!(err.contains("nope.csv"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let err = run(&[
        "train",
        "forecast",
        "--data",
        csv.to_str().unwrap(),
        "--target",
        "revenue",
        "--out",
        out,
    ]);
    assert!(err.contains("revenue") && err.contains("sales"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let err = run(&[
        "train",
        "forecast",
        "--data",
        csv.to_str().unwrap(),
        "--out",
        out,
    ]);
    assert!(err.contains("--target"), "{err}");
    assert!(err.contains("month, sales, price"), "{err}");

    let err = run(&[
        "train",
        "forecast",
        "--data",
        csv.to_str().unwrap(),
        "--target",
        "sales",
        "--missing",
        "guess",
        "--out",
        out,
    ]);
    assert!(err.contains("guess"), "{err}");
}

#[test]
fn dates_spread_over_columns_forecast_and_date_the_next_days() {
    let dir = scratch("births");
    // 200 days from 1969-12-01 with a weekly pattern, the date in year, month, day columns.
    let mut text = String::from("year,month,day,births\n");
    let start = chrono::NaiveDate::from_ymd_opt(1969, 12, 1).unwrap();
    for k in 0..200u64 {
        use chrono::Datelike;
        let date = start + chrono::Days::new(k);
        let births = 9000.0 + 500.0 * ((k % 7) as f64) + k as f64;
        text.push_str(&format!(
            "{},{},{},{births}\n",
            date.year(),
            date.month(),
            date.day()
        ));
    }
    let csv = dir.join("births.csv");
    std::fs::write(&csv, text).unwrap();
    let out = dir.join("run");
    let stdout = check(&xtask(&[
        "train",
        "forecast",
        "--data",
        csv.to_str().unwrap(),
        "--target",
        "births",
        "--date-columns",
        "year,month,day",
        "--horizon",
        "7",
        "--epochs",
        "1",
        "--hidden",
        "8",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(stdout.contains("Epoch 1/1"), "{stdout}");
    let forecast = std::fs::read_to_string(out.join("forecast.csv")).unwrap();
    // The last day of the file is 1970-06-18; the test forecasts are dated by day.
    assert!(forecast.contains("1970-06-18"), "{forecast}");
    let predicted = check(&xtask(&[
        "predict",
        out.to_str().unwrap(),
        "--data",
        csv.to_str().unwrap(),
    ]));
    assert!(predicted.contains("1970-06-19"), "{predicted}");

    // The year column alone as the date repeats on line 3: a clear error.
    let run = xtask(&[
        "train",
        "forecast",
        "--data",
        csv.to_str().unwrap(),
        "--target",
        "births",
        "--date-column",
        "year",
        "--out",
        dir.join("bad").to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("births.csv:3") && err.contains("repeats") && !err.contains("panicked"),
        "{err}"
    );
}
