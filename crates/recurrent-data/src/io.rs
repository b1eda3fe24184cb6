//! Reading files as UTF-8 text with errors that name the file and line, and writing them
//! atomically.

use std::path::Path;

use crate::error::{DataError, Location, Result};

/// Reads `path` whole as bytes; an I/O failure names the file.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads `path` as UTF-8 text. An empty file is [`DataError::Empty`]; invalid UTF-8 is
/// [`DataError::Utf8`] at the line (and byte column) of the first bad byte. A leading
/// UTF-8 byte-order mark is dropped.
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = read_bytes(path)?;
    text_from_bytes(path, bytes)
}

/// [`read_text`] on bytes already in memory; `path` is only used in errors.
pub fn text_from_bytes(path: &Path, mut bytes: Vec<u8>) -> Result<String> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    String::from_utf8(bytes).map_err(|err| {
        let valid = err.utf8_error().valid_up_to();
        let bytes = err.as_bytes();
        let line = bytes[..valid].iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = bytes[..valid]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        DataError::Utf8 {
            at: Location::at(path, line, valid - line_start + 1),
            detail: format!("byte 0x{:02x} at offset {valid}", bytes[valid]),
        }
    })
}

/// Writes `bytes` to `path` atomically (temporary file in the same directory, then
/// rename), so a crash never leaves a half-written file behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    recurrent_cells::write_atomic(path, bytes)?;
    Ok(())
}

/// Writes `value` as pretty JSON to `path` atomically.
pub fn save_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let json = serde_json::to_vec_pretty(value).map_err(|source| DataError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    write_atomic(path, &json)
}

/// Reads JSON from `path`; parse errors name the file, line and column.
pub fn load_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = read_bytes(path)?;
    serde_json::from_slice(&bytes).map_err(|source| DataError::Json {
        path: path.to_path_buf(),
        source,
    })
}
