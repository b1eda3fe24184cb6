//! Point-forecast accuracy: MAE, RMSE, sMAPE and MASE, and [`ForecastScores`] holding all
//! four.
//!
//! Conventions (so that numbers can be compared with Python tools):
//!
//! - [`mae`] and [`rmse`] are statsmodels' `eval_measures.meanabs` and `eval_measures.rmse`
//!   (and sktime's `mean_absolute_error` / `mean_squared_error(square_root=True)`).
//! - [`smape`] is in **percent** (0 to 200): `100/n · Σ 2|F−A| / (|A|+|F|)`, a term being 0
//!   when both `A` and `F` are 0. That is 100 × sktime's
//!   `mean_absolute_percentage_error(symmetric=True)`, which returns a fraction (0 to 2).
//! - [`mase`] is Hyndman & Koehler (2006): the MAE of the forecast divided by the in-sample
//!   MAE of the seasonal naive forecast on the **training** history,
//!   `mean(|y[t] − y[t−m]|)` for `t = m..n` — sktime's
//!   `mean_absolute_scaled_error(y_true, y_pred, y_train=…, sp=m)`. Where sktime divides
//!   by a tiny epsilon when that scale is 0, [`mase`] returns an error instead.
//!
//! Every function returns an error on empty or mismatched inputs rather than NaN; a NaN in
//! the inputs propagates to the result.

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError, same_len};

/// Checks that `actual` and `forecast` pair up and are not empty.
fn check_pair(what: &'static str, actual: &[f64], forecast: &[f64]) -> Result<()> {
    same_len(what, actual.len(), forecast.len())?;
    if actual.is_empty() {
        return Err(TrainError::Empty { what });
    }
    Ok(())
}

/// The mean of `values` (not empty).
fn mean(values: impl ExactSizeIterator<Item = f64>) -> f64 {
    let n = values.len() as f64;
    values.sum::<f64>() / n
}

/// Mean absolute error, `mean(|F − A|)`.
///
/// Errors: [`TrainError::LengthMismatch`] when the lengths differ, [`TrainError::Empty`]
/// when both are empty.
pub fn mae(actual: &[f64], forecast: &[f64]) -> Result<f64> {
    check_pair("mae: actual vs forecast", actual, forecast)?;
    Ok(mean(
        actual.iter().zip(forecast).map(|(a, f)| (f - a).abs()),
    ))
}

/// Root mean squared error, `sqrt(mean((F − A)²))`.
///
/// Errors as [`mae`].
pub fn rmse(actual: &[f64], forecast: &[f64]) -> Result<f64> {
    check_pair("rmse: actual vs forecast", actual, forecast)?;
    Ok(mean(actual.iter().zip(forecast).map(|(a, f)| (f - a).powi(2))).sqrt())
}

/// Symmetric mean absolute percentage error in percent (0 to 200):
/// `100/n · Σ 2|F−A| / (|A|+|F|)`, where a term with `A = F = 0` counts as 0 (a perfect
/// forecast of zero) and a term with exactly one of them 0 counts as 2 (200 %).
///
/// Errors as [`mae`].
pub fn smape(actual: &[f64], forecast: &[f64]) -> Result<f64> {
    check_pair("smape: actual vs forecast", actual, forecast)?;
    let terms = actual.iter().zip(forecast).map(|(&a, &f)| {
        if a == 0.0 && f == 0.0 {
            0.0
        } else {
            2.0 * (f - a).abs() / (a.abs() + f.abs())
        }
    });
    Ok(100.0 * mean(terms))
}

/// The MASE scale of a training history: the mean absolute difference between values
/// `season` steps apart, `mean(|y[t] − y[t−season]|)` for `t = season..n` (with
/// `season = 1`, the in-sample MAE of the naive forecast).
///
/// Errors: [`TrainError::Invalid`] when `season` is 0, or when the history has fewer than
/// `season + 1` values.
pub fn seasonal_scale(train_history: &[f64], season: usize) -> Result<f64> {
    if season == 0 {
        return Err(TrainError::invalid(
            "season",
            "the season of MASE must be at least 1 (1 for non-seasonal data)",
        ));
    }
    if train_history.len() <= season {
        return Err(TrainError::invalid(
            "training history",
            format!(
                "MASE with season {season} needs at least {} training values, got {}",
                season + 1,
                train_history.len()
            ),
        ));
    }
    Ok(mean(
        train_history
            .iter()
            .zip(&train_history[season..])
            .map(|(earlier, later)| (later - earlier).abs()),
    ))
}

