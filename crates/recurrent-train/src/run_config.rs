//! A run's `config.toml`: the task, the backend and every setting, so that
//! `--config RUN/config.toml` repeats a run and `--resume` / `predict` rebuild it.
//!
//! ```toml
//! task = "char-lm"
//! backend = "flex"
//!
//! [settings]
//! data = "data/text_shakespeare_hamlet.txt"
//! ...
//! ```

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Result, TrainError};
pub use crate::run_dir::CONFIG_FILE;
use crate::run_dir::RunDir;

/// The layout of `config.toml` as written.
#[derive(Serialize)]
struct RunConfig<'a, T: Serialize> {
    task: &'a str,
    backend: &'a str,
    settings: &'a T,
}

/// Writes `RUN/config.toml` for a run of `task` on `backend` with `settings`, atomically.
pub fn write_config<T: Serialize>(
    dir: &RunDir,
    task: &str,
    backend: &str,
    settings: &T,
) -> Result<PathBuf> {
    let config = RunConfig {
        task,
        backend,
        settings,
    };
    let text = toml::to_string(&config).map_err(|e| TrainError::Config {
        path: dir.config_path(),
        message: e.to_string(),
    })?;
    dir.write_file(CONFIG_FILE, text.as_bytes())
}

/// A `config.toml` read back.
#[derive(Debug, Clone)]
pub struct SavedRun {
    /// The file.
    pub path: PathBuf,
    /// The task (`char-lm`, `tutorial`, `forecast`, `tagger`).
    pub task: String,
    /// The backend it ran on, when recorded.
    pub backend: Option<String>,
    /// The `[settings]` table.
    pub settings: Option<toml::Value>,
}

#[derive(serde::Deserialize)]
struct SavedRunFile {
    task: String,
    backend: Option<String>,
    settings: Option<toml::Value>,
}

impl SavedRun {
    /// Reads `path` (a run's `config.toml`).
    ///
    /// Errors: the file cannot be read ([`TrainError::Io`]) or is not a run configuration
    /// ([`TrainError::Config`]), naming it.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| TrainError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file: SavedRunFile = toml::from_str(&text).map_err(|e| TrainError::Config {
            path: path.to_path_buf(),
            message: format!("not a run configuration: {e}"),
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            task: file.task,
            backend: file.backend,
            settings: file.settings,
        })
    }

    /// The `[settings]` as a task's settings type, or `None` when the file has none.
    ///
    /// Errors: settings that do not fit `T` ([`TrainError::Config`], naming the file).
    pub fn settings<T: DeserializeOwned>(&self) -> Result<Option<T>> {
        self.settings
            .clone()
            .map(|value| {
                value
                    .try_into()
                    .map_err(|e: toml::de::Error| TrainError::Config {
                        path: self.path.clone(),
                        message: format!("the [settings] do not fit a {} run: {e}", self.task),
                    })
            })
            .transpose()
    }

    /// The settings of a run of `task`.
    ///
    /// Errors: the file is of another task, has no settings, or they do not fit `T`.
    pub fn settings_of<T: DeserializeOwned>(&self, task: &str) -> Result<T> {
        if self.task != task {
            return Err(TrainError::Config {
                path: self.path.clone(),
                message: format!(
                    "the configuration is of a {:?} run, not {task:?}",
                    self.task
                ),
            });
        }
        self.settings()?.ok_or_else(|| TrainError::Config {
            path: self.path.clone(),
            message: "no [settings] table".into(),
        })
    }
}
