//! PNG plots of a run (plotters): loss curves, and any set of line series (a forecast
//! against the actual values). Text is drawn with the vendored DejaVu Sans (see
//! `assets/DejaVuSans-LICENSE.txt`), so no system font library is needed.
//!
//! Files are written to a temporary name and renamed, so a plot is never half-written.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::{Result, TrainError};
use crate::history::History;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

/// One line of a plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The legend.
    pub name: String,
    /// X values.
    pub x: Vec<f64>,
    /// Y values (non-finite ones are left out).
    pub y: Vec<f64>,
}

impl Series {
    /// A series named `name` of points `(x[i], y[i])`.
    pub fn new(name: impl Into<String>, x: Vec<f64>, y: Vec<f64>) -> Self {
        Self {
            name: name.into(),
            x,
            y,
        }
    }
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn plot_error(path: &Path, err: impl std::fmt::Display) -> TrainError {
    TrainError::invalid("plot", format!("{}: {err}", path.display()))
}

/// The range of the finite values, padded by 5 % (a flat range is widened by 1).
fn range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return None;
    }
    let pad = if hi > lo { (hi - lo) * 0.05 } else { 1.0 };
    Some((lo - pad, hi + pad))
}

/// The upper corner whose region (the outer 35 % of the width, the top 30 % of the height)
/// holds fewer points, so that the legend hides as little of the lines as possible.
fn legend_corner(series: &[Series], xr: (f64, f64), yr: (f64, f64)) -> SeriesLabelPosition {
    let (mut left, mut right) = (0usize, 0usize);
    let top = yr.1 - 0.3 * (yr.1 - yr.0);
    for s in series {
        for (&x, &y) in s.x.iter().zip(&s.y) {
            if y >= top {
                if x <= xr.0 + 0.35 * (xr.1 - xr.0) {
                    left += 1;
                } else if x >= xr.1 - 0.35 * (xr.1 - xr.0) {
                    right += 1;
                }
            }
        }
    }
    if left < right {
        SeriesLabelPosition::UpperLeft
    } else {
        SeriesLabelPosition::UpperRight
    }
}