/// Mean absolute scaled error: [`mae`] of the forecast divided by [`seasonal_scale`] of
/// `train_history` with lag `season` (use 1 for non-seasonal data). Below 1, the forecast
/// beats the in-sample seasonal naive forecast.
///
/// Errors: those of [`mae`] and [`seasonal_scale`], and [`TrainError::Invalid`] when the
/// scale is 0 (a training history that repeats itself exactly every `season` steps) or not
/// finite.
pub fn mase(actual: &[f64], forecast: &[f64], train_history: &[f64], season: usize) -> Result<f64> {
    let error = mae(actual, forecast)?;
    let scale = seasonal_scale(train_history, season)?;
    if !(scale > 0.0 && scale.is_finite()) {
        return Err(TrainError::invalid(
            "MASE scale",
            format!(
                "the mean absolute lag-{season} difference of the training history is \
                 {scale}, so MASE is undefined"
            ),
        ));
    }
    Ok(error / scale)
}

/// The four point-forecast scores of one forecast.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ForecastScores {
    /// [`mae`].
    pub mae: f64,
    /// [`rmse`].
    pub rmse: f64,
    /// [`smape`], in percent.
    pub smape: f64,
    /// [`mase`].
    pub mase: f64,
}

impl ForecastScores {
    /// All four scores of `forecast` against `actual`, MASE scaled by `history` (the
    /// training series) with lag `season`. Errors as [`mase`].
    pub fn compute(
        actual: &[f64],
        forecast: &[f64],
        history: &[f64],
        season: usize,
    ) -> Result<Self> {
        Ok(Self {
            mae: mae(actual, forecast)?,
            rmse: rmse(actual, forecast)?,
            smape: smape(actual, forecast)?,
            mase: mase(actual, forecast, history, season)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn hand_computed_scores() {
        // errors F−A: 1, 0, −1, −2 → |e| = 1, 0, 1, 2 → MAE = 4/4 = 1
        // e² = 1, 0, 1, 4 → mean 6/4 = 1.5 → RMSE = √1.5
        let actual = [1.0, 2.0, 3.0, 4.0];
        let forecast = [2.0, 2.0, 2.0, 2.0];
        close(mae(&actual, &forecast).unwrap(), 1.0);
        close(rmse(&actual, &forecast).unwrap(), 1.5f64.sqrt());
        // sMAPE terms 2|e|/(|A|+|F|): 2/3, 0, 2/5, 4/6 → sum 26/15 → 100/4 · 26/15 = 130/3
        close(smape(&actual, &forecast).unwrap(), 130.0 / 3.0);
    }

    #[test]
    fn smape_zero_conventions() {
        // both zero → 0; one zero → 200 %; mean of (0, 200) = 100
        close(smape(&[0.0, 0.0], &[0.0, 5.0]).unwrap(), 100.0);
        // sign flip: 2·|−1 − 1| / (1 + 1) = 2 → 200 %
        close(smape(&[1.0], &[-1.0]).unwrap(), 200.0);
    }

    #[test]
    fn mase_hand_computed() {
        // history 1, 3, 2, 5: lag-1 |diffs| = 2, 1, 3 → scale 2
        // MAE of forecast: |e| = 1, 3 → 2 → MASE = 1
        let history = [1.0, 3.0, 2.0, 5.0];
        close(mase(&[6.0, 7.0], &[5.0, 4.0], &history, 1).unwrap(), 1.0);
        // lag 2: |2−1|, |5−3| = 1, 2 → scale 1.5; MASE = 2 / 1.5
        close(
            mase(&[6.0, 7.0], &[5.0, 4.0], &history, 2).unwrap(),
            4.0 / 3.0,
        );
    }

    #[test]
    fn mase_errors() {
        // scale 0: the history repeats every 2 steps
        let flat = [1.0, 2.0, 1.0, 2.0];
        let err = mase(&[1.0], &[2.0], &flat, 2).unwrap_err();
        assert!(err.to_string().contains("MASE is undefined"), "{err}");
        // too short: season 3 needs 4 values
        let err = mase(&[1.0], &[2.0], &[1.0, 2.0, 3.0], 3).unwrap_err();
        assert!(err.to_string().contains("at least 4"), "{err}");
        assert!(mase(&[1.0], &[2.0], &[1.0, 2.0], 0).is_err());
    }

    #[test]
    fn empty_and_mismatched_inputs_are_errors() {
        assert!(matches!(mae(&[], &[]), Err(TrainError::Empty { .. })));
        assert!(matches!(
            rmse(&[1.0], &[1.0, 2.0]),
            Err(TrainError::LengthMismatch {
                left: 1,
                right: 2,
                ..
            })
        ));
        assert!(smape(&[], &[]).is_err());
    }
}
