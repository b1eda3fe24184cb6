//! Metrics and baselines on real data (the airline passengers series) and on
//! conlleval-style tagging examples, against values worked out by hand.

use std::path::PathBuf;

use recurrent_data::series::{SeriesOptions, load_series};
use recurrent_train::baselines::{detect_season, naive_forecast, seasonal_naive_forecast};
use recurrent_train::metrics::{
    ConfusionMatrix, ForecastScores, PrfScores, accuracy, entity_f1, macro_f1, mae, mase, rmse,
    smape,
};

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

/// Monthly airline passengers 1949-01..1960-12 (144 values).
fn airline() -> Vec<f64> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/ts_airline_passengers.csv");
    let series = load_series(&path, &SeriesOptions::new("Passengers")).expect("airline data");
    let values = series.target();
    assert_eq!(values.len(), 144);
    values
}

fn tags(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn airline_season_is_twelve() {
    // Autocorrelation of the differenced series (worked out separately): lag 12 ≈ 0.829,
    // lag 24 ≈ 0.701, lag 11 ≈ 0.283, lag 13 ≈ 0.285 — lag 12 is the highest peak.
    assert_eq!(detect_season(&airline(), 36), Some(12));
    assert_eq!(detect_season(&airline(), 24), Some(12));
}

#[test]
fn airline_seasonal_naive_scores() {
    let series = airline();
    let (train, test) = series.split_at(132);
    let forecast = seasonal_naive_forecast(train, 12, 12).unwrap();
    // the forecast for 1960 is 1959 as observed
    assert_eq!(
        forecast,
        [
            360.0, 342.0, 406.0, 396.0, 420.0, 472.0, 548.0, 559.0, 463.0, 407.0, 362.0, 405.0
        ]
    );
    assert_eq!(
        test,
        [
            417.0, 391.0, 419.0, 461.0, 472.0, 535.0, 622.0, 606.0, 508.0, 461.0, 390.0, 432.0
        ]
    );
    // |errors| = 57 49 13 65 52 63 74 47 45 54 28 27 → sum 574 → MAE = 574/12
    // squares sum to 30856 → RMSE = √(30856/12)
    // Σ|y[t] − y[t−12]| over the 120 training pairs = 3654 → scale = 3654/120 = 30.45
    // MASE = (574/12) / (3654/120) = 5740/3654
    let scores = ForecastScores::compute(test, &forecast, train, 12).unwrap();
    close(scores.mae, 574.0 / 12.0);
    close(scores.rmse, (30856.0f64 / 12.0).sqrt());
    close(scores.mase, 5740.0 / 3654.0);
    // sMAPE by its other form, 200/n · Σ |F−A|/(|A|+|F|), term by term
    let pairs = test.iter().zip(&forecast);
    let other: f64 = pairs.map(|(a, f)| (f - a).abs() / (a + f)).sum::<f64>() * 200.0 / 12.0;
    close(scores.smape, other);
    assert!(scores.smape > 10.5 && scores.smape < 10.6);

    // naive: 1959-12 = 405 repeated; |errors| = 12 14 14 56 67 130 217 201 103 56 15 27 → 912
    let naive = naive_forecast(train, 12).unwrap();
    close(mae(test, &naive).unwrap(), 912.0 / 12.0);
}

#[test]
fn in_sample_seasonal_naive_has_mase_one() {
    // By definition of the scale, forecasting y[t] by y[t−m] over the training history
    // itself gives MASE = 1 exactly (up to rounding).
    let series = airline();
    let (actual, forecast) = (&series[12..], &series[..series.len() - 12]);
    close(mase(actual, forecast, &series, 12).unwrap(), 1.0);
    close(mase(&series[1..], &series[..143], &series, 1).unwrap(), 1.0);
}

#[test]
fn rmse_of_a_constant_error_is_that_error() {
    let actual = [1.0, -2.0, 3.5, 10.0];
    let forecast: Vec<f64> = actual.iter().map(|a| a - 0.75).collect();
    close(rmse(&actual, &forecast).unwrap(), 0.75);
    close(mae(&actual, &forecast).unwrap(), 0.75);
    // sMAPE of a perfect forecast is 0
    close(smape(&actual, &actual).unwrap(), 0.0);
}

#[test]
fn forecast_scores_serialize() {
    let scores = ForecastScores {
        mae: 1.0,
        rmse: 2.0,
        smape: 3.0,
        mase: 0.5,
    };
    let json = serde_json::to_string(&scores).unwrap();
    assert_eq!(json, r#"{"mae":1.0,"rmse":2.0,"smape":3.0,"mase":0.5}"#);
    let back: ForecastScores = serde_json::from_str(&json).unwrap();
    assert_eq!(back, scores);
}

#[test]
fn entity_f1_over_several_sentences() {
    // S1 gold PER(0,2) LOC(3,4); pred PER(0,2) ✓, ORG(3,4) ✗ (type)
    // S2 gold MISC(1,3) LOC(4,5); pred MISC(1,2) ✗ (boundary), LOC(4,5) ✓
    // S3 gold none;               pred PER(0,1) ✗
    // correct 2, predicted 5, gold 4 → P = 0.4, R = 0.5, F1 = 2·0.2/0.9 = 4/9
    let gold = [
        tags("B-PER I-PER O B-LOC"),
        tags("O B-MISC I-MISC O B-LOC"),
        tags("O O"),
    ];
    let pred = [
        tags("B-PER I-PER O B-ORG"),
        tags("O B-MISC O O B-LOC"),
        tags("B-PER O"),
    ];
    let s = entity_f1(&pred, &gold).unwrap();
    close(s.precision, 0.4);
    close(s.recall, 0.5);
    close(s.f1, 4.0 / 9.0);
}

#[test]
fn entity_f1_conlleval_chunking() {
    // conlleval reads `I-PER I-PER` after O as one PER entity, and `B-PER I-LOC` as two
    // entities (PER then LOC): gold PER(0,2) is only matched by the first prediction.
    let gold = [tags("B-PER I-PER O")];
    let s = entity_f1(&[tags("I-PER I-PER O")], &gold).unwrap();
    assert_eq!(
        s,
        PrfScores {
            precision: 1.0,
            recall: 1.0,
            f1: 1.0
        }
    );
    // predicted PER(0,1), LOC(1,2): none correct of 2; gold 1
    let s = entity_f1(&[tags("B-PER I-LOC O")], &gold).unwrap();
    assert_eq!(
        s,
        PrfScores {
            precision: 0.0,
            recall: 0.0,
            f1: 0.0
        }
    );
    // nothing predicted and nothing in gold: conlleval reports 0 everywhere
    let s = entity_f1(&[tags("O O")], &[tags("O O")]).unwrap();
    assert_eq!(
        s,
        PrfScores {
            precision: 0.0,
            recall: 0.0,
            f1: 0.0
        }
    );
    // two adjacent B- entities of the same type stay separate
    // gold LOC(0,1) LOC(1,2); pred LOC(0,2): 0 correct of 1 predicted, 2 gold
    let s = entity_f1(&[tags("B-LOC I-LOC")], &[tags("B-LOC B-LOC")]).unwrap();
    assert_eq!(s.f1, 0.0);
}

#[test]
fn macro_f1_agrees_with_the_precision_recall_form() {
    // 3 classes; target/pred pairs (t,p):
    // (0,0) (0,0) (0,1) (1,1) (1,2) (2,2) (2,2) (2,0)
    // class 0: TP 2, predicted 3, actual 3 → P = 2/3, R = 2/3, F1 = 2/3
    // class 1: TP 1, predicted 2, actual 2 → P = 1/2, R = 1/2, F1 = 1/2
    // class 2: TP 2, predicted 3, actual 3 → P = 2/3, R = 2/3, F1 = 2/3
    // macro = (2/3 + 1/2 + 2/3) / 3 = 11/18
    let target = [0, 0, 0, 1, 1, 2, 2, 2];
    let pred = [0, 0, 1, 1, 2, 2, 2, 0];
    close(macro_f1(&pred, &target, 3, None).unwrap(), 11.0 / 18.0);
    let m = ConfusionMatrix::from_predictions(&pred, &target, 3).unwrap();
    for class in 0..3 {
        let (p, r) = (m.precision(class).unwrap(), m.recall(class).unwrap());
        close(m.f1(class).unwrap(), 2.0 * p * r / (p + r));
    }
    close(
        m.accuracy().unwrap(),
        accuracy(&pred, &target, None).unwrap(),
    );
    close(m.accuracy().unwrap(), 5.0 / 8.0);
    // A class only ever predicted, never a target, still counts (F1 0). The last
    // prediction becomes class 3 (of 4 classes):
    // class 0: TP 2, FP 0, FN 1 → 4/5; class 1: unchanged 1/2;
    // class 2: TP 2, FP 1, FN 1 → 2/3; class 3: TP 0, FP 1 → 0
    // macro = (4/5 + 1/2 + 2/3 + 0) / 4 = (96 + 60 + 80) / 480 = 59/120
    let pred = [0, 0, 1, 1, 2, 2, 2, 3];
    close(macro_f1(&pred, &target, 4, None).unwrap(), 59.0 / 120.0);
}

#[test]
fn confusion_matrices_merge_across_batches() {
    let mut all = ConfusionMatrix::from_predictions(&[0, 1], &[0, 0], 2).unwrap();
    let second = ConfusionMatrix::from_predictions(&[1, 1], &[1, 0], 2).unwrap();
    all.merge(&second).unwrap();
    // pairs (t,p): (0,0) (0,1) (1,1) (0,1)
    assert_eq!(all.count(0, 0), 1);
    assert_eq!(all.count(0, 1), 2);
    assert_eq!(all.count(1, 1), 1);
    assert_eq!(all.total(), 4);
    assert!(all.merge(&ConfusionMatrix::new(3).unwrap()).is_err());
}