/// Draws `series` as lines into the PNG `path` (800×450), with a title, axis labels and a
/// legend. Errors: a series whose `x` and `y` lengths differ, no finite point at all, and
/// drawing or I/O errors naming the file.
pub fn lines(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<()> {
    for s in series {
        if s.x.len() != s.y.len() {
            return Err(TrainError::LengthMismatch {
                what: "plot series x vs y",
                left: s.x.len(),
                right: s.y.len(),
            });
        }
    }
    let points = || {
        series
            .iter()
            .flat_map(|s| s.x.iter().copied().zip(s.y.iter().copied()))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    };
    let (Some(xr), Some(yr)) = (range(points().map(|p| p.0)), range(points().map(|p| p.1))) else {
        return Err(plot_error(path, "nothing to plot: no finite point"));
    };
    REGISTER.call_once(|| {
        if plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            tracing::warn!("the vendored font could not be loaded; plots will lack text");
        }
    });
    let temp: PathBuf = path.with_extension("partial.png");
    {
        let root = BitMapBackend::new(&temp, (800, 450)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
            .map_err(|e| plot_error(path, e))?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(|e| plot_error(path, e))?;
        for (i, s) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let line: Vec<(f64, f64)> =
                s.x.iter()
                    .copied()
                    .zip(s.y.iter().copied())
                    .filter(|(x, y)| x.is_finite() && y.is_finite())
                    .collect();
            chart
                .draw_series(LineSeries::new(line, color.stroke_width(2)))
                .map_err(|e| plot_error(path, e))?
                .label(s.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(legend_corner(series, xr, yr))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(|e| plot_error(path, e))?;
        root.present().map_err(|e| plot_error(path, e))?;
    }
    std::fs::rename(&temp, path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Plots every loss of `history` (`loss` and `val_loss`, and any other metric whose name
/// contains `loss`) per epoch into the PNG `path`.
pub fn loss_curves(path: &Path, history: &History) -> Result<()> {
    let records = history.records();
    let mut series = Vec::new();
    for (prefix, valid) in [("", false), ("val_", true)] {
        let mut names: Vec<String> = records
            .iter()
            .flat_map(|r| {
                if valid {
                    r.valid.keys()
                } else {
                    r.train.keys()
                }
            })
            .filter(|k| k.contains("loss"))
            .cloned()
            .collect();
        names.sort();
        names.dedup();
        for name in names {
            let (x, y) = records
                .iter()
                .filter_map(|r| {
                    let map = if valid { &r.valid } else { &r.train };
                    map.get(&name).map(|&v| (r.epoch as f64, v))
                })
                .unzip();
            series.push(Series::new(format!("{prefix}{name}"), x, y));
        }
    }
    if series.is_empty() {
        return Err(plot_error(path, "the history has no loss to plot"));
    }
    lines(path, "Loss per epoch", "epoch", "loss", &series)
}

/// A horizontal bar chart of `bars` (label, value) into the PNG `path`, with a dashed
/// vertical line at `reference` (e.g. 1.0 for ratios).
pub fn bars(
    path: &Path,
    title: &str,
    x_label: &str,
    bars: &[(String, f64)],
    reference: Option<f64>,
) -> Result<()> {
    if bars.is_empty() || bars.iter().any(|(_, v)| !v.is_finite()) {
        return Err(plot_error(
            path,
            "nothing to plot: no bar, or a non-finite value",
        ));
    }
    REGISTER.call_once(|| {
        if plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            tracing::warn!("the vendored font could not be loaded; plots will lack text");
        }
    });
    let max = bars
        .iter()
        .map(|(_, v)| *v)
        .chain(reference)
        .fold(0.0f64, f64::max)
        * 1.12;
    let n = bars.len();
    let temp: PathBuf = path.with_extension("partial.png");
    {
        let height = (80 + 26 * n) as u32;
        let root = BitMapBackend::new(&temp, (800, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(150)
            .build_cartesian_2d(0.0..max, 0.0..n as f64)
            .map_err(|e| plot_error(path, e))?;
        let labels: Vec<String> = bars.iter().map(|(l, _)| l.clone()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(x_label)
            .y_labels(n * 2 + 1)
            .y_label_formatter(&|y| {
                // Label the middle of each bar; bar k spans [n - k - 1, n - k).
                let k = n as f64 - y - 0.5;
                let i = k.round();
                if (k - i).abs() < 0.01 && i >= 0.0 && (i as usize) < n {
                    labels[i as usize].clone()
                } else {
                    String::new()
                }
            })
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(|e| plot_error(path, e))?;
        chart
            .draw_series(bars.iter().enumerate().map(|(k, (_, v))| {
                let top = (n - k) as f64 - 0.15;
                let bottom = (n - k - 1) as f64 + 0.15;
                let color = match reference {
                    Some(r) if *v < r => COLORS[3],
                    _ => COLORS[0],
                };
                Rectangle::new([(0.0, bottom), (*v, top)], color.filled())
            }))
            .map_err(|e| plot_error(path, e))?;
        chart
            .draw_series(bars.iter().enumerate().map(|(k, (_, v))| {
                let y = (n - k) as f64 - 0.5;
                Text::new(format!("{v:.2}x"), (*v, y), ("sans-serif", 12).into_font())
            }))
            .map_err(|e| plot_error(path, e))?;
        if let Some(r) = reference {
            chart
                .draw_series(DashedLineSeries::new(
                    [(r, 0.0), (r, n as f64)],
                    6,
                    4,
                    BLACK.stroke_width(1),
                ))
                .map_err(|e| plot_error(path, e))?;
        }
        root.present().map_err(|e| plot_error(path, e))?;
    }
    std::fs::rename(&temp, path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A heatmap of `weights` (`rows[i][j]` in `[0, 1]`: row `i` labelled `row_labels[i]`,
/// column `j` labelled `col_labels[j]`), darker for larger values: attention weights of each
/// output step (rows) over the input steps (columns).
///
/// Errors: no cell, ragged rows, labels that do not match, or a file that cannot be written.
pub fn heatmap(
    path: &Path,
    title: &str,
    row_labels: &[String],
    col_labels: &[String],
    rows: &[Vec<f64>],
) -> Result<()> {
    let (n_rows, n_cols) = (rows.len(), col_labels.len());
    if n_rows == 0 || n_cols == 0 || row_labels.len() != n_rows {
        return Err(plot_error(
            path,
            "nothing to plot, or labels that do not match",
        ));
    }
    if rows.iter().any(|r| r.len() != n_cols) {
        return Err(plot_error(path, "rows of different lengths"));
    }
    REGISTER.call_once(|| {
        if plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            tracing::warn!("the vendored font could not be loaded; plots will lack text");
        }
    });
    let temp: PathBuf = path.with_extension("partial.png");
    {
        let cell = 22u32;
        let width = 120 + cell * n_cols as u32;
        let height = 110 + cell * n_rows as u32;
        let root = BitMapBackend::new(&temp, (width.max(320), height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..n_cols as f64, 0.0..n_rows as f64)
            .map_err(|e| plot_error(path, e))?;
        let label = |labels: &[String], v: f64, flip: bool| {
            let k = v - 0.5;
            let i = k.round();
            if (k - i).abs() < 0.01 && i >= 0.0 && (i as usize) < labels.len() {
                let i = if flip {
                    labels.len() - 1 - i as usize
                } else {
                    i as usize
                };
                labels[i].clone()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(n_cols * 2 + 1)
            .y_labels(n_rows * 2 + 1)
            .x_label_formatter(&|x| label(col_labels, *x, false))
            .y_label_formatter(&|y| label(row_labels, *y, true))
            .x_desc("input")
            .y_desc("output")
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(|e| plot_error(path, e))?;
        chart
            .draw_series(rows.iter().enumerate().flat_map(|(i, row)| {
                row.iter().enumerate().map(move |(j, &w)| {
                    let shade = (255.0 * (1.0 - w.clamp(0.0, 1.0))) as u8;
                    let top = (n_rows - i) as f64;
                    Rectangle::new(
                        [(j as f64, top - 1.0), (j as f64 + 1.0, top)],
                        RGBColor(shade, shade, 255).filled(),
                    )
                })
            }))
            .map_err(|e| plot_error(path, e))?;
        root.present().map_err(|e| plot_error(path, e))?;
    }
    std::fs::rename(&temp, path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })
}
