//! PNG plots: a loss history and a forecast plot are written as 800x450 PNG files through a
//! temporary name; nothing to plot and mismatched series are clear errors.

use std::collections::BTreeMap;

use recurrent_train::plot::{Series, lines, loss_curves};
use recurrent_train::{EpochRecord, History};

fn png_size(path: &std::path::Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn loss_curves_and_lines_write_pngs() {
    let dir = std::env::temp_dir().join(format!("recurrent-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut history = History::new();
    for epoch in 1..=5 {
        history.push(EpochRecord {
            epoch,
            seconds: 1.0,
            train: BTreeMap::from([("loss".to_owned(), 1.0 / epoch as f64)]),
            valid: BTreeMap::from([("loss".to_owned(), 1.2 / epoch as f64)]),
        });
    }
    let path = dir.join("loss.png");
    loss_curves(&path, &history).unwrap();
    assert_eq!(png_size(&path), (800, 450));
    assert!(!dir.join("loss.partial.png").exists());

    let x: Vec<f64> = (0..24).map(f64::from).collect();
    let actual: Vec<f64> = x.iter().map(|v| (v / 3.0).sin()).collect();
    let forecast: Vec<f64> = actual.iter().map(|v| v * 0.9).collect();
    let path = dir.join("forecast.png");
    lines(
        &path,
        "forecast",
        "month",
        "passengers",
        &[
            Series::new("actual", x.clone(), actual),
            Series::new("model", x.clone(), forecast),
        ],
    )
    .unwrap();
    assert_eq!(png_size(&path), (800, 450));

    let err = lines(&path, "t", "x", "y", &[Series::new("a", vec![1.0], vec![])]).unwrap_err();
    assert!(err.to_string().contains("lengths differ"), "{err}");
    let err = lines(
        &path,
        "t",
        "x",
        "y",
        &[Series::new("a", vec![1.0], vec![f64::NAN])],
    )
    .unwrap_err();
    assert!(err.to_string().contains("no finite point"), "{err}");
    let err = loss_curves(&dir.join("none.png"), &History::new()).unwrap_err();
    assert!(err.to_string().contains("no loss"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
