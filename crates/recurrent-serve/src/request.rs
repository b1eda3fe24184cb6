//! The typed requests of each route, read from their [`Fields`] with the checks that do
//! not depend on the model (types, documented ranges, one of two fields). The checks that
//! do (the vocabulary, the lookback) are the loaded run's, in [`crate::runs`].

use std::time::{SystemTime, UNIX_EPOCH};

use recurrent_zoo::decode::Sampling;
use serde_json::Value;

use crate::body::Fields;
use crate::error::ApiError;
use crate::limits::{
    MAX_BEAM, MAX_GENERATE_LENGTH, MAX_LINES, MAX_PRIME_CHARS, MAX_SENTENCE_TOKENS, MAX_SENTENCES,
    MAX_TEMPERATURE,
};

/// A request for a model, as its worker receives it.
#[derive(Debug, Clone)]
pub enum Request {
    /// `POST /generate`.
    Generate(GenerateRequest),
    /// `POST /forecast`.
    Forecast(ForecastRequest),
    /// `POST /tag`.
    Tag(TagRequest),
    /// `POST /translate`.
    Translate(TranslateRequest),
}

/// `POST /generate {prime, length, temperature, top_k, beam, greedy, seed}`.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateRequest {
    /// The text the generation continues (`"\n"` when empty).
    pub prime: String,
    /// Characters to generate (default 200, at most [`MAX_GENERATE_LENGTH`]).
    pub length: usize,
    /// Random sampling (temperature default 0.8, optional `top_k`), greedy, or beam search.
    pub sampling: Sampling,
    /// The seed of the sampling (given, or drawn from the clock and returned).
    pub seed: u64,
}

impl GenerateRequest {
    /// The fields `/generate` accepts.
    pub const FIELDS: &[&str] = &[
        "model",
        "prime",
        "length",
        "temperature",
        "top_k",
        "beam",
        "greedy",
        "seed",
    ];

    /// Reads the request; `prime` is required.
    pub fn from_fields(fields: &Fields) -> Result<Self, ApiError> {
        let prime = fields.required_string("prime")?;
        let chars = prime.chars().count();
        if chars > MAX_PRIME_CHARS {
            return Err(ApiError::field(
                "prime",
                format!(
                    "the prime has {chars} characters, more than the {MAX_PRIME_CHARS} allowed"
                ),
            ));
        }
        let length = fields
            .integer("length", 0, MAX_GENERATE_LENGTH)?
            .unwrap_or(200) as usize;
        let temperature = fields
            .number_above("temperature", 0.0, MAX_TEMPERATURE)?
            .unwrap_or(0.8);
        let top_k = fields
            .integer("top_k", 1, u64::from(u32::MAX))?
            .map(|k| k as usize);
        let beam = fields.integer("beam", 1, MAX_BEAM)?.map(|b| b as usize);
        let greedy = fields.bool("greedy")?.unwrap_or(false);
        let sampling = match beam {
            Some(width) => Sampling::Beam { width },
            None if greedy => Sampling::Greedy,
            None => Sampling::Random { temperature, top_k },
        };
        let seed = match fields.integer("seed", 0, u64::MAX)? {
            Some(seed) => seed,
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
        };
        Ok(Self {
            prime,
            length,
            sampling,
            seed,
        })
    }
}

/// `POST /forecast {history, dates}`: `history` is read against the run's columns by its
/// worker (numbers, rows of numbers, or objects by column name with an optional `date`).
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastRequest {
    /// The rows, as sent.
    pub history: Value,
    /// One date per row, when sent apart from the rows.
    pub dates: Option<Vec<String>>,
}

impl ForecastRequest {
    /// The fields `/forecast` accepts.
    pub const FIELDS: &[&str] = &["model", "history", "dates"];

    /// Reads the request; `history` is required.
    pub fn from_fields(fields: &mut Fields) -> Result<Self, ApiError> {
        let dates = fields.strings("dates")?;
        let history = fields
            .take("history")
            .ok_or_else(|| ApiError::missing("history"))?;
        Ok(Self { history, dates })
    }
}

/// `POST /tag {sentences | text}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRequest {
    /// The sentences' tokens.
    pub sentences: Vec<Vec<String>>,
}

impl TagRequest {
    /// The fields `/tag` accepts.
    pub const FIELDS: &[&str] = &["model", "sentences", "text"];

