//! `cargo xtask train forecast`: a forecaster of one column of a CSV time series (the zoo's
//! `Forecaster`: `--model rnn|lstm|gru|ln-lstm|cnn-lstm|lstm-attention`), scored on the
//! chronological tail against the naive and seasonal-naive baselines (MAE, RMSE, sMAPE,
//! MASE); and `predict` for its runs, which forecasts the next horizon after a series.
//!
//! The run directory gets `config.toml` (every setting, the season, lookback and split
//! sizes resolved), `scaler.json`, the weights (`model.safetensors`, or
//! `members/member-K/model.safetensors` for an ensemble), `metrics.csv`, `metrics.json`,
//! `forecast.csv`, `loss.png` and `forecast.png`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, bail};
use clap::Args;
use recurrent::backend::Backend;
use recurrent::burn::tensor::Device;
use recurrent::data::series::{
    MissingPolicy, SeriesOptions, Table, TimeSeries, load_series, next_dates,
};
use recurrent::train::ensemble::train_members;
use recurrent::train::forecast::{
    ForecastConfig, ForecastMember, ForecastMode, ForecastSetup, MODEL_FILE, SCALER_FILE,
    WindowNorm, average, forecast_next, load_run,
};
use recurrent::train::plot::{self, Series};
use recurrent::train::weights::save_weights;
use recurrent::train::{ForecastScores, History, Progress, RunDir, SavedRun};
use recurrent::zoo::RecurrentKind;
use recurrent::zoo::models::ForecastArchitecture;
use serde::Serialize;

use super::TaskCtx;

/// The series `cargo xtask train forecast` uses without `--data`.
const AIRLINE: &str = "data/ts_airline_passengers.csv";
/// Its target column.
const AIRLINE_TARGET: &str = "Passengers";

/// The `--model` choices of `forecast`: a plain recurrent network of one cell, or a hybrid
/// whose recurrent cell `--cell` chooses (LSTM by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForecastModelChoice {
    /// `rnn`, `lstm`, `gru` or `ln-lstm`: the plain recurrent forecaster with that cell.
    Plain(RecurrentKind),
    /// `cnn-lstm`: a causal convolution, then the recurrent layer.
    CnnRecurrent,
    /// `lstm-attention`: the recurrent layer, then attention over its outputs.
    RecurrentAttention,
}

impl FromStr for ForecastModelChoice {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "cnn-lstm" => Ok(Self::CnnRecurrent),
            "lstm-attention" => Ok(Self::RecurrentAttention),
            other => other.parse().map(Self::Plain).map_err(|_| {
                format!("{other:?} (expected rnn, lstm, gru, ln-lstm, cnn-lstm or lstm-attention)")
            }),
        }
    }
}

impl fmt::Display for ForecastModelChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plain(kind) => write!(f, "{kind}"),
            Self::CnnRecurrent => f.write_str("cnn-lstm"),
            Self::RecurrentAttention => f.write_str("lstm-attention"),
        }
    }
}

