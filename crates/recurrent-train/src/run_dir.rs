//! The directory of one training run, and the protocol that makes resuming safe after a
//! crash.
//!
//! Layout:
//!
//! ```text
//! RUN/
//!   config.toml            the configuration the run was started with
//!   metrics.csv            one row per epoch (History::write_csv)
//!   metrics.json           the same history as JSON
//!   members/member-K/      an ensemble member's own run directory (same layout)
//!   checkpoints/
//!     epoch-0001/          the files of the checkpoint after epoch 1
//!     epoch-0002/
//!     latest               marker: the name of the newest COMPLETE checkpoint directory
//! ```
//!
//! A checkpoint is written in two steps: [`RunDir::begin_checkpoint`] creates its directory
//! and the caller writes its files there; only once they are all written does
//! [`RunDir::commit_checkpoint`] replace the `latest` marker, atomically. A crash in
//! between leaves the marker on the previous checkpoint, so
//! [`RunDir::latest_complete_checkpoint`] never picks a half-written one.

use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::error::{Result, TrainError};

/// The configuration file of a run.
pub const CONFIG_FILE: &str = "config.toml";
/// The per-epoch metrics as CSV.
pub const METRICS_CSV: &str = "metrics.csv";
/// The per-epoch metrics as JSON.
pub const METRICS_JSON: &str = "metrics.json";
/// The directory of the ensemble members' run directories.
pub const MEMBERS_DIR: &str = "members";
/// The directory of the checkpoints.
pub const CHECKPOINTS_DIR: &str = "checkpoints";
/// The marker file (inside [`CHECKPOINTS_DIR`]) naming the newest complete checkpoint.
pub const LATEST_MARKER: &str = "latest";

/// The name of the checkpoint directory of `epoch`: `epoch-` and at least four digits.
pub fn checkpoint_name(epoch: usize) -> String {
    format!("epoch-{epoch:04}")
}

/// The epoch of a checkpoint directory name written by [`checkpoint_name`].
fn parse_checkpoint_name(name: &str) -> Option<usize> {
    let digits = name.strip_prefix("epoch-")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// An I/O error about `path`.
fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `path` as a `PathBuf`, or [`TrainError::Invalid`] when it is empty.
fn non_empty(path: &Path) -> Result<PathBuf> {
    if path.as_os_str().is_empty() {
        return Err(TrainError::invalid(
            "run directory",
            "the path is empty (use `.` for the current directory)",
        ));
    }
    Ok(path.to_path_buf())
}

/// The directory of one training run (see the module documentation for the layout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    /// The run directory.
    root: PathBuf,
}

