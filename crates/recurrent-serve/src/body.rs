//! A request's JSON body read field by field, so that every error names the field at
//! fault: malformed JSON and a body that is not an object are 400s; a missing field, a
//! field of the wrong type, a value out of its documented range and an unknown field
//! are 422s naming the field.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// The fields of a request body (a JSON object).
#[derive(Debug)]
pub struct Fields {
    map: Map<String, Value>,
}

/// The JSON type of `value`, as an error message says it.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Fields {
    /// Reads `body` (or the reason it could not be read, e.g. over the size limit) as a
    /// JSON object whose keys are all among `allowed`.
    pub fn parse(body: Result<Bytes, BytesRejection>, allowed: &[&str]) -> Result<Self, ApiError> {
        let bytes = body.map_err(|rejection| {
            let status = rejection.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    status,
                    format!(
                        "the request body is over the limit of {} bytes",
                        crate::limits::MAX_BODY_BYTES
                    ),
                )
            } else {
                ApiError::new(
                    status,
                    format!("could not read the request body: {rejection}"),
                )
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "the request body is empty: expected a JSON object with the fields {}",
                    allowed.join(", ")
                ),
            ));
        }
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "malformed JSON at line {}, column {}: {e}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let Value::Object(map) = value else {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "expected a JSON object with the fields {}, got {}",
                    allowed.join(", "),
                    type_name(&value)
                ),
            ));
        };
        if let Some(key) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::field(
                key.clone(),
                format!(
                    "unknown field `{key}`: expected one of {}",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(Self { map })
    }

    /// The value of `name`; `null` counts as absent.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// Takes the value of `name` out (absent or `null`: `None`).
    pub fn take(&mut self, name: &str) -> Option<Value> {
        self.map.remove(name).filter(|v| !v.is_null())
    }

    /// A string field.
    pub fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.value(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(ApiError::field(
                name,
                format!("`{name}` must be a string, got {}", type_name(other)),
            )),
        }
    }

    /// A string field that must be present.
    pub fn required_string(&self, name: &str) -> Result<String, ApiError> {
        self.string(name)?.ok_or_else(|| ApiError::missing(name))
    }

    /// A boolean field.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.value(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(ApiError::field(
                name,
                format!("`{name}` must be true or false, got {}", type_name(other)),
            )),
        }
    }

    /// An integer field in `min..=max`.
    pub fn integer(&self, name: &str, min: u64, max: u64) -> Result<Option<u64>, ApiError> {
        let Some(value) = self.value(name) else {
            return Ok(None);
        };
        let out_of_range = || {
            ApiError::field(
                name,
                format!("`{name}` must be an integer from {min} to {max}, got {value}"),
            )
        };
        match value {
            Value::Number(n) => match n.as_u64() {
                Some(v) if (min..=max).contains(&v) => Ok(Some(v)),
                Some(_) => Err(out_of_range()),
                // Negative, fractional or beyond u64.
                None => Err(out_of_range()),
            },
            other => Err(ApiError::field(
                name,
                format!("`{name}` must be an integer, got {}", type_name(other)),
            )),
        }
    }

    /// A number field in `(low, high]` (`low` itself excluded).
    pub fn number_above(&self, name: &str, low: f64, high: f64) -> Result<Option<f64>, ApiError> {
        let Some(value) = self.value(name) else {
            return Ok(None);
        };
        match value.as_f64() {
            Some(v) if v > low && v <= high => Ok(Some(v)),
            Some(_) => Err(ApiError::field(
                name,
                format!("`{name}` must be above {low} and at most {high}, got {value}"),
            )),
            None => Err(ApiError::field(
                name,
                format!("`{name}` must be a number, got {}", type_name(value)),
            )),
        }
    }

    /// A list of strings.
    pub fn strings(&self, name: &str) -> Result<Option<Vec<String>>, ApiError> {
        let Some(value) = self.value(name) else {
            return Ok(None);
        };
        let Value::Array(items) = value else {
            return Err(ApiError::field(
                name,
                format!(
                    "`{name}` must be a list of strings, got {}",
                    type_name(value)
                ),
            ));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(ApiError::field(
                    format!("{name}[{i}]"),
                    format!("`{name}[{i}]` must be a string, got {}", type_name(other)),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}