/// Options of `forecast` (besides the common ones: `--cell`, `--hidden`, `--layers`,
/// `--epochs`, `--lr`, `--batch-size`, `--seed`, `--patience`, `--ensemble`, …). Unset
/// options keep the default, or the setting of `--config` / the resumed run.
#[derive(Args, Debug, Clone, Default)]
pub struct ForecastArgs {
    /// Network: rnn, lstm, gru, ln-lstm (a recurrent layer), cnn-lstm (a causal
    /// convolution first) or lstm-attention (attention over the recurrent outputs); --cell
    /// chooses the cell of the last two [default: lstm].
    #[arg(long)]
    pub model: Option<ForecastModelChoice>,
    /// CSV file [default: data/ts_airline_passengers.csv, target Passengers].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The column to forecast (required with --data).
    #[arg(long)]
    pub target: Option<String>,
    /// Further input columns, comma-separated (their past values are inputs).
    #[arg(long, value_delimiter = ',')]
    pub covariates: Option<Vec<String>>,
    /// The date column [default: detected: one date-like column, or `year`, `month`,
    /// `day` (and `hour`) columns together].
    #[arg(long, conflicts_with = "date_columns")]
    pub date_column: Option<String>,
    /// The date spread over columns: year,month,day[,hour] (read as one date, as pandas'
    /// to_datetime does).
    #[arg(long, value_delimiter = ',')]
    pub date_columns: Option<Vec<String>>,
    /// Steps forecast from each origin [default: 12].
    #[arg(long)]
    pub horizon: Option<usize>,
    /// Season length for seasonal naive and MASE [default: detected on the training rows].
    #[arg(long)]
    pub season: Option<usize>,
    /// Missing values: error, interpolate, ffill or drop [default: error].
    #[arg(long)]
    pub missing: Option<MissingPolicy>,
    /// direct (all steps at once) or autoregressive (one step, rolled out; scheduled
    /// sampling in training) [default: direct].
    #[arg(long)]
    pub mode: Option<ForecastMode>,
    /// Input steps per window [default: two seasons (at most 104) or two horizons, the
    /// longer].
    #[arg(long)]
    pub lookback: Option<usize>,
    /// Test rows, the chronological tail [default: about 10 % in whole horizons, at least
    /// two horizons].
    #[arg(long)]
    pub test_size: Option<usize>,
    /// Validation rows before the test rows [default: as many as the test rows].
    #[arg(long)]
    pub valid_size: Option<usize>,
    /// Scale ln(1 + x) rather than x (true or false) [default: true when the training rows
    /// are not negative].
    #[arg(long)]
    pub log: Option<bool>,
    /// Window normalisation: last (subtract each window's last input value) or none
    /// [default: last].
    #[arg(long)]
    pub normalize: Option<WindowNorm>,
}

/// One member's results in `metrics.json`.
#[derive(Serialize)]
struct MemberMetrics {
    member: usize,
    seed: u64,
    epochs_run: usize,
    best_epoch: Option<usize>,
    train_seconds: f64,
    /// The validation metrics of the kept epoch (`loss`, `mase`).
    valid: BTreeMap<String, f64>,
    test: ForecastScores,
}

/// The model's and the baselines' test scores.
#[derive(Serialize)]
struct TestScores {
    model: ForecastScores,
    naive: ForecastScores,
    seasonal_naive: ForecastScores,
}

/// The test forecasts, row by row.
#[derive(Serialize)]
struct TestForecast {
    rows: Vec<usize>,
    dates: Option<Vec<String>>,
    actual: Vec<f64>,
    model: Vec<f64>,
    naive: Vec<f64>,
    seasonal_naive: Vec<f64>,
}

#[derive(Serialize)]
struct ForecastMetrics {
    task: &'static str,
    backend: String,
    /// Epochs run, summed over the members.
    epochs_run: usize,
    /// Seconds of training, summed over the members.
    train_seconds: f64,
    season: usize,
    season_detected: bool,
    horizon: usize,
    lookback: usize,
    mode: ForecastMode,
    test_points: usize,
    valid_points: usize,
    ensemble: usize,
    test: TestScores,
    /// The same on the validation rows (block forecasts from the validation rows' start),
    /// when there are any.
    valid: Option<TestScores>,
    /// Whether the model's MASE is below both baselines'.
    beats_baselines: bool,
    members: Vec<MemberMetrics>,
    forecast: TestForecast,
}

