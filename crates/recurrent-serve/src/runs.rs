//! Finished run directories loaded for serving: [`LoadedRun`] holds one run's model(s) and
//! everything a request needs (tokenizer, vocabularies, scaler, settings), answers a
//! [`Request`] of its task, and describes itself for `GET /models` ([`ModelInfo`]).

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use recurrent_data::series::{
    DateFormat, NameHint, SeriesOptions, TimeSeries, load_series, next_dates,
};
use recurrent_train::char_lm::{self, CharLmRunFiles};
use recurrent_train::forecast::{self, ForecastRunFiles, WindowShape};
use recurrent_train::run_config::{CONFIG_FILE, SavedRun};
use recurrent_train::run_dir::METRICS_JSON;
use recurrent_train::seq2seq::{self, Seq2SeqRunFiles};
use recurrent_train::tagger::{self, TaggerRunFiles};
use recurrent_zoo::RecurrentKind;
use serde::Serialize;
use serde_json::{Value, json};

use crate::body::type_name;
use crate::error::{ApiError, ServeError};
use crate::limits::{MAX_BEAM, MAX_GENERATE_LENGTH, MAX_HISTORY_ROWS};
use crate::request::{ForecastRequest, GenerateRequest, Request, TagRequest, TranslateRequest};

/// The tasks the server answers, each on its own route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// Character-level language model: `POST /generate`.
    CharLm,
    /// Time-series forecaster: `POST /forecast`.
    Forecast,
    /// Sequence tagger: `POST /tag`.
    Tagger,
    /// Encoder-decoder: `POST /translate`.
    #[serde(rename = "seq2seq")]
    Seq2Seq,
}

impl Task {
    /// Every task.
    pub const ALL: [Task; 4] = [Task::CharLm, Task::Forecast, Task::Tagger, Task::Seq2Seq];

    /// The task's name in `config.toml` (`char-lm`, `forecast`, `tagger`, `seq2seq`).
    pub fn name(self) -> &'static str {
        match self {
            Task::CharLm => "char-lm",
            Task::Forecast => "forecast",
            Task::Tagger => "tagger",
            Task::Seq2Seq => "seq2seq",
        }
    }

    /// The route that serves it.
    pub fn route(self) -> &'static str {
        match self {
            Task::CharLm => "/generate",
            Task::Forecast => "/forecast",
            Task::Tagger => "/tag",
            Task::Seq2Seq => "/translate",
        }
    }

    /// The task of a run's `config.toml` name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// What `GET /models` says of a loaded run.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    /// The name requests select it by (`model`): the run directory's name.
    pub name: String,
    /// Its task.
    pub task: Task,
    /// The route that serves it.
    pub route: &'static str,
    /// The network, in one line (`LSTM 2x256`).
    pub model: String,
    /// The backend it runs on here.
    pub backend: String,
    /// The run directory.
    pub path: PathBuf,
    /// Its test metrics from `metrics.json` (its `test` entry, or its `test_*` values).
    pub metrics: Option<Value>,
    /// What a request needs to know: vocabulary or feature sizes, lookback and horizon,
    /// tags, limits, and an example input.
    pub details: Value,
}

/// A forecast run with the columns its requests give.
#[derive(Debug)]
pub struct ForecastRun {
    files: ForecastRunFiles,
    columns: Vec<String>,
    lookback: usize,
}

/// The model(s) of a run and what their requests need.
// One per loaded run, made once at start-up: the size of the largest variant does not
// matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum RunModel {
    /// A char-lm run.
    CharLm(CharLmRunFiles),
    /// A forecast run.
    Forecast(ForecastRun),
    /// A tagger run.
    Tagger(TaggerRunFiles),
    /// A seq2seq run.
    Seq2Seq(Seq2SeqRunFiles),
}

/// A run directory loaded onto a device.
#[derive(Debug)]
pub struct LoadedRun {
    /// What `GET /models` says of it.
    pub info: ModelInfo,
    /// Its model(s).
    pub model: RunModel,
    device: Device,
}

fn run_error(dir: &Path, message: impl std::fmt::Display) -> ServeError {
    ServeError::Run {
        path: dir.to_path_buf(),
        message: message.to_string(),
    }
}