    /// Reads the request: `sentences` (lists of tokens) or `text` (one sentence per line,
    /// tokens split on whitespace), exactly one of them.
    pub fn from_fields(fields: &Fields) -> Result<Self, ApiError> {
        let sentences = match (fields.value("sentences"), fields.string("text")?) {
            (Some(_), Some(_)) => {
                return Err(ApiError::field(
                    "text",
                    "give `sentences` or `text`, not both",
                ));
            }
            (None, None) => return Err(ApiError::missing("sentences")),
            (None, Some(text)) => {
                let sentences: Vec<Vec<String>> = text
                    .lines()
                    .map(|line| line.split_whitespace().map(str::to_owned).collect())
                    .filter(|tokens: &Vec<String>| !tokens.is_empty())
                    .collect();
                if sentences.is_empty() {
                    return Err(ApiError::field("text", "the text has no tokens"));
                }
                check_sentences(&sentences, "text", |i| format!("text line {}", i + 1))?;
                sentences
            }
            (Some(value), None) => {
                let sentences = token_lists(value)?;
                check_sentences(&sentences, "sentences", |i| format!("sentences[{i}]"))?;
                sentences
            }
        };
        Ok(Self { sentences })
    }
}

fn token_lists(value: &Value) -> Result<Vec<Vec<String>>, ApiError> {
    let must = |field: String, what: &str, got: &Value| {
        ApiError::field(
            field.clone(),
            format!(
                "`{field}` must be {what}, got {}",
                crate::body::type_name(got)
            ),
        )
    };
    let Value::Array(sentences) = value else {
        return Err(must(
            "sentences".into(),
            "a list of sentences (lists of tokens)",
            value,
        ));
    };
    if sentences.is_empty() {
        return Err(ApiError::field("sentences", "`sentences` is empty"));
    }
    sentences
        .iter()
        .enumerate()
        .map(|(i, sentence)| {
            let Value::Array(tokens) = sentence else {
                return Err(must(
                    format!("sentences[{i}]"),
                    "a list of tokens",
                    sentence,
                ));
            };
            tokens
                .iter()
                .enumerate()
                .map(|(j, token)| match token {
                    Value::String(t) if !t.trim().is_empty() => Ok(t.clone()),
                    Value::String(_) => Err(ApiError::field(
                        format!("sentences[{i}][{j}]"),
                        format!("`sentences[{i}][{j}]` is an empty token"),
                    )),
                    other => Err(must(format!("sentences[{i}][{j}]"), "a string", other)),
                })
                .collect()
        })
        .collect()
}

fn check_sentences(
    sentences: &[Vec<String>],
    field: &str,
    name: impl Fn(usize) -> String,
) -> Result<(), ApiError> {
    if sentences.len() > MAX_SENTENCES {
        return Err(ApiError::field(
            field,
            format!(
                "{} sentences, more than the {MAX_SENTENCES} allowed per request",
                sentences.len()
            ),
        ));
    }
    for (i, tokens) in sentences.iter().enumerate() {
        if tokens.is_empty() {
            return Err(ApiError::field(
                name(i),
                format!("{} has no tokens", name(i)),
            ));
        }
        if tokens.len() > MAX_SENTENCE_TOKENS {
            return Err(ApiError::field(
                name(i),
                format!(
                    "{} has {} tokens, more than the {MAX_SENTENCE_TOKENS} allowed",
                    name(i),
                    tokens.len()
                ),
            ));
        }
    }
    Ok(())
}

/// `POST /translate {lines, beam}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslateRequest {
    /// The sources, one per line.
    pub lines: Vec<String>,
    /// Beam search of this width (greedy without).
    pub beam: Option<usize>,
}

impl TranslateRequest {
    /// The fields `/translate` accepts.
    pub const FIELDS: &[&str] = &["model", "lines", "beam"];

    /// Reads the request; `lines` is required, non-empty, each line non-blank.
    pub fn from_fields(fields: &Fields) -> Result<Self, ApiError> {
        let lines = fields
            .strings("lines")?
            .ok_or_else(|| ApiError::missing("lines"))?;
        if lines.is_empty() {
            return Err(ApiError::field("lines", "`lines` is empty"));
        }
        if lines.len() > MAX_LINES {
            return Err(ApiError::field(
                "lines",
                format!(
                    "{} lines, more than the {MAX_LINES} allowed per request",
                    lines.len()
                ),
            ));
        }
        if let Some(i) = lines.iter().position(|l| l.trim().is_empty()) {
            return Err(ApiError::field(
                format!("lines[{i}]"),
                format!("`lines[{i}]` is blank: nothing to translate"),
            ));
        }
        let beam = fields.integer("beam", 1, MAX_BEAM)?.map(|b| b as usize);
        Ok(Self { lines, beam })
    }
}