/// The settings of this run: the saved ones or the defaults, then the options typed.
fn settings(ctx: &TaskCtx, args: &ForecastArgs) -> Result<ForecastConfig> {
    let from_file = ctx.common.config.is_some() || ctx.resume;
    let mut config = ctx.settings(ForecastConfig::new(AIRLINE, AIRLINE_TARGET))?;
    if let Some(data) = &args.data {
        config.data = data.clone();
        if args.target.is_none() && !from_file {
            let table = Table::read(data)?;
            bail!(
                "--target COLUMN is required with --data; {} has the columns {}",
                data.display(),
                table.header().join(", ")
            );
        }
    }
    if let Some(target) = &args.target {
        config.target = target.clone();
    }
    if let Some(covariates) = &args.covariates {
        config.covariates = covariates
            .iter()
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .collect();
    }
    if let Some(column) = &args.date_column {
        config.date_column = Some(column.clone());
    }
    if let Some(columns) = &args.date_columns {
        if !(3..=4).contains(&columns.len()) {
            anyhow::bail!(
                "--date-columns {}: give year,month,day or year,month,day,hour",
                columns.join(",")
            );
        }
        config.date_column = Some(columns.join(","));
    }
    if let Some(horizon) = args.horizon {
        config.horizon = horizon;
    }
    if let Some(season) = args.season {
        config.season = Some(season);
    }
    if let Some(missing) = args.missing {
        config.missing = missing;
    }
    if let Some(mode) = args.mode {
        config.mode = mode;
    }
    if let Some(lookback) = args.lookback {
        config.lookback = Some(lookback);
    }
    if let Some(test) = args.test_size {
        config.test_points = Some(test);
    }
    if let Some(valid) = args.valid_size {
        config.valid_points = Some(valid);
    }
    if let Some(log) = args.log {
        config.log = Some(log);
    }
    if let Some(normalize) = args.normalize {
        config.normalize = normalize;
    }
    let c = &ctx.common;
    match args.model {
        Some(ForecastModelChoice::Plain(kind)) => {
            if c.cell.is_some_and(|cell| cell != kind) {
                bail!(
                    "--model {kind} and --cell {} disagree; give one",
                    c.cell.unwrap_or(kind)
                );
            }
            config.model.architecture = ForecastArchitecture::Recurrent;
            config.model.kind = kind;
        }
        Some(hybrid) => {
            config.model.architecture = match hybrid {
                ForecastModelChoice::CnnRecurrent => ForecastArchitecture::CnnRecurrent,
                _ => ForecastArchitecture::RecurrentAttention,
            };
            config.model.kind = RecurrentKind::Lstm;
        }
        None => {}
    }
    ctx.apply_model_options(
        &mut config.model.kind,
        &mut config.model.d_hidden,
        &mut config.model.n_layers,
        &mut config.batch_size,
    );
    if c.ensemble.is_some() {
        config.ensemble = ctx.members()?;
    }
    ctx.apply_fit_options(&mut config.fit)?;
    Ok(config)
}

