//! An HTTP inference server for finished runs of `cargo xtask train`: axum on tokio, a
//! worker thread per loaded run, JSON in and out, and a page at `/` to try each model.
//!
//! | route | task | body | answer |
//! |---|---|---|---|
//! | `GET /models` | | | each run's task, model, backend, sizes, test metrics |
//! | `POST /generate` | char-lm | `{prime, length, temperature, top_k, beam, greedy, seed}` | `{text, seed}` |
//! | `POST /forecast` | forecast | `{history: [numbers] \| [[row]] \| [{column: value, date}], dates}` | `{forecast, dates}` |
//! | `POST /tag` | tagger | `{sentences: [[tokens]]} \| {text}` | `{sentences: [{tokens, tags}]}` |
//! | `POST /translate` | seq2seq | `{lines, beam}` | `{translations}` |
//!
//! Every request may name its run in `model` (the run directory's name); it may leave it
//! out when one run of the task is loaded. Errors are `{"error": message, "field": field}`:
//! 400 for malformed JSON, 404 for an unknown route or task, 405 for a wrong method, 413 for
//! a body over [`limits::MAX_BODY_BYTES`], 422 naming the field for a missing, mistyped or
//! out-of-range value (the maxima are in [`limits`]), characters outside the vocabulary or
//! a history shorter than the lookback, and 500 for a model that failed; the worker then
//! takes the next request.
//!
//! ```no_run
//! use recurrent_serve::{App, serve};
//! # async fn example(device: burn::tensor::Device) -> Result<(), Box<dyn std::error::Error>> {
//! let app = App::load(&["runs/char-lm".into()], &device, "flex")?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! serve(listener, app.router()).await?;
//! # Ok(())
//! # }
//! ```

pub mod app;
pub mod body;
pub mod error;
pub mod limits;
pub mod request;
pub mod runs;
pub mod worker;

pub use app::{App, INDEX_HTML, ROUTES, ServeConfig, run, serve};
pub use error::{ApiError, ServeError};
pub use runs::{LoadedRun, ModelInfo, Task};
