//! The forecasting task: the baselines forecast exactly the test rows, block by block; a
//! small LSTM learns a noisy seasonal series and beats the naive forecast; the
//! autoregressive roll-out with teacher forcing agrees with its fast path and trains;
//! saved weights forecast the same; bad input names the file and column.

use std::path::PathBuf;
use std::sync::Mutex;

use burn::tensor::Device;
use recurrent_data::series::TimeSeries;
use recurrent_train::fit::TeacherForcing;
use recurrent_train::forecast::{
    ForecastConfig, ForecastMode, ForecastSetup, WindowNorm, forecast_blocks, forecast_next,
    model_config,
};
use recurrent_zoo::RecurrentKind;

/// burn's device random generator is global: tests that seed it take turns.
static SEEDED: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SEEDED.lock().unwrap_or_else(|e| e.into_inner())
}

fn series(values: Vec<f64>) -> TimeSeries {
    TimeSeries::new(vec!["y".into()], values).unwrap()
}

/// A noisy seasonal series: level 10, a slow trend, a season of 12 and a fixed
/// pseudo-random noise (so that no lag repeats exactly and MASE has a scale).
fn seasonal(n: usize) -> Vec<f64> {
    let mut state = 12345u64;
    (0..n)
        .map(|t| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5;
            10.0 + 0.02 * t as f64
                + 3.0 * (2.0 * std::f64::consts::PI * t as f64 / 12.0).sin()
                + 0.3 * noise
        })
        .collect()
}

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("recurrent-forecast-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A short run: horizon 4, lookback 8, LSTM of 8, few epochs.
fn small_config(epochs: usize) -> ForecastConfig {
    let mut config = ForecastConfig::new("<input>", "y");
    config.horizon = 4;
    config.lookback = Some(8);
    config.season = Some(3);
    config.test_points = Some(10);
    config.valid_points = Some(8);
    config.model.d_hidden = 8;
    config.fit.epochs = epochs;
    config
}

#[test]
fn blocks_cover_every_test_row_once() {
    assert_eq!(forecast_blocks(30..40, 4), [(30, 4), (34, 4), (38, 2)]);
    assert_eq!(forecast_blocks(0..24, 12), [(0, 12), (12, 12)]);
    assert_eq!(forecast_blocks(5..5, 3), []);
}

#[test]
fn baselines_forecast_the_test_rows_block_by_block() {
    // y[t] = t², 40 rows; test = rows 30..40, blocks from 30, 34, 38 (horizon 4).
    let values: Vec<f64> = (0..40).map(|t| (t * t) as f64).collect();
    let setup = ForecastSetup::from_series(&small_config(1), series(values)).unwrap();
    assert_eq!(setup.test_rows(), 30..40);
    assert_eq!(setup.valid_rows(), 22..30);
    assert_eq!(setup.test_blocks(), [(30, 4), (34, 4), (38, 2)]);
    let actual: Vec<f64> = (30..40).map(|t| (t * t) as f64).collect();
    assert_eq!(setup.test_actual(), actual);
    // naive: the value before each origin (29², 33², 37²)
    assert_eq!(
        setup.naive().unwrap(),
        [
            841.0, 841.0, 841.0, 841.0, 1089.0, 1089.0, 1089.0, 1089.0, 1369.0, 1369.0
        ]
    );
    // seasonal naive, season 3: block at 30 takes y[27], y[28], y[29], then y[27] again;
    // block at 34: y[31], y[32], y[33], y[31]; block at 38: y[35], y[36].
    assert_eq!(
        setup.seasonal_naive().unwrap(),
        [
            729.0, 784.0, 841.0, 729.0, 961.0, 1024.0, 1089.0, 961.0, 1225.0, 1296.0
        ]
    );
    // MASE of the naive forecast: its MAE over the mean |y[t] − y[t−3]| of rows 0..30.
    let naive = setup.score(&setup.naive().unwrap()).unwrap();
    let mae = [
        900.0 - 841.0,
        961.0 - 841.0,
        1024.0 - 841.0,
        1089.0 - 841.0,
        1156.0 - 1089.0,
        1225.0 - 1089.0,
        1296.0 - 1089.0,
        1369.0 - 1089.0,
        1444.0 - 1369.0,
        1521.0 - 1369.0,
    ]
    .iter()
    .sum::<f64>()
        / 10.0;
    // |t² − (t−3)²| = 6t − 9 for t = 3..30: mean of 6t − 9 = 6·16 − 9 = 87
    assert!((naive.mae - mae).abs() < 1e-9, "{} vs {mae}", naive.mae);
    assert!((naive.mase - mae / 87.0).abs() < 1e-9, "{}", naive.mase);
}

#[test]
fn settings_left_open_are_resolved_from_the_data() {
    let mut config = ForecastConfig::new("<input>", "y");
    config.horizon = 6;
    let setup = ForecastSetup::from_series(&config, series(seasonal(240))).unwrap();
    let resolved = setup.config();
    // 10 % of 240 rows in whole horizons: 24; validation as many
    assert_eq!(resolved.test_points, Some(24));
    assert_eq!(resolved.valid_points, Some(24));
    assert!(setup.season_detected());
    assert_eq!(resolved.season, Some(12));
    // two seasons (longer than two horizons)
    assert_eq!(resolved.lookback, Some(24));
    // positive values: log scaling
    assert_eq!(resolved.log, Some(true));
    assert!(setup.scaler().log());

    // values below 0 (temperatures, say): no log, where ln(1 + x) would fail
    let below: Vec<f64> = seasonal(240).iter().map(|v| v - 12.0).collect();
    let setup = ForecastSetup::from_series(&config, series(below)).unwrap();
    assert_eq!(setup.config().log, Some(false));
    assert!(!setup.scaler().log());
}

#[test]
fn scaler_sees_the_training_rows_only() {
    let values = seasonal(120);
    let a = ForecastSetup::from_series(&small_config(1), series(values.clone())).unwrap();
    // every row after the training rows (validation and test) changes
    assert_eq!(a.train_rows(), 0..102);
    let mut changed = values;
    for v in &mut changed[102..] {
        *v += 1000.0;
    }
    let b = ForecastSetup::from_series(&small_config(1), series(changed)).unwrap();
    assert_eq!(a.scaler(), b.scaler());
    assert_ne!(a.test_actual(), b.test_actual());
}

#[test]
fn lstm_learns_a_seasonal_series_and_beats_naive() {
    let _guard = lock();
    let mut config = ForecastConfig::new("<input>", "y");
    config.horizon = 6;
    config.season = Some(12);
    config.lookback = Some(24);
    config.test_points = Some(24);
    config.valid_points = Some(24);
    config.model.d_hidden = 16;
    config.log = Some(false);
    config.fit.epochs = 40;
    config.fit.lr = 1e-2;
    let setup = ForecastSetup::from_series(&config, series(seasonal(200))).unwrap();
    let member = setup
        .train(7, &Device::flex(), None, false, |_| {})
        .unwrap();
    let first = member.history.records()[0].train["loss"];
    let last = member.history.last().unwrap().train["loss"];
    assert!(last < first / 4.0, "loss {first} -> {last}");
    let naive = setup.score(&setup.naive().unwrap()).unwrap();
    assert_eq!(member.forecast.len(), 24);
    assert!(
        member.scores.mase < 0.5 * naive.mase,
        "model MASE {} vs naive {}",
        member.scores.mase,
        naive.mase
    );
    // the scores are those of the forecast against the test rows
    let again = setup.score(&member.forecast).unwrap();
    assert_eq!(again, member.scores);
}

#[test]
fn autoregressive_mode_trains_with_decaying_teacher_forcing() {
    let _guard = lock();
    let mut config = small_config(3);
    config.mode = ForecastMode::Autoregressive;
    config.model.kind = RecurrentKind::Gru;
    config.fit.early_stopping = None;
    config.fit.teacher_forcing = TeacherForcing {
        start: 1.0,
        end: 0.0,
        decay_epochs: 2,
    };
    let setup = ForecastSetup::from_series(&config, series(seasonal(80))).unwrap();
    let member = setup
        .train(1, &Device::flex(), None, false, |_| {})
        .unwrap();
    assert_eq!(member.history.len(), 3);
    for record in member.history.records() {
        assert!(record.train["loss"].is_finite());
        assert!(record.valid["loss"].is_finite());
        assert!(record.valid["mase"].is_finite());
    }
    assert_eq!(member.forecast.len(), 10);
    assert!(member.forecast.iter().all(|v| v.is_finite()));
}

#[test]
fn saved_weights_forecast_the_same_and_next_horizon_follows_the_series() {
    let _guard = lock();
    let mut config = small_config(2);
    config.normalize = WindowNorm::Last;
    config.model.kind = RecurrentKind::Rnn;
    let values = seasonal(80);
    let setup = ForecastSetup::from_series(&config, series(values.clone())).unwrap();
    let device = Device::flex();
    let member = setup.train(5, &device, None, false, |_| {}).unwrap();
    let dir = scratch("weights");
    let path = dir.join("model.safetensors");
    recurrent_train::weights::save_weights(&member.model, &path).unwrap();
    let dict = recurrent_cells::StateDict::load(&path).unwrap();
    // PyTorch names: an `rnn` layer and a `head` read-out of [horizon, hidden]
    assert!(dict.get("rnn.weight_ih_l0").is_some());
    assert_eq!(
        dict.get("head.weight").unwrap().shape().to_vec(),
        vec![4, 8]
    );
    let blank = model_config(setup.config(), 1).unwrap().init(&device);
    let loaded = recurrent_train::weights::load_weights(blank, &path).unwrap();
    let reloaded = setup.model_forecast(&loaded, &device).unwrap();
    for (a, b) in reloaded.iter().zip(&member.forecast) {
        assert!((a - b).abs() < 1e-6 * b.abs().max(1.0), "{a} vs {b}");
    }
    // forecasting after the rows before the test gives the first test block
    let before = series(values[..setup.test_rows().start].to_vec());
    let next = forecast_next(&[loaded], setup.config(), setup.scaler(), &before, &device).unwrap();
    assert_eq!(next.len(), 4);
    for (a, b) in next.iter().zip(&member.forecast[..4]) {
        assert!((a - b).abs() < 1e-6 * b.abs().max(1.0), "{a} vs {b}");
    }
    // a mis-shaped model is an error naming the tensor
    let mut wrong = setup.config().clone();
    wrong.model.d_hidden = 9;
    let blank = model_config(&wrong, 1).unwrap().init(&device);
    let err = recurrent_train::weights::load_weights(blank, &path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("model.safetensors") && err.contains("weight"),
        "{err}"
    );
}

#[test]
fn unknown_column_and_missing_file_are_clear_errors() {
    let dir = scratch("errors");
    let csv = dir.join("s.csv");
    let mut text = String::from("month,sales\n");
    for (t, v) in seasonal(60).iter().enumerate() {
        text.push_str(&format!("{t},{v}\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let config = ForecastConfig::new(&csv, "revenue");
    let err = ForecastSetup::new(&config).unwrap_err().to_string();
    assert!(err.contains("revenue"), "{err}");
    assert!(err.contains("s.csv"), "{err}");
    assert!(err.contains("sales"), "the columns there: {err}");

    let config = ForecastConfig::new(dir.join("nope.csv"), "sales");
    let err = ForecastSetup::new(&config).unwrap_err().to_string();
    assert!(err.contains("nope.csv"), "{err}");

    // too short for the split and one window: the sizes are named
    let mut config = ForecastConfig::new(&csv, "sales");
    config.test_points = Some(24);
    config.valid_points = Some(24);
    config.lookback = Some(24);
    let err = ForecastSetup::new(&config).unwrap_err().to_string();
    assert!(err.contains("lookback 24"), "{err}");

    let mut config = ForecastConfig::new(&csv, "sales");
    config.horizon = 0;
    let err = ForecastSetup::new(&config).unwrap_err().to_string();
    assert!(err.contains("horizon"), "{err}");
}
