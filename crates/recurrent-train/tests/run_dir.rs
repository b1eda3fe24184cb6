//! The run directory: creation rules, file layout, atomic writes and resuming from the
//! last complete checkpoint after a simulated crash.

use std::collections::BTreeMap;
use std::path::PathBuf;

use recurrent_train::history::{EpochRecord, History};
use recurrent_train::run_dir::{RunDir, checkpoint_name};
use recurrent_train::{EarlyStopping, Mode, TrainError};

/// A fresh scratch path (not created) unique to this process and test.
fn scratch(test: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("recurrent-train-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&path);
    path
}

/// Writes the files of a checkpoint of `epoch` (without committing it).
fn write_checkpoint_files(run: &RunDir, epoch: usize) {
    let dir = run.begin_checkpoint(epoch).unwrap();
    std::fs::write(dir.join("model.bin"), [epoch as u8; 8]).unwrap();
    run.write_json(
        &format!("checkpoints/{}/state.json", checkpoint_name(epoch)),
        &serde_json::json!({ "epoch": epoch }),
    )
    .unwrap();
}

#[test]
fn layout_paths() {
    let root = scratch("layout");
    let run = RunDir::create(&root).unwrap();
    assert_eq!(run.root(), root);
    assert_eq!(run.config_path(), root.join("config.toml"));
    assert_eq!(run.metrics_csv_path(), root.join("metrics.csv"));
    assert_eq!(run.metrics_json_path(), root.join("metrics.json"));
    assert_eq!(run.checkpoints_dir(), root.join("checkpoints"));
    assert_eq!(
        run.checkpoint_dir(7),
        root.join("checkpoints").join("epoch-0007")
    );
    assert_eq!(
        run.latest_marker_path(),
        root.join("checkpoints").join("latest")
    );
    assert!(run.checkpoints_dir().is_dir());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn create_refuses_a_non_empty_directory_but_accepts_an_empty_one() {
    let root = scratch("create");
    std::fs::create_dir_all(&root).unwrap();
    // empty: fine
    let run = RunDir::create(&root).unwrap();
    run.write_file("config.toml", b"epochs = 3\n").unwrap();
    // now it holds files: a new run there is refused, naming the path
    let err = RunDir::create(&root).unwrap_err();
    assert!(matches!(err, TrainError::RunDirNotEmpty { .. }));
    let message = err.to_string();
    assert!(message.contains(&root.display().to_string()), "{message}");
    assert!(message.contains("not empty"), "{message}");
    // resuming opens it
    let resumed = RunDir::create_or_resume(&root, true).unwrap();
    assert_eq!(
        std::fs::read_to_string(resumed.config_path()).unwrap(),
        "epochs = 3\n"
    );
    assert!(RunDir::create_or_resume(&root, false).is_err());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn open_needs_an_existing_directory() {
    let root = scratch("open");
    let err = RunDir::open(&root).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    std::fs::write(&root, b"a file").unwrap();
    assert!(matches!(
        RunDir::open(&root),
        Err(TrainError::NotARunDir { .. })
    ));
    assert!(matches!(
        RunDir::create(&root),
        Err(TrainError::NotARunDir { .. })
    ));
    std::fs::remove_file(&root).unwrap();
    // resuming a run that never started starts it
    let run = RunDir::create_or_resume(&root, true).unwrap();
    assert!(run.checkpoints_dir().is_dir());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn resume_after_a_crash_picks_the_last_committed_checkpoint() {
    let root = scratch("crash");
    let run = RunDir::create(&root).unwrap();
    assert_eq!(run.latest_complete_checkpoint(), None);
    for epoch in 1..=2 {
        write_checkpoint_files(&run, epoch);
        run.commit_checkpoint(epoch).unwrap();
    }
    // crash: the files of epoch 3 are all there, but the marker was never moved
    write_checkpoint_files(&run, 3);
    assert!(run.checkpoint_dir(3).join("model.bin").is_file());
    assert_eq!(
        std::fs::read_to_string(run.latest_marker_path()).unwrap(),
        "epoch-0002\n"
    );

    let resumed = RunDir::open(&root).unwrap();
    let (epoch, dir) = resumed.latest_complete_checkpoint().unwrap();
    assert_eq!(epoch, 2);
    assert_eq!(dir, root.join("checkpoints").join("epoch-0002"));
    assert_eq!(std::fs::read(dir.join("model.bin")).unwrap(), [2u8; 8]);

    // after epoch 3 is redone and committed, it is the latest
    write_checkpoint_files(&resumed, 3);
    resumed.commit_checkpoint(3).unwrap();
    assert_eq!(
        resumed.latest_complete_checkpoint().map(|(e, _)| e),
        Some(3)
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn broken_markers_give_no_checkpoint() {
    let root = scratch("marker");
    let run = RunDir::create(&root).unwrap();
    // committing a checkpoint whose files were never written is an error
    assert!(run.commit_checkpoint(5).is_err());
    assert!(!run.latest_marker_path().exists());
    // a marker naming garbage, or a directory that is gone, gives None
    std::fs::write(run.latest_marker_path(), "not a checkpoint\n").unwrap();
    assert_eq!(run.latest_complete_checkpoint(), None);
    std::fs::write(run.latest_marker_path(), "epoch-0009\n").unwrap();
    assert_eq!(run.latest_complete_checkpoint(), None);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn write_json_and_file_stay_inside_the_run() {
    let root = scratch("write");
    let run = RunDir::create(&root).unwrap();
    let path = run
        .write_json("metrics.json", &serde_json::json!({ "loss": [1.5, 0.5] }))
        .unwrap();
    assert_eq!(path, run.metrics_json_path());
    let back: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(back["loss"][1], 0.5);
    // no temporary file is left next to it
    let names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
    for bad in ["../escape.json", "/abs.json", "", "a/../../b"] {
        assert!(
            matches!(run.write_json(bad, &1), Err(TrainError::Invalid { .. })),
            "{bad:?}"
        );
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn history_and_early_stopping_state_saved_in_the_run() {
    let root = scratch("history");
    let run = RunDir::create(&root).unwrap();
    let mut history = History::new();
    let mut stopping = EarlyStopping::new(2, 0.0, Mode::Min).unwrap();
    for (epoch, loss) in [(1, 0.875), (2, 0.625), (3, 0.75)] {
        let mut train = BTreeMap::new();
        train.insert("loss".to_owned(), loss + 0.25);
        let mut valid = BTreeMap::new();
        valid.insert("loss".to_owned(), loss);
        history.push(EpochRecord {
            epoch,
            seconds: 0.5,
            train,
            valid,
        });
        stopping.update(epoch, loss);
    }
    history.write_csv(&run.metrics_csv_path()).unwrap();
    run.write_json("metrics.json", &history).unwrap();
    run.write_json("early_stopping.json", &stopping).unwrap();

    // binary-exact values: 0.875 + 0.25 = 1.125, 0.625 + 0.25 = 0.875, 0.75 + 0.25 = 1
    assert_eq!(
        std::fs::read_to_string(run.metrics_csv_path()).unwrap(),
        "epoch,seconds,loss,val_loss\n1,0.5,1.125,0.875\n2,0.5,0.875,0.625\n3,0.5,1,0.75\n"
    );
    let restored: History =
        serde_json::from_str(&std::fs::read_to_string(run.metrics_json_path()).unwrap()).unwrap();
    assert_eq!(restored, history);
    let restored: EarlyStopping =
        serde_json::from_str(&std::fs::read_to_string(root.join("early_stopping.json")).unwrap())
            .unwrap();
    assert_eq!(restored.best(), Some((2, 0.625)));
    assert_eq!(restored.epochs_since(), 1);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_taken_run_name_gets_the_next_free_suffix() {
    let parent = scratch("unique");
    let first = RunDir::create_unique(&parent, "tutorial-20261207-044626").unwrap();
    assert_eq!(first.root(), parent.join("tutorial-20261207-044626"));
    std::fs::write(first.root().join("config.toml"), "task = \"tutorial\"").unwrap();
    // A second run in the same second, and a third: fresh directories beside it, the first
    // left as it was.
    let second = RunDir::create_unique(&parent, "tutorial-20261207-044626").unwrap();
    let third = RunDir::create_unique(&parent, "tutorial-20261207-044626").unwrap();
    assert_eq!(second.root(), parent.join("tutorial-20261207-044626-2"));
    assert_eq!(third.root(), parent.join("tutorial-20261207-044626-3"));
    for run in [&second, &third] {
        assert!(run.checkpoints_dir().is_dir());
        assert!(!run.config_path().exists());
    }
    assert_eq!(
        std::fs::read_to_string(first.config_path()).unwrap(),
        "task = \"tutorial\""
    );
    assert!(matches!(
        RunDir::create_unique(&parent, ""),
        Err(TrainError::Invalid { .. })
    ));
    std::fs::remove_dir_all(&parent).unwrap();
}