/// Runs `forecast`.
pub fn run(ctx: &TaskCtx, args: &ForecastArgs) -> Result<()> {
    let config = settings(ctx, args)?;
    let setup = ForecastSetup::new(&config)?;
    let config = setup.config().clone();
    ctx.write_config("forecast", &config)?;
    let root = ctx.run_dir.root();
    setup.scaler().save(root.join(SCALER_FILE))?;
    let season = setup.season();
    let test = setup.test_rows();
    println!(
        "forecast: {} column {:?}{} on {}: {} rows, {} {} {}x{}, lookback {}, horizon {}, season {}{}, test = last {} rows, validation {} rows, {} member{}",
        config.data.display(),
        config.target,
        if config.covariates.is_empty() {
            String::new()
        } else {
            format!(" (covariates {})", config.covariates.join(", "))
        },
        recurrent::backend::describe(ctx.backend, &ctx.device),
        setup.series().len(),
        config.mode,
        model_name(&config),
        config.model.n_layers,
        config.model.d_hidden,
        setup.shape().lookback,
        config.horizon,
        season,
        if setup.season_detected() {
            " (detected)"
        } else {
            ""
        },
        test.len(),
        setup.valid_rows().len(),
        config.ensemble,
        if config.ensemble == 1 { "" } else { "s" }
    );

    let (members, dirs) = train_members_of(ctx, &setup, config.ensemble)?;
    let forecasts: Vec<Vec<f64>> = members.iter().map(|m| m.forecast.clone()).collect();
    let model_forecast = average(&forecasts)?;
    let naive = setup.naive()?;
    let seasonal = setup.seasonal_naive()?;
    let scores = TestScores {
        model: setup.score(&model_forecast)?,
        naive: setup.score(&naive)?,
        seasonal_naive: setup.score(&seasonal)?,
    };

    let valid_rows = setup.valid_rows();
    let valid = if valid_rows.is_empty() {
        None
    } else {
        let mut forecasts = Vec::with_capacity(members.len());
        for m in &members {
            forecasts.push(setup.model_forecast_rows(&m.model, valid_rows.clone(), &ctx.device)?);
        }
        let score = |f: &[f64]| setup.score_rows(valid_rows.clone(), f);
        Some(TestScores {
            model: score(&average(&forecasts)?)?,
            naive: score(&setup.naive_rows(valid_rows.clone())?)?,
            seasonal_naive: score(&setup.seasonal_naive_rows(valid_rows.clone())?)?,
        })
    };

    // Weights, histories and loss curves.
    if members.len() == 1 {
        let member = &members[0];
        save_weights(&member.model, &root.join(MODEL_FILE))?;
        member.history.write_csv(&ctx.run_dir.metrics_csv_path())?;
        if !member.history.is_empty() {
            plot::loss_curves(&root.join("loss.png"), &member.history)?;
        }
    } else {
        for (member, dir) in members.iter().zip(&dirs) {
            save_weights(&member.model, &dir.root().join(MODEL_FILE))?;
            member.history.write_csv(&dir.metrics_csv_path())?;
            if !member.history.is_empty() {
                plot::loss_curves(&dir.root().join("loss.png"), &member.history)?;
            }
        }
        ctx.run_dir
            .write_file("metrics.csv", members_csv(&members).as_bytes())?;
        members_loss_plot(&root.join("loss.png"), &members)?;
    }

    let dates: Option<Vec<String>> = setup.series().dates().map(|_| {
        test.clone()
            .map(|r| setup.series().date_label(r).unwrap_or_default())
            .collect()
    });
    let forecast = TestForecast {
        rows: test.clone().collect(),
        dates,
        actual: setup.test_actual(),
        model: model_forecast,
        naive,
        seasonal_naive: seasonal,
    };
    ctx.run_dir
        .write_file("forecast.csv", forecast_csv(&forecast).as_bytes())?;
    forecast_plot(&root.join("forecast.png"), &setup, &forecast)?;

    let best = scores.naive.mase.min(scores.seasonal_naive.mase);
    let metrics = ForecastMetrics {
        task: "forecast",
        backend: ctx.backend.name().to_owned(),
        epochs_run: members.iter().map(|m| m.history.len()).sum(),
        train_seconds: members.iter().map(|m| m.train_seconds).sum(),
        season,
        season_detected: setup.season_detected(),
        horizon: config.horizon,
        lookback: setup.shape().lookback,
        mode: config.mode,
        test_points: test.len(),
        valid_points: setup.valid_rows().len(),
        ensemble: members.len(),
        beats_baselines: scores.model.mase < best,
        test: scores,
        valid,
        members: members
            .iter()
            .enumerate()
            .map(|(k, m)| MemberMetrics {
                member: k + 1,
                seed: m.seed,
                epochs_run: m.history.len(),
                best_epoch: m.best_epoch,
                train_seconds: m.train_seconds,
                valid: kept_valid(m),
                test: m.scores,
            })
            .collect(),
        forecast,
    };
    ctx.run_dir.write_json("metrics.json", &metrics)?;
    print_summary(&metrics);
    println!("run directory: {}", root.display());
    Ok(())
}

/// The network as `--model` names it (`lstm`, `cnn-gru`, `lstm-attention`, ...).
fn model_name(config: &ForecastConfig) -> String {
    let kind = config.model.kind;
    match config.model.architecture {
        ForecastArchitecture::Recurrent => kind.to_string(),
        ForecastArchitecture::CnnRecurrent => format!("cnn-{kind}"),
        ForecastArchitecture::RecurrentAttention => format!("{kind}-attention"),
    }
}

/// Trains `n` members (seeds `seed`, `seed + 1`, …): one model checkpointed into the run
/// directory, or each member into `members/member-K` (the members' directories are
/// returned with them; none for a single model).
fn train_members_of(
    ctx: &TaskCtx,
    setup: &ForecastSetup,
    n: usize,
) -> Result<(Vec<ForecastMember>, Vec<RunDir>)> {
    let seed = setup.config().fit.seed;
    let trained = train_members(&ctx.run_dir, n, seed, ctx.resume, |spec| {
        let mut progress = Progress::new().with_prefix(spec.progress_prefix());
        let member = setup.train(spec.seed, &ctx.device, Some(&spec.dir), spec.resume, |e| {
            progress.observe(e)
        })?;
        if spec.in_ensemble() {
            println!(
                "member {}/{n} (seed {}): test MASE {:.3}, {} epochs, {:.1} s",
                spec.k,
                spec.seed,
                member.scores.mase,
                member.history.len(),
                member.train_seconds
            );
        }
        Ok(member)
    })?;
    let dirs = if n > 1 {
        trained.iter().map(|m| m.spec.dir.clone()).collect()
    } else {
        Vec::new()
    };
    Ok((trained.into_iter().map(|m| m.result).collect(), dirs))
}

