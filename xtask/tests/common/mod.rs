//! What the xtask integration tests share: running the built binary as a user would.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `cargo xtask ARGS` (the built binary) from the workspace root, without backtraces.
pub fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}