impl RunDir {
    /// Starts a new run in `path`, creating it (and its parents) when missing.
    ///
    /// Errors: [`TrainError::RunDirNotEmpty`] naming the path when it exists and holds
    /// anything (resume with [`RunDir::open`] instead), [`TrainError::NotARunDir`] when it
    /// is a file, [`TrainError::Invalid`] when the path is empty, [`TrainError::Io`] when it
    /// cannot be created.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let root = non_empty(path.as_ref())?;
        if root.exists() {
            if !root.is_dir() {
                return Err(TrainError::NotARunDir {
                    path: root,
                    reason: "it is a file, not a directory".to_owned(),
                });
            }
            let mut entries = std::fs::read_dir(&root).map_err(io_error(&root))?;
            if entries.next().is_some() {
                return Err(TrainError::RunDirNotEmpty { path: root });
            }
        }
        let checkpoints = root.join(CHECKPOINTS_DIR);
        std::fs::create_dir_all(&checkpoints).map_err(io_error(&checkpoints))?;
        tracing::debug!(path = %root.display(), "created run directory");
        Ok(Self { root })
    }

    /// Creates a new run directory `parent/name`, or `parent/name-2`, `name-3`, ... when that
    /// name is taken: the default run names are a task and a timestamp to the second, so two
    /// runs started in the same second asked for the same one. Each candidate is claimed with
    /// `create_dir`, which fails on an existing directory, so two processes never share one.
    ///
    /// Errors: [`TrainError::Io`] when `parent` or the directory cannot be created,
    /// [`TrainError::Invalid`] when `name` is empty.
    pub fn create_unique(parent: impl AsRef<Path>, name: &str) -> Result<Self> {
        if name.is_empty() {
            return Err(TrainError::invalid(
                "run directory",
                "the run name is empty",
            ));
        }
        let parent = parent.as_ref();
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(io_error(parent))?;
        }
        let mut n = 1;
        loop {
            let root = match n {
                1 => parent.join(name),
                _ => parent.join(format!("{name}-{n}")),
            };
            match std::fs::create_dir(&root) {
                Ok(()) => return Self::create(&root),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
                Err(e) => return Err(io_error(&root)(e)),
            }
        }
    }

    /// Opens the existing run in `path` to resume it.
    ///
    /// Errors: [`TrainError::NotARunDir`] when `path` does not exist or is not a directory,
    /// [`TrainError::Invalid`] when it is empty.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let root = non_empty(path.as_ref())?;
        if !root.is_dir() {
            let reason = if root.exists() {
                "it is a file, not a directory"
            } else {
                "it does not exist"
            };
            return Err(TrainError::NotARunDir {
                path: root,
                reason: reason.to_owned(),
            });
        }
        Ok(Self { root })
    }

    /// [`RunDir::open`] when `resume` is set and `path` exists, else [`RunDir::create`]
    /// (resuming a run that never started starts it).
    pub fn create_or_resume(path: impl AsRef<Path>, resume: bool) -> Result<Self> {
        let path = path.as_ref();
        if resume && path.exists() {
            Self::open(path)
        } else {
            if resume {
                tracing::info!(path = %path.display(), "nothing to resume: starting a new run");
            }
            Self::create(path)
        }
    }

    /// The run directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `RUN/config.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    /// `RUN/metrics.csv`.
    pub fn metrics_csv_path(&self) -> PathBuf {
        self.root.join(METRICS_CSV)
    }

    /// `RUN/metrics.json`.
    pub fn metrics_json_path(&self) -> PathBuf {
        self.root.join(METRICS_JSON)
    }

    /// `RUN/members/member-K`: the directory of ensemble member `k` (1-based).
    pub fn member_path(&self, k: usize) -> PathBuf {
        self.root.join(MEMBERS_DIR).join(format!("member-{k}"))
    }

    /// The run directory of ensemble member `k` (1-based), created for a new run or opened
    /// to resume (see [`RunDir::create_or_resume`]).
    pub fn member(&self, k: usize, resume: bool) -> Result<RunDir> {
        RunDir::create_or_resume(self.member_path(k), resume)
    }

    /// Where the weights file `file` of each of `members` models lives: the run directory
    /// itself for one model, each member's directory for an ensemble.
    pub fn model_files(&self, members: usize, file: &str) -> Vec<PathBuf> {
        if members <= 1 {
            vec![self.root.join(file)]
        } else {
            (1..=members)
                .map(|k| self.member_path(k).join(file))
                .collect()
        }
    }

    /// `RUN/checkpoints`.
    pub fn checkpoints_dir(&self) -> PathBuf {
        self.root.join(CHECKPOINTS_DIR)
    }

    /// `RUN/checkpoints/epoch-NNNN` of `epoch` (whether or not it exists).
    pub fn checkpoint_dir(&self, epoch: usize) -> PathBuf {
        self.checkpoints_dir().join(checkpoint_name(epoch))
    }

    /// `RUN/checkpoints/latest`.
    pub fn latest_marker_path(&self) -> PathBuf {
        self.checkpoints_dir().join(LATEST_MARKER)
    }

    /// Creates the checkpoint directory of `epoch` (if missing) and returns it: write the
    /// checkpoint's files there, then call [`RunDir::commit_checkpoint`].
    pub fn begin_checkpoint(&self, epoch: usize) -> Result<PathBuf> {
        let dir = self.checkpoint_dir(epoch);
        std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        Ok(dir)
    }

    /// Marks the checkpoint of `epoch` as the newest complete one by replacing the
    /// `latest` marker atomically. Call it only after every file of the checkpoint is
    /// written.
    ///
    /// Errors: [`TrainError::NotARunDir`] when the checkpoint directory does not exist,
    /// and the errors of the atomic write.
    pub fn commit_checkpoint(&self, epoch: usize) -> Result<()> {
        let dir = self.checkpoint_dir(epoch);
        if !dir.is_dir() {
            return Err(TrainError::NotARunDir {
                path: dir,
                reason: format!("the checkpoint of epoch {epoch} was never written"),
            });
        }
        let marker = format!("{}\n", checkpoint_name(epoch));
        recurrent_data::io::write_atomic(&self.latest_marker_path(), marker.as_bytes())?;
        tracing::debug!(epoch, "checkpoint complete");
        Ok(())
    }

    /// The epoch and directory of the newest complete checkpoint: the one the `latest`
    /// marker names. `None` when there is no marker yet (no checkpoint was completed), when
    /// the marker cannot be read or does not name a checkpoint, or when the directory it
    /// names is gone (the last two are logged as warnings). Checkpoint directories the
    /// marker does not name — one being written when the run crashed — are ignored.
    pub fn latest_complete_checkpoint(&self) -> Option<(usize, PathBuf)> {
        let marker = self.latest_marker_path();
        let text = match std::fs::read_to_string(&marker) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return None,
            Err(err) => {
                tracing::warn!(path = %marker.display(), %err, "cannot read the checkpoint marker");
                return None;
            }
        };
        let Some(epoch) = parse_checkpoint_name(text.trim()) else {
            tracing::warn!(
                path = %marker.display(),
                content = text.trim(),
                "the checkpoint marker does not name a checkpoint directory"
            );
            return None;
        };
        let dir = self.checkpoint_dir(epoch);
        if !dir.is_dir() {
            tracing::warn!(path = %dir.display(), "the checkpoint the marker names is missing");
            return None;
        }
        Some((epoch, dir))
    }

    /// Every complete checkpoint, newest first: the one the `latest` marker names, then the
    /// older checkpoint directories still there (each was complete when a newer one was
    /// begun). Directories newer than the marker's (being written when the run stopped) are
    /// left out. Empty without a marker.
    pub fn complete_checkpoints(&self) -> Vec<(usize, PathBuf)> {
        let Some((latest, _)) = self.latest_complete_checkpoint() else {
            return Vec::new();
        };
        let mut found: Vec<(usize, PathBuf)> = std::fs::read_dir(self.checkpoints_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name();
                let epoch = parse_checkpoint_name(name.to_str()?)?;
                (epoch <= latest && entry.path().is_dir()).then(|| (epoch, entry.path()))
            })
            .collect();
        found.sort_by_key(|c| std::cmp::Reverse(c.0));
        found
    }

    /// The path of `name` inside the run directory, checking that it stays inside
    /// (relative, no `..`), and creating its parent directories.
    fn file_path(&self, name: &str) -> Result<PathBuf> {
        let relative = Path::new(name);
        let inside = relative.components().next().is_some()
            && relative
                .components()
                .all(|component| matches!(component, Component::Normal(_)));
        if !inside {
            return Err(TrainError::invalid(
                "run file name",
                format!("{name:?} must be a relative path inside the run directory, without `..`"),
            ));
        }
        let path = self.root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_error(parent))?;
        }
        Ok(path)
    }

    /// Writes `bytes` to the file `name` (relative to the run directory, e.g.
    /// `config.toml` or `checkpoints/epoch-0003/model.bin`) atomically, and returns its
    /// path. Errors: [`TrainError::Invalid`] for a name that is absolute or holds `..`,
    /// and the errors of the write.
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        let path = self.file_path(name)?;
        recurrent_data::io::write_atomic(&path, bytes)?;
        Ok(path)
    }

    /// Writes `value` as pretty JSON to the file `name` (as in [`RunDir::write_file`])
    /// atomically, and returns its path.
    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<PathBuf> {
        let path = self.file_path(name)?;
        recurrent_data::io::save_json(&path, value)?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_names() {
        assert_eq!(checkpoint_name(3), "epoch-0003");
        assert_eq!(checkpoint_name(12345), "epoch-12345");
        assert_eq!(parse_checkpoint_name("epoch-0003"), Some(3));
        assert_eq!(parse_checkpoint_name("epoch-12345"), Some(12345));
        assert_eq!(parse_checkpoint_name("epoch-"), None);
        assert_eq!(parse_checkpoint_name("epoch-+3"), None);
        assert_eq!(parse_checkpoint_name("step-0003"), None);
    }

    #[test]
    fn empty_paths_are_refused() {
        assert!(matches!(
            RunDir::create(""),
            Err(TrainError::Invalid { .. })
        ));
        assert!(matches!(RunDir::open(""), Err(TrainError::Invalid { .. })));
    }
}
