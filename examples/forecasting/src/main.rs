//! Forecasting monthly airline passengers with an LSTM, through the library API, scored
//! against the naive and seasonal-naive baselines on the last 24 months.
//!
//! What it shows:
//!
//! - [`ForecastConfig`]: the settings (target column, horizon, season, test size, model,
//!   training loop); settings left `None` are resolved from the data;
//! - [`ForecastSetup`]: the series loaded, split in time (training, validation, test
//!   rows), scaled on the training rows and cut into windows;
//! - [`ForecastSetup::train`]: one model trained through the shared loop (early stopping on
//!   the validation loss, best weights restored), its test forecast and scores, with an
//!   observer that prints every 25th epoch;
//! - [`ForecastSetup::naive`], [`ForecastSetup::seasonal_naive`] and
//!   [`ForecastSetup::score`]: the baselines forecast exactly the same test rows from the
//!   same origins, and all three get MAE, RMSE, sMAPE and MASE;
//! - [`plot::lines`]: `forecast.png`, the history, the actual test values, the model and
//!   the baselines.
//!
//! Run it from anywhere in the workspace (a few seconds of training):
//!
//! ```sh
//! cargo run --release -p recurrent-example-forecasting
//! cargo run --release -p recurrent-example-forecasting -- --out /tmp/airline.png --seed 7
//! ```
//!
//! Another backend: `--no-default-features --features wgpu` (or `ndarray`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::Datelike;
use clap::Parser;
use recurrent::backend::Backend;
use recurrent::data::series::TimeSeries;
use recurrent::train::fit::FitEvent;
use recurrent::train::forecast::{ForecastConfig, ForecastSetup};
use recurrent::train::plot::{self, Series};
use recurrent::train::{ForecastScores, keras_line};

/// Forecast the airline passengers series and compare the model with the baselines.
#[derive(Parser, Debug)]
struct Args {
    /// Where to write the plot.
    #[arg(long, default_value = "forecast.png")]
    out: PathBuf,
    /// Seed of the weights and the batch order.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// A file of the workspace's `data/` directory, wherever the example is run from.
fn bundled(file: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    // examples/forecasting -> the workspace root
    let root = manifest.ancestors().nth(2).unwrap_or(manifest);
    root.join("data").join(file)
}

/// The x coordinate of row `row`: its date as a fractional year (1960-07 is 1960.5) when
/// the series has dates, else the row index.
fn x_of(series: &TimeSeries, row: usize) -> f64 {
    match series.dates().and_then(|dates| dates.get(row)) {
        Some(date) => f64::from(date.year()) + f64::from(date.month0()) / 12.0,
        None => row as f64,
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let data = bundled("ts_airline_passengers.csv");

    // Forecast 12 months ahead from each origin; monthly data, so a season of 12 (left
    // `None`, it would be detected on the training rows); the last 24 months are the test
    // rows, the 24 before them the validation rows (early stopping). Everything else keeps
    // the library's defaults: 2 stacked LSTM layers of 32 on windows of two seasons, log
    // scaling, each window taken relative to its last value, Adam 0.005 for up to 300
    // epochs with early stopping (patience 40).
    let mut config = ForecastConfig::new(data.clone(), "Passengers");
    config.horizon = 12;
    config.season = Some(12);
    config.test_points = Some(24);
    // A safety net: the run normally ends by early stopping long before.
    config.fit.max_minutes = Some(2.0);

    let setup =
        ForecastSetup::new(&config).with_context(|| format!("preparing {}", data.display()))?;
    let series = setup.series();
    let resolved = setup.config();
    let label = |row: usize| series.date_label(row).unwrap_or_else(|| row.to_string());
    let test = setup.test_rows();
    println!(
        "{}: {} months; train {} rows, validation {}, test {} ({} to {}); lookback {}, horizon {}",
        data.display(),
        series.len(),
        setup.train_rows().len(),
        setup.valid_rows().len(),
        test.len(),
        label(test.start),
        label(test.end - 1),
        resolved.lookback.unwrap_or_default(),
        resolved.horizon,
    );

    // `train` takes a plain device and trains on its autodiff twin. The observer sees every
    // event of the loop; this one prints a Keras-style line every 25 epochs (pass
    // `|e| progress.observe(e)` with a `recurrent::train::Progress` for a bar per epoch).
    let device = Backend::default_compiled()?.device()?;
    let mut epochs = 0;
    let member = setup.train(args.seed, &device, None, false, |event| match event {
        FitEvent::EpochStart { epochs: n, .. } => epochs = n,
        FitEvent::EpochEnd(record) if record.epoch == 1 || record.epoch % 25 == 0 => {
            println!("{}", keras_line(record.epoch, epochs, record));
        }
        _ => {}
    })?;
    println!(
        "{} epochs in {:.1} s ({}), weights of epoch {} kept",
        member.history.len(),
        member.train_seconds,
        member.stop,
        member
            .best_epoch
            .map_or_else(|| "(last)".to_owned(), |e| e.to_string()),
    );

    // The baselines forecast the same test rows, block by block from the same origins.
    let naive = setup.naive()?;
    let seasonal_naive = setup.seasonal_naive()?;
    let rows: [(String, ForecastScores); 3] = [
        ("LSTM".to_owned(), member.scores),
        ("naive".to_owned(), setup.score(&naive)?),
        (
            format!("seasonal naive (m={})", setup.season()),
            setup.score(&seasonal_naive)?,
        ),
    ];
    println!(
        "\n{:<22} {:>8} {:>8} {:>8} {:>7}",
        format!("test ({} months)", test.len()),
        "MAE",
        "RMSE",
        "sMAPE%",
        "MASE"
    );
    for (name, s) in &rows {
        println!(
            "{name:<22} {:>8.2} {:>8.2} {:>8.2} {:>7.3}",
            s.mae, s.rmse, s.smape, s.mase
        );
    }

    // The plot: three years of history, the actual test values (joined to the history) and
    // the three forecasts.
    let target = setup.target();
    let history: Vec<usize> = (test.start.saturating_sub(36)..test.start).collect();
    let joined: Vec<usize> = (test.start.saturating_sub(1)..test.end).collect();
    let xs = |rows: &[usize]| -> Vec<f64> { rows.iter().map(|&r| x_of(series, r)).collect() };
    let ys = |rows: &[usize]| -> Vec<f64> { rows.iter().map(|&r| target[r]).collect() };
    let test_rows: Vec<usize> = test.collect();
    let x_test = xs(&test_rows);
    let lines = [
        Series::new("history", xs(&history), ys(&history)),
        Series::new("actual", xs(&joined), ys(&joined)),
        Series::new("LSTM", x_test.clone(), member.forecast.clone()),
        Series::new("naive", x_test.clone(), naive),
        Series::new("seasonal naive", x_test, seasonal_naive),
    ];
    plot::lines(
        &args.out,
        "Airline passengers: the last 24 months",
        "year",
        "passengers (thousands)",
        &lines,
    )?;
    println!("\nwrote {}", args.out.display());
    Ok(())
}