/// The test metrics of `metrics.json`: its `test` entry, else its `test_*` values.
fn test_metrics(dir: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(dir.join(METRICS_JSON)).ok()?;
    let Value::Object(metrics) = serde_json::from_str::<Value>(&text).ok()? else {
        return None;
    };
    if let Some(test) = metrics.get("test").filter(|t| !t.is_null()) {
        return Some(test.clone());
    }
    let tests: serde_json::Map<String, Value> = metrics
        .into_iter()
        .filter(|(k, v)| k.starts_with("test_") && !v.is_null())
        .collect();
    (!tests.is_empty()).then_some(Value::Object(tests))
}

fn kebab(value: impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// A one-line description of a forecaster or tagger: `bilstm LSTM 1x64, ensemble of 3`, or
/// `transformer 2x128`.
fn describe(
    architecture: impl Serialize,
    kind: RecurrentKind,
    layers: usize,
    hidden: usize,
    members: usize,
) -> String {
    let ensemble = if members > 1 {
        format!(", ensemble of {members}")
    } else {
        String::new()
    };
    let architecture = kebab(architecture);
    if architecture == "transformer" {
        // No recurrent cell: `hidden` is the model size.
        return format!("transformer {layers}x{hidden}{ensemble}");
    }
    format!(
        "{architecture} {} {layers}x{hidden}{ensemble}",
        kind.to_string().to_uppercase()
    )
}

impl LoadedRun {
    /// Loads the finished run in `dir` onto `device` (`backend` names it for
    /// `GET /models`).
    ///
    /// Errors name the directory: no `config.toml`, a task the server does not answer
    /// (`tutorial`), or a file of the run that is missing or does not fit.
    pub fn load(dir: &Path, device: &Device, backend: &str) -> Result<Self, ServeError> {
        let saved = SavedRun::read(&dir.join(CONFIG_FILE))
            .map_err(|e| run_error(dir, format!("{e}; is it a finished run directory?")))?;
        let task = Task::from_name(&saved.task).ok_or_else(|| {
            run_error(
                dir,
                format!(
                    "a {:?} run: the server answers char-lm, forecast, tagger and seq2seq runs",
                    saved.task
                ),
            )
        })?;
        let name = dir
            .canonicalize()
            .unwrap_or_else(|_| dir.to_path_buf())
            .file_name()
            .map_or_else(
                || dir.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
        let fail = |e: recurrent_train::TrainError| run_error(dir, e);
        let (model, description, details) = match task {
            Task::CharLm => {
                let run = char_lm::load_run(dir, device).map_err(fail)?;
                let details = json!({
                    "vocab_size": run.tokenizer.vocab_size(),
                    "max_length": MAX_GENERATE_LENGTH,
                    "max_beam": MAX_BEAM,
                });
                let description = run.config.describe_model();
                (RunModel::CharLm(run), description, details)
            }
            Task::Forecast => {
                let config: forecast::ForecastConfig =
                    saved.settings_of("forecast").map_err(fail)?;
                let columns: Vec<String> = std::iter::once(config.target.clone())
                    .chain(config.covariates.iter().cloned())
                    .collect();
                let files = forecast::load_run(dir, columns.len(), device).map_err(fail)?;
                let lookback = WindowShape::of(&files.config, columns.len())
                    .map_err(fail)?
                    .lookback;
                let m = &files.config.model;
                let description = describe(
                    m.architecture,
                    m.kind,
                    m.n_layers,
                    m.d_hidden,
                    files.models.len(),
                );
                let details = json!({
                    "target": config.target,
                    "columns": columns,
                    "lookback": lookback,
                    "horizon": files.config.horizon,
                    "mode": kebab(files.config.mode),
                    "example": forecast_example(&files.config, lookback),
                });
                let run = ForecastRun {
                    files,
                    columns,
                    lookback,
                };
                (RunModel::Forecast(run), description, details)
            }
            Task::Tagger => {
                let run = tagger::load_run(dir, device).map_err(fail)?;
                let m = &run.config.model;
                let description = describe(
                    m.architecture,
                    m.kind,
                    m.n_layers,
                    m.d_hidden,
                    run.models.len(),
                );
                let details = json!({
                    "words": run.vocabs.words.len(),
                    "chars": run.vocabs.chars.len(),
                    "tags": run.vocabs.tags.tags(),
                    "example": tagger_example(&run.config.train),
                });
                (RunModel::Tagger(run), description, details)
            }
            Task::Seq2Seq => {
                let run = seq2seq::load_run(dir, device).map_err(fail)?;
                let details = json!({
                    "source_chars": run.src_vocab.len(),
                    "target_chars": run.tgt_vocab.len(),
                    "max_source": run.config.max_source,
                    "max_beam": MAX_BEAM,
                    "example": seq2seq_example(dir),
                });
                let description = run.config.describe_model();
                (RunModel::Seq2Seq(run), description, details)
            }
        };
        Ok(Self {
            info: ModelInfo {
                name,
                task,
                route: task.route(),
                model: description,
                backend: backend.to_owned(),
                path: dir.to_path_buf(),
                metrics: test_metrics(dir),
                details,
            },
            model,
            device: device.clone(),
        })
    }

    /// The run's task.
    pub fn task(&self) -> Task {
        self.info.task
    }

    /// Answers one request: the response body, or the error (4xx for a request the model
    /// cannot take, 5xx for a model that failed).
    pub fn answer(&self, request: &Request) -> Result<Value, ApiError> {
        match (&self.model, request) {
            (RunModel::CharLm(run), Request::Generate(r)) => self.generate(run, r),
            (RunModel::Forecast(run), Request::Forecast(r)) => self.forecast(run, r),
            (RunModel::Tagger(_), Request::Tag(r)) => self
                .tag_batch(&[r])
                .pop()
                .unwrap_or_else(|| Err(ApiError::model("the tagger answered no sentence"))),
            (RunModel::Seq2Seq(run), Request::Translate(_)) => self
                .translate_batch(run, &[request])
                .pop()
                .unwrap_or_else(|| Err(ApiError::model("the translator answered nothing"))),
            _ => Err(ApiError::model(format!(
                "{} cannot answer this request (a {} run)",
                self.info.name,
                self.task().name()
            ))),
        }
    }

    /// Answers several requests at once where the model batches them (the tagger's
    /// sentences, seq2seq lines of one beam width); one answer per request, in order.
    pub fn answer_batch(&self, requests: &[&Request]) -> Vec<Result<Value, ApiError>> {
        match &self.model {
            RunModel::Tagger(_) => {
                let tags: Vec<&TagRequest> = requests
                    .iter()
                    .filter_map(|r| match r {
                        Request::Tag(t) => Some(t),
                        _ => None,
                    })
                    .collect();
                if tags.len() == requests.len() {
                    return self.tag_batch(&tags);
                }
                requests.iter().map(|r| self.answer(r)).collect()
            }
            RunModel::Seq2Seq(run) => self.translate_batch(run, requests),
            _ => requests.iter().map(|r| self.answer(r)).collect(),
        }
    }

    fn generate(&self, run: &CharLmRunFiles, r: &GenerateRequest) -> Result<Value, ApiError> {
        let unknown = run.tokenizer.vocab.unknown_chars(&r.prime);
        if !unknown.is_empty() {
            let shown: Vec<String> = unknown
                .iter()
                .take(5)
                .map(|(i, c)| format!("{c:?} at {i}"))
                .collect();
            return Err(ApiError::field(
                "prime",
                format!(
                    "{} character(s) the model has never seen: {}{} (it knows {} characters)",
                    unknown.len(),
                    shown.join(", "),
                    if unknown.len() > 5 { ", ..." } else { "" },
                    run.tokenizer.vocab_size()
                ),
            ));
        }
        if let recurrent_zoo::decode::Sampling::Random { top_k: Some(k), .. } = r.sampling
            && k > run.tokenizer.vocab_size()
        {
            return Err(ApiError::field(
                "top_k",
                format!(
                    "`top_k` must be at most the vocabulary size {}, got {k}",
                    run.tokenizer.vocab_size()
                ),
            ));
        }
        let text = guarded(|| {
            char_lm::generate(
                &run.model,
                &run.tokenizer,
                &r.prime,
                r.length,
                r.sampling,
                r.seed,
                &self.device,
            )
            .map_err(|e| ApiError::model(format!("generation failed: {e}")))
        })?;
        Ok(json!({
            "model": self.info.name,
            "prime": r.prime,
            "text": text,
            "length": text.chars().count(),
            "seed": r.seed,
        }))
    }

    fn forecast(&self, run: &ForecastRun, r: &ForecastRequest) -> Result<Value, ApiError> {
        let (values, row_dates) = history_rows(&r.history, &run.columns)?;
        let rows = values.len() / run.columns.len();
        if rows < run.lookback {
            return Err(ApiError::field(
                "history",
                format!(
                    "{rows} rows of history, but the model reads the last {} (its lookback)",
                    run.lookback
                ),
            ));
        }
        if rows > MAX_HISTORY_ROWS {
            return Err(ApiError::field(
                "history",
                format!("{rows} rows of history, more than the {MAX_HISTORY_ROWS} allowed"),
            ));
        }
        let dates = match (&r.dates, row_dates) {
            (Some(_), Some(_)) => {
                return Err(ApiError::field(
                    "dates",
                    "dates are given both in `dates` and in the rows of `history`",
                ));
            }
            (Some(d), None) => Some((d.clone(), "dates")),
            (None, Some(d)) => Some((d, "history")),
            (None, None) => None,
        };
        let mut series = TimeSeries::new(run.columns.clone(), values)
            .map_err(|e| ApiError::field("history", e.to_string()))?;
        let mut format = None;
        if let Some((dates, field)) = dates {
            if dates.len() != rows {
                return Err(ApiError::field(
                    field,
                    format!("{} dates for {rows} rows of history", dates.len()),
                ));
            }
            let f = DateFormat::detect(dates.iter().map(String::as_str), NameHint::Explicit)
                .ok_or_else(|| {
                    ApiError::field(
                        field,
                        format!(
                            "the dates are not all in one known format (first {:?}; formats: {})",
                            dates[0],
                            DateFormat::ALL.map(DateFormat::pattern).join(", ")
                        ),
                    )
                })?;
            let parsed = dates.iter().filter_map(|d| f.parse(d)).collect();
            series = series
                .with_dates(parsed, f)
                .map_err(|e| ApiError::field(field, e.to_string()))?;
            if let Some(i) = series.first_unordered() {
                return Err(ApiError::field(
                    field,
                    format!(
                        "dates must increase for a forecast: row {} ({:?}) {} row {i} ({:?})",
                        i + 1,
                        dates[i + 1],
                        if dates[i + 1] == dates[i] {
                            "repeats"
                        } else {
                            "goes back from"
                        },
                        dates[i]
                    ),
                ));
            }
            format = Some(f);
        }
        let files = &run.files;
        files
            .scaler
            .transform_series(&series)
            .map_err(|e| ApiError::field("history", e.to_string()))?;
        let forecast = guarded(|| {
            forecast::forecast_next(
                &files.models,
                &files.config,
                &files.scaler,
                &series,
                &self.device,
            )
            .map_err(|e| ApiError::model(format!("the forecast failed: {e}")))
        })?;
        if let Some(h) = forecast.iter().position(|v| !v.is_finite()) {
            return Err(ApiError::model(format!(
                "the model's forecast is not finite ({} at step {}): diverged or damaged weights?",
                forecast[h],
                h + 1
            )));
        }
        let next = match (series.dates(), format) {
            (Some(d), Some(f)) => Some(
                next_dates(d, f, forecast.len())
                    .iter()
                    .map(|d| f.format(d))
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        };
        Ok(json!({
            "model": self.info.name,
            "target": run.columns[0],
            "horizon": forecast.len(),
            "forecast": forecast,
            "dates": next,
        }))
    }

    fn tag_batch(&self, requests: &[&TagRequest]) -> Vec<Result<Value, ApiError>> {
        let RunModel::Tagger(run) = &self.model else {
            return requests
                .iter()
                .map(|_| Err(ApiError::model("not a tagger")))
                .collect();
        };
        let all: Vec<Vec<String>> = requests
            .iter()
            .flat_map(|r| r.sentences.iter().cloned())
            .collect();
        let tags = guarded(|| {
            tagger::predict_tags(
                &run.models,
                &run.vocabs,
                &all,
                run.config.batch_size.max(64),
                &self.device,
            )
            .map_err(|e| ApiError::model(format!("tagging failed: {e}")))
        });
        let tags = match tags {
            Ok(tags) => tags,
            Err(e) => return requests.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut tags = tags.into_iter();
        requests
            .iter()
            .map(|r| {
                let sentences: Vec<Value> = r
                    .sentences
                    .iter()
                    .zip(tags.by_ref())
                    .map(|(tokens, tags)| json!({ "tokens": tokens, "tags": tags }))
                    .collect();
                Ok(json!({ "model": self.info.name, "sentences": sentences }))
            })
            .collect()
    }

    fn check_translate(&self, run: &Seq2SeqRunFiles, r: &TranslateRequest) -> Result<(), ApiError> {
        for (i, line) in r.lines.iter().enumerate() {
            let n = line.chars().count();
            if n > run.config.max_source {
                return Err(ApiError::field(
                    format!("lines[{i}]"),
                    format!(
                        "{n} characters, more than the {} the model was trained for",
                        run.config.max_source
                    ),
                ));
            }
            let unknown = run.src_vocab.unknown_chars(line);
            if let Some((at, c)) = unknown.first() {
                return Err(ApiError::field(
                    format!("lines[{i}]"),
                    format!(
                        "{} character(s) the model has never seen, the first {c:?} at {at}",
                        unknown.len()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Valid requests of one beam width translate as one batch.
    fn translate_batch(
        &self,
        run: &Seq2SeqRunFiles,
        requests: &[&Request],
    ) -> Vec<Result<Value, ApiError>> {
        let mut answers: Vec<Option<Result<Value, ApiError>>> = vec![None; requests.len()];
        let mut groups: Vec<(Option<usize>, Vec<usize>)> = Vec::new();
        for (k, request) in requests.iter().enumerate() {
            let Request::Translate(r) = request else {
                answers[k] = Some(self.answer(request));
                continue;
            };
            if let Err(e) = self.check_translate(run, r) {
                answers[k] = Some(Err(e));
                continue;
            }
            match groups.iter_mut().find(|(beam, _)| *beam == r.beam) {
                Some((_, members)) => members.push(k),
                None => groups.push((r.beam, vec![k])),
            }
        }
        for (beam, members) in groups {
            let sources: Vec<&str> = members
                .iter()
                .flat_map(|&k| match requests[k] {
                    Request::Translate(r) => r.lines.iter().map(String::as_str).collect(),
                    _ => Vec::new(),
                })
                .collect();
            let out = guarded(|| {
                run.translate(&sources, beam, &self.device)
                    .map_err(|e| ApiError::model(format!("translation failed: {e}")))
            });
            let mut out = match out {
                Ok(out) => out.into_iter(),
                Err(e) => {
                    for &k in &members {
                        answers[k] = Some(Err(e.clone()));
                    }
                    continue;
                }
            };
            for &k in &members {
                let n = match requests[k] {
                    Request::Translate(r) => r.lines.len(),
                    _ => 0,
                };
                let translations: Vec<String> = out.by_ref().take(n).collect();
                answers[k] = Some(Ok(
                    json!({ "model": self.info.name, "translations": translations }),
                ));
            }
        }
        answers
            .into_iter()
            .map(|a| a.unwrap_or_else(|| Err(ApiError::model("no answer"))))
            .collect()
    }
}

/// Runs `f`, turning a panic inside the model into a 500 (the worker lives on).
fn guarded<T>(f: impl FnOnce() -> Result<T, ApiError>) -> Result<T, ApiError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(ApiError::model(format!("the model failed: {message}")))
        }
    }
}

/// The history of a forecast request as row-major values over `columns` (target first),
/// and the rows' dates when the rows are objects with a `date`.
///
/// Accepted: numbers (a single-column run), rows of numbers (one per column), objects by
/// column name (with an optional `date` string).
fn history_rows(
    history: &Value,
    columns: &[String],
) -> Result<(Vec<f64>, Option<Vec<String>>), ApiError> {
    let Value::Array(rows) = history else {
        return Err(ApiError::field(
            "history",
            format!(
                "`history` must be a list of numbers or of rows, got {}",
                type_name(history)
            ),
        ));
    };
    let number = |value: &Value, field: String| -> Result<f64, ApiError> {
        let Some(v) = value.as_f64() else {
            return Err(ApiError::field(
                field.clone(),
                format!("`{field}` must be a number, got {}", type_name(value)),
            ));
        };
        if !(v as f32).is_finite() {
            return Err(ApiError::field(
                field.clone(),
                format!("`{field}` is {v}: too large for the model's 32-bit floats"),
            ));
        }
        Ok(v)
    };
    let mut values = Vec::with_capacity(rows.len() * columns.len());
    let mut dates: Option<Vec<String>> = None;
    for (i, row) in rows.iter().enumerate() {
        match row {
            Value::Number(_) if columns.len() == 1 => {
                values.push(number(row, format!("history[{i}]"))?)
            }
            Value::Number(_) => {
                return Err(ApiError::field(
                    format!("history[{i}]"),
                    format!(
                        "the model reads {} columns ({}): give each row as a list or an object",
                        columns.len(),
                        columns.join(", ")
                    ),
                ));
            }
            Value::Array(cells) => {
                if cells.len() != columns.len() {
                    return Err(ApiError::field(
                        format!("history[{i}]"),
                        format!(
                            "{} values, but the model reads {} columns ({})",
                            cells.len(),
                            columns.len(),
                            columns.join(", ")
                        ),
                    ));
                }
                for (j, cell) in cells.iter().enumerate() {
                    values.push(number(cell, format!("history[{i}][{j}]"))?);
                }
            }
            Value::Object(cells) => {
                if let Some(key) = cells.keys().find(|k| *k != "date" && !columns.contains(k)) {
                    return Err(ApiError::field(
                        format!("history[{i}].{key}"),
                        format!(
                            "unknown column `{key}`: the model reads {} (and an optional date)",
                            columns.join(", ")
                        ),
                    ));
                }
                for column in columns {
                    let cell = cells.get(column).ok_or_else(|| {
                        ApiError::field(
                            format!("history[{i}].{column}"),
                            format!("row {i} has no `{column}`"),
                        )
                    })?;
                    values.push(number(cell, format!("history[{i}].{column}"))?);
                }
                let date = match cells.get("date") {
                    None => None,
                    Some(Value::String(d)) => Some(d.clone()),
                    Some(other) => {
                        return Err(ApiError::field(
                            format!("history[{i}].date"),
                            format!("a date must be a string, got {}", type_name(other)),
                        ));
                    }
                };
                if i == 0 {
                    dates = date.map(|d| vec![d]);
                } else {
                    match (date, &mut dates) {
                        (Some(d), Some(ds)) => ds.push(d),
                        (None, None) => {}
                        _ => {
                            return Err(ApiError::field(
                                format!("history[{i}].date"),
                                "either every row has a `date` or none does",
                            ));
                        }
                    }
                }
            }
            other => {
                return Err(ApiError::field(
                    format!("history[{i}]"),
                    format!(
                        "`history[{i}]` must be a number, a list or an object, got {}",
                        type_name(other)
                    ),
                ));
            }
        }
    }
    Ok((values, dates))
}

/// The last rows of the run's own series (target column, all columns, dates), as the
/// page's example; `None` when the data file is not where the run says.
fn forecast_example(config: &forecast::ForecastConfig, lookback: usize) -> Option<Value> {
    let mut options = SeriesOptions::new(config.target.clone())
        .with_covariates(config.covariates.iter().cloned())
        .with_missing(config.missing);
    if let Some(column) = &config.date_column {
        options = options.with_date_column(column.clone());
    }
    let series = load_series(&config.data, &options).ok()?;
    let n = series.len();
    let take = (3 * lookback).max(lookback + config.horizon).min(n);
    let rows: Vec<&[f64]> = (n - take..n).filter_map(|t| series.row(t)).collect();
    let dates: Option<Vec<String>> = (n - take..n).map(|t| series.date_label(t)).collect();
    Some(json!({
        "history": rows.iter().map(|r| r[0]).collect::<Vec<_>>(),
        "rows": rows,
        "dates": dates,
    }))
}

/// The first sentence of the tagger's training file, as the page's example.
fn tagger_example(train: &Path) -> Option<String> {
    let input = tagger::read_tagging_input(train, None).ok()?;
    let first = input.sentences.first()?;
    Some(first.tokens.join(" "))
}

/// A few source lines of the run's `metrics.json` samples, as the page's example.
fn seq2seq_example(dir: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(dir.join(METRICS_JSON)).ok()?;
    let metrics: Value = serde_json::from_str(&text).ok()?;
    let samples = metrics.get("samples")?.as_array()?;
    let lines: Vec<String> = samples
        .iter()
        .filter_map(|s| s.get("source")?.as_str().map(str::to_owned))
        .take(4)
        .collect();
    (!lines.is_empty()).then_some(lines)
}