/// The validation metrics of the epoch whose weights a member kept (the best, else the
/// last).
fn kept_valid(member: &ForecastMember) -> BTreeMap<String, f64> {
    let records = member.history.records();
    member
        .best_epoch
        .and_then(|e| records.iter().find(|r| r.epoch == e))
        .or(records.last())
        .map(|r| r.valid.clone())
        .unwrap_or_default()
}

/// Per-member, per-epoch records: `member,epoch,seconds,loss,val_loss,val_mase`.
fn members_csv(members: &[ForecastMember]) -> String {
    let mut out = String::from("member,epoch,seconds,loss,val_loss,val_mase\n");
    for (k, m) in members.iter().enumerate() {
        for r in m.history.records() {
            let get = |map: &BTreeMap<String, f64>, key: &str| {
                map.get(key).map(|v| v.to_string()).unwrap_or_default()
            };
            out.push_str(&format!(
                "{},{},{},{},{},{}\n",
                k + 1,
                r.epoch,
                r.seconds,
                get(&r.train, "loss"),
                get(&r.valid, "loss"),
                get(&r.valid, "mase")
            ));
        }
    }
    out
}

/// The validation loss of every member in one plot, with the training losses too when
/// that stays within the plot's six colours (three members or fewer).
fn members_loss_plot(path: &Path, members: &[ForecastMember]) -> Result<()> {
    let both = members.len() <= 3;
    let mut series = Vec::new();
    for (k, m) in members.iter().enumerate() {
        let (x, y) = curve(&m.history, "loss", true);
        series.push(Series::new(format!("member {} val_loss", k + 1), x, y));
        if both {
            let (x, y) = curve(&m.history, "loss", false);
            series.push(Series::new(format!("member {} loss", k + 1), x, y));
        }
    }
    plot::lines(path, "Loss per epoch", "epoch", "loss", &series)?;
    Ok(())
}

fn curve(history: &History, key: &str, valid: bool) -> (Vec<f64>, Vec<f64>) {
    history
        .records()
        .iter()
        .filter_map(|r| {
            let map = if valid { &r.valid } else { &r.train };
            map.get(key).map(|&v| (r.epoch as f64, v))
        })
        .unzip()
}

fn forecast_csv(f: &TestForecast) -> String {
    let mut out = String::from("row,date,actual,model,naive,seasonal_naive\n");
    for i in 0..f.rows.len() {
        let date = f.dates.as_ref().map(|d| d[i].as_str()).unwrap_or("");
        out.push_str(&format!(
            "{},{},{},{},{},{}\n",
            f.rows[i], date, f.actual[i], f.model[i], f.naive[i], f.seasonal_naive[i]
        ));
    }
    out
}

/// The x coordinate of row `row`: its date as a fractional year when the series has
/// dates, else the row index.
fn x_of(series: &TimeSeries, row: usize) -> f64 {
    match series.dates() {
        Some(dates) => year_fraction(&dates[row]),
        None => row as f64,
    }
}

/// `date` as a fractional year (1960-07-01 is about 1960.5).
fn year_fraction(date: &chrono::NaiveDateTime) -> f64 {
    use chrono::{Datelike, Timelike};
    let days = if date.date().leap_year() {
        366.0
    } else {
        365.0
    };
    let day = f64::from(date.ordinal0()) + f64::from(date.num_seconds_from_midnight()) / 86_400.0;
    f64::from(date.year()) + day / days
}

