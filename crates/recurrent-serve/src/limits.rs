//! The documented maxima of a request. A value past one is a 422 naming the field; a body
//! past [`MAX_BODY_BYTES`] is a 413.

/// The largest request body, in bytes (1 MiB).
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// `/generate`: the most characters generated per request.
pub const MAX_GENERATE_LENGTH: u64 = 2000;
/// `/generate`: the longest prime, in characters.
pub const MAX_PRIME_CHARS: usize = 4096;
/// `/generate`, `/translate`: the widest beam.
pub const MAX_BEAM: u64 = 16;
/// `/generate`: the highest sampling temperature.
pub const MAX_TEMPERATURE: f64 = 100.0;
/// `/forecast`: the most rows of history.
pub const MAX_HISTORY_ROWS: usize = 100_000;
/// `/tag`: the most sentences per request.
pub const MAX_SENTENCES: usize = 1000;
/// `/tag`: the most tokens per sentence.
pub const MAX_SENTENCE_TOKENS: usize = 1000;
/// `/translate`: the most lines per request.
pub const MAX_LINES: usize = 1000;
/// Requests a model's worker takes together in one batch (`/tag`, `/translate`).
pub const MAX_BATCH_JOBS: usize = 64;
