//! Baseline forecasts a model has to beat — naive (last value) and seasonal naive (last
//! season) — and [`detect_season`], which finds the season length from the
//! autocorrelation of the differenced series.

use crate::error::{Result, TrainError};

/// The smallest autocorrelation a lag needs to count as a season in [`detect_season`],
/// whatever the length of the series.
pub const SEASON_MIN_ACF: f64 = 0.3;

/// The naive forecast: the last value of `history` repeated `horizon` times (random-walk
/// forecast; R's `forecast::naive`). `horizon = 0` gives an empty forecast.
///
/// Errors: [`TrainError::Empty`] when `history` is empty.
pub fn naive_forecast(history: &[f64], horizon: usize) -> Result<Vec<f64>> {
    let last = history.last().ok_or(TrainError::Empty {
        what: "naive forecast history",
    })?;
    Ok(vec![*last; horizon])
}

/// The seasonal naive forecast: each step takes the value one season earlier, and beyond
/// one season the last observed season repeats — step `h` (1-based) is
/// `history[n − season + (h − 1) mod season]` (R's `forecast::snaive`). `horizon = 0` gives
/// an empty forecast.
///
/// Errors: [`TrainError::Invalid`] when `season` is 0 or longer than `history`.
pub fn seasonal_naive_forecast(history: &[f64], season: usize, horizon: usize) -> Result<Vec<f64>> {
    if season == 0 {
        return Err(TrainError::invalid(
            "season",
            "the season of a seasonal naive forecast must be at least 1",
        ));
    }
    if history.len() < season {
        return Err(TrainError::invalid(
            "history",
            format!(
                "a seasonal naive forecast with season {season} needs at least {season} \
                 values, got {}",
                history.len()
            ),
        ));
    }
    let last_season = &history[history.len() - season..];
    Ok((0..horizon).map(|h| last_season[h % season]).collect())
}

/// The autocorrelations of `x` at lags `0..=max_lag` (the usual biased estimator:
/// `Σ (x[t] − x̄)(x[t+k] − x̄) / Σ (x[t] − x̄)²`, statsmodels' `acf` default), or `None` when
/// `x` has no variance (or holds NaN).
fn autocorrelation(x: &[f64], max_lag: usize) -> Option<Vec<f64>> {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let centred: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let variance: f64 = centred.iter().map(|v| v * v).sum();
    if !(variance > 0.0 && variance.is_finite()) {
        return None;
    }
    Some(
        (0..=max_lag)
            .map(|k| {
                centred
                    .iter()
                    .zip(&centred[k..])
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
                    / variance
            })
            .collect(),
    )
}

/// The season length of `series`, or `None` when there is no clear one.
///
/// The series is first differenced (`x[t] − x[t−1]`) to remove a trend; then among lags
/// `2..=max_lag` the candidates are the local maxima of the autocorrelation of the
/// differences (above the lag before, at least the lag after) whose autocorrelation
/// exceeds the threshold `max(SEASON_MIN_ACF, 1.96 / √m)`, `m` being the number of
/// differences — the larger of a fixed floor ([`SEASON_MIN_ACF`]) and the 95 % band of
/// white noise. The candidate with the highest autocorrelation wins (the smaller lag on a
/// tie); multiples of the season score lower with the biased estimator, so the season
/// itself wins over them.
///
/// Lags whose next lag cannot be computed (`lag + 1 ≥ m`) are not considered, so a series
/// needs a few more than `max_lag + 2` values. A series too short, constant, linear (the
/// differences are constant) or holding NaN gives `None`.
pub fn detect_season(series: &[f64], max_lag: usize) -> Option<usize> {
    let differences: Vec<f64> = series.windows(2).map(|w| w[1] - w[0]).collect();
    let m = differences.len();
    // Lags up to `last` are candidates; each needs the lag after it.
    let last = max_lag.min(m.checked_sub(2)?);
    if last < 2 {
        return None;
    }
    let acf = autocorrelation(&differences, last + 1)?;
    let threshold = SEASON_MIN_ACF.max(1.96 / (m as f64).sqrt());
    let mut best: Option<(usize, f64)> = None;
    for lag in 2..=last {
        let r = acf[lag];
        let peak = r > acf[lag - 1] && r >= acf[lag + 1];
        if peak && r > threshold && best.is_none_or(|(_, top)| r > top) {
            best = Some((lag, r));
        }
    }
    best.map(|(lag, _)| lag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_repeats_the_last_value() {
        assert_eq!(
            naive_forecast(&[1.0, 5.0, 3.0], 3).unwrap(),
            [3.0, 3.0, 3.0]
        );
        assert!(naive_forecast(&[1.0], 0).unwrap().is_empty());
        assert!(naive_forecast(&[], 2).is_err());
    }

    #[test]
    fn seasonal_naive_repeats_the_last_season() {
        // last season of 4: [3, 4, 5, 6]; steps 5 and 6 wrap around to 3 and 4
        let history = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(
            seasonal_naive_forecast(&history, 4, 6).unwrap(),
            [3.0, 4.0, 5.0, 6.0, 3.0, 4.0]
        );
        // season 1 is the naive forecast
        assert_eq!(seasonal_naive_forecast(&history, 1, 2).unwrap(), [6.0, 6.0]);
        assert!(seasonal_naive_forecast(&history, 0, 2).is_err());
        assert!(seasonal_naive_forecast(&history, 7, 2).is_err());
    }

    #[test]
    fn sine_with_period_seven() {
        // a trend plus a sine of period 7: differencing removes the trend
        let series: Vec<f64> = (0..140)
            .map(|t| 0.5 * t as f64 + (2.0 * std::f64::consts::PI * t as f64 / 7.0).sin())
            .collect();
        assert_eq!(detect_season(&series, 30), Some(7));
        // with max_lag below the period there is no season to find
        assert_eq!(detect_season(&series, 5), None);
    }

    #[test]
    fn no_season_in_flat_linear_or_short_series() {
        assert_eq!(detect_season(&[3.0; 50], 10), None);
        let line: Vec<f64> = (0..50).map(|t| 2.0 * t as f64 + 1.0).collect();
        assert_eq!(detect_season(&line, 10), None);
        assert_eq!(detect_season(&[1.0, 2.0, 1.0], 10), None);
        assert_eq!(detect_season(&[], 10), None);
        assert_eq!(detect_season(&[1.0, f64::NAN, 2.0, 4.0, 1.0, 0.0], 3), None);
    }

    #[test]
    fn alternating_series_has_season_two() {
        // x = 0, 1, 0, 1, … → differences ±1 alternate; acf(1) = −1·(m−1)/m, acf(2) ≈ +1,
        // acf(3) ≈ −1: lag 2 is a peak well above the threshold
        let series: Vec<f64> = (0..40).map(|t| (t % 2) as f64).collect();
        assert_eq!(detect_season(&series, 6), Some(2));
    }
}