/// `forecast.png`: the history before the test (up to four test lengths of it), the
/// actual test values, the model's forecast and both baselines.
fn forecast_plot(path: &Path, setup: &ForecastSetup, f: &TestForecast) -> Result<()> {
    let series = setup.series();
    let test = setup.test_rows();
    let from = test.start.saturating_sub(3 * test.len());
    let history_rows: Vec<usize> = (from..test.start).collect();
    let x_hist: Vec<f64> = history_rows.iter().map(|&r| x_of(series, r)).collect();
    let y_hist: Vec<f64> = history_rows.iter().map(|&r| setup.target()[r]).collect();
    let x_test: Vec<f64> = test.clone().map(|r| x_of(series, r)).collect();
    // The actual line starts at the last history row so that the two join up.
    let joined = test.start.saturating_sub(1)..test.end;
    let x_actual: Vec<f64> = joined.clone().map(|r| x_of(series, r)).collect();
    let y_actual: Vec<f64> = joined.map(|r| setup.target()[r]).collect();
    let lines = [
        Series::new("history", x_hist, y_hist),
        Series::new("actual", x_actual, y_actual),
        Series::new("model", x_test.clone(), f.model.clone()),
        Series::new("naive", x_test.clone(), f.naive.clone()),
        Series::new(
            format!("seasonal naive (m={})", setup.season()),
            x_test,
            f.seasonal_naive.clone(),
        ),
    ];
    let x_label = if series.dates().is_some() {
        "date"
    } else {
        "row"
    };
    plot::lines(
        path,
        &format!("Forecast of {} on the test rows", setup.config().target),
        x_label,
        &setup.config().target,
        &lines,
    )?;
    Ok(())
}

fn print_summary(m: &ForecastMetrics) {
    println!(
        "test ({} rows, horizon {}, season {}):",
        m.test_points, m.horizon, m.season
    );
    println!(
        "  {:<16} {:>10} {:>10} {:>8} {:>7}",
        "", "MAE", "RMSE", "sMAPE%", "MASE"
    );
    for (name, s) in [
        ("model", &m.test.model),
        ("naive", &m.test.naive),
        ("seasonal naive", &m.test.seasonal_naive),
    ] {
        println!(
            "  {name:<16} {:>10.3} {:>10.3} {:>8.2} {:>7.3}",
            s.mae, s.rmse, s.smape, s.mase
        );
    }
    println!(
        "the model {} the better baseline on MASE; {} epochs, {:.1} s of training",
        if m.beats_baselines {
            "beats"
        } else {
            "does not beat"
        },
        m.epochs_run,
        m.train_seconds
    );
}

/// `cargo xtask predict RUN_DIR [--data FILE]` for a forecast run: loads the settings
/// (its `config.toml`), `scaler.json` and the
/// weights (`model.safetensors`, or every member's), reads the series of `data` (default:
/// the run's own data file) with the run's target, covariates, date column and missing
/// policy, and prints the next horizon after its last row, dated when the series has
/// dates.
pub fn predict(run_dir: &Path, data: Option<&Path>, backend: Backend) -> Result<()> {
    let config: ForecastConfig =
        SavedRun::read(&run_dir.join("config.toml"))?.settings_of("forecast")?;
    let data = data.map(Path::to_path_buf).unwrap_or(config.data.clone());
    let mut options = SeriesOptions::new(config.target.clone())
        .with_covariates(config.covariates.iter().cloned())
        .with_missing(config.missing);
    if let Some(column) = &config.date_column {
        options = options.with_date_column(column.clone());
    }
    let series = load_series(&data, &options)?;
    let device: Device = backend.device()?;
    let run = load_run(run_dir, series.n_columns(), &device)
        .with_context(|| format!("{}: is this a finished forecast run?", run_dir.display()))?;
    let values = forecast_next(&run.models, &config, &run.scaler, &series, &device)?;
    let models = &run.models;
    let n = series.len();
    println!(
        "forecast of {:?} after the {n} rows of {} ({} model{}):",
        config.target,
        data.display(),
        models.len(),
        if models.len() == 1 { "" } else { "s" }
    );
    match (series.dates(), series.date_format()) {
        (Some(dates), Some(format)) => {
            for (date, v) in next_dates(dates, format, values.len()).iter().zip(&values) {
                println!("{}\t{v:.4}", format.format(date));
            }
        }
        _ => {
            for (h, v) in values.iter().enumerate() {
                println!("row {}\t{v:.4}", n + h);
            }
        }
    }
    Ok(())
}
