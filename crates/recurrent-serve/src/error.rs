//! Errors: [`ServeError`] when the server cannot start, [`ApiError`] for one request.

use std::path::PathBuf;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A run directory could not be loaded.
    #[error("{}: {message}", path.display())]
    Run {
        /// The run directory.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// No run directory was given.
    #[error(
        "no run directory to serve: give at least one (a directory written by `cargo xtask train`)"
    )]
    NoRuns,
    /// Two runs would be served under the same name.
    #[error("two runs are named {name:?} ({} and {}): serve runs with different directory names", first.display(), second.display())]
    DuplicateName {
        /// The name.
        name: String,
        /// The first run of that name.
        first: PathBuf,
        /// The second run of that name.
        second: PathBuf,
    },
    /// The address could not be bound or served.
    #[error("{address}: {source}")]
    Io {
        /// The address (`host:port`).
        address: String,
        /// The error.
        source: std::io::Error,
    },
}

/// A request that failed: the HTTP status, the request field at fault (if one is) and a
/// message. Its response body is `{"error": message, "field": field}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The status: 4xx for a request at fault, 5xx for a model that failed.
    pub status: StatusCode,
    /// The request field at fault (`prime`, `history[3]`, ...), when one is.
    pub field: Option<String>,
    /// What is wrong, with the offending value.
    pub message: String,
}

impl ApiError {
    /// A 422: the field `field` holds a value the model cannot take.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// A 422 for a required field that is absent.
    pub fn missing(field: &str) -> Self {
        Self::field(field, format!("missing field `{field}`"))
    }

    /// An error of `status` that concerns no single field.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            field: None,
            message: message.into(),
        }
    }

    /// A 500: the model failed on a valid request.
    pub fn model(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{} ({field}): {}", self.status, self.message),
            None => write!(f, "{}: {}", self.status, self.message),
        }
    }
}

impl std::error::Error for ApiError {}

/// The JSON body of an error response.
#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    field: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!("{self}");
        } else {
            tracing::debug!("{self}");
        }
        let body = ErrorBody {
            error: &self.message,
            field: self.field.as_deref(),
        };
        (self.status, Json(body)).into_response()
    }
}
