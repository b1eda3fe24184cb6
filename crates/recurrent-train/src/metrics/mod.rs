//! Scores of forecasts ([`regression`]) and of classifiers and taggers
//! ([`classification`]).

pub mod classification;
pub mod regression;

pub use classification::{
    ConfusionMatrix, PrfScores, accuracy, binary_accuracy, entity_f1, macro_f1,
};
pub use regression::{ForecastScores, mae, mase, rmse, seasonal_scale, smape};
