//! The server: the loaded runs behind their workers ([`App`]), the axum [`Router`] of the
//! routes, and [`serve`] / [`run`] to listen on an address.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Json};
use axum::routing::{get, post};
use burn::tensor::Device;
use serde_json::{Value, json};

use crate::body::Fields;
use crate::error::{ApiError, ServeError};
use crate::limits::MAX_BODY_BYTES;
use crate::request::{ForecastRequest, GenerateRequest, Request, TagRequest, TranslateRequest};
use crate::runs::{LoadedRun, ModelInfo, Task};
use crate::worker::Worker;

/// The page at `/`: static HTML and JavaScript, no build step and nothing fetched from
/// elsewhere.
pub const INDEX_HTML: &str = include_str!("../static/index.html");

/// The routes, as `GET /models` and the 404 list them.
pub const ROUTES: &[&str] = &[
    "GET /",
    "GET /models",
    "POST /generate",
    "POST /forecast",
    "POST /tag",
    "POST /translate",
];

/// A loaded run behind its worker.
#[derive(Debug, Clone)]
struct Served {
    info: ModelInfo,
    worker: Worker,
}

/// The loaded runs, each with a worker thread.
#[derive(Debug, Clone)]
pub struct App {
    models: Vec<Served>,
}

impl App {
    /// Loads the run directories `dirs` onto `device` (`backend` names it for
    /// `GET /models`) and starts a worker per run.
    ///
    /// Errors: no directory, a directory that is not a finished run the server answers,
    /// two runs with one name.
    pub fn load(dirs: &[PathBuf], device: &Device, backend: &str) -> Result<Self, ServeError> {
        let runs = dirs
            .iter()
            .map(|dir| LoadedRun::load(dir, device, backend))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_runs(runs)
    }

    /// Starts a worker for each of `runs`.
    ///
    /// Errors: no run, two runs with one name, a thread that could not start.
    pub fn from_runs(runs: Vec<LoadedRun>) -> Result<Self, ServeError> {
        if runs.is_empty() {
            return Err(ServeError::NoRuns);
        }
        for (i, run) in runs.iter().enumerate() {
            if let Some(earlier) = runs[..i].iter().find(|r| r.info.name == run.info.name) {
                return Err(ServeError::DuplicateName {
                    name: run.info.name.clone(),
                    first: earlier.info.path.clone(),
                    second: run.info.path.clone(),
                });
            }
        }
        let models = runs
            .into_iter()
            .map(|run| {
                let info = run.info.clone();
                let worker = Worker::spawn(run).map_err(|source| ServeError::Io {
                    address: format!("the worker thread of {}", info.name),
                    source,
                })?;
                Ok(Served { info, worker })
            })
            .collect::<Result<Vec<_>, ServeError>>()?;
        Ok(Self { models })
    }

    /// What `GET /models` lists.
    pub fn models(&self) -> Vec<&ModelInfo> {
        self.models.iter().map(|m| &m.info).collect()
    }

    /// The router of every route, with the body limit and JSON errors for unknown routes
    /// and methods.
    pub fn router(self) -> Router {
        Router::new()
            .route("/", get(index))
            .route("/models", get(models))
            .route("/generate", post(generate))
            .route("/forecast", post(forecast))
            .route("/tag", post(tag))
            .route("/translate", post(translate))
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(Arc::new(self))
    }

    /// The run that answers `task`: the one named `model`, or the only one of its task.
    fn pick(&self, task: Task, model: Option<&str>) -> Result<&Served, ApiError> {
        let of_task: Vec<&Served> = self.models.iter().filter(|m| m.info.task == task).collect();
        let names = |list: &[&Served]| {
            list.iter()
                .map(|m| m.info.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match model {
            Some(name) => of_task
                .iter()
                .find(|m| m.info.name == name)
                .copied()
                .ok_or_else(|| {
                    ApiError::field(
                        "model",
                        if of_task.is_empty() {
                            format!("no {} run is loaded (asked for {name:?})", task.name())
                        } else {
                            format!(
                                "no {} run named {name:?}; loaded: {}",
                                task.name(),
                                names(&of_task)
                            )
                        },
                    )
                }),
            None => match of_task.as_slice() {
                [only] => Ok(only),
                [] => Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!(
                        "no {} run is loaded: {} answers {} runs (loaded: {})",
                        task.name(),
                        task.route(),
                        task.name(),
                        self.models
                            .iter()
                            .map(|m| format!("{} ({})", m.info.name, m.info.task.name()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
                several => Err(ApiError::field(
                    "model",
                    format!(
                        "{} {} runs are loaded ({}): name one in `model`",
                        several.len(),
                        task.name(),
                        names(several)
                    ),
                )),
            },
        }
    }

    async fn ask(
        &self,
        task: Task,
        fields: &Fields,
        request: Request,
    ) -> Result<Json<Value>, ApiError> {
        let model = fields.string("model")?;
        let served = self.pick(task, model.as_deref())?;
        served.worker.ask(request).await.map(Json)
    }
}

type Shared = State<Arc<App>>;
type Body = Result<Bytes, BytesRejection>;

async fn index() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-cache")], Html(INDEX_HTML))
}

async fn models(State(app): Shared) -> Json<Value> {
    Json(json!({ "models": app.models(), "routes": ROUTES }))
}

async fn generate(State(app): Shared, body: Body) -> Result<Json<Value>, ApiError> {
    let fields = Fields::parse(body, GenerateRequest::FIELDS)?;
    let request = GenerateRequest::from_fields(&fields)?;
    app.ask(Task::CharLm, &fields, Request::Generate(request))
        .await
}

async fn forecast(State(app): Shared, body: Body) -> Result<Json<Value>, ApiError> {
    let mut fields = Fields::parse(body, ForecastRequest::FIELDS)?;
    let request = ForecastRequest::from_fields(&mut fields)?;
    app.ask(Task::Forecast, &fields, Request::Forecast(request))
        .await
}

async fn tag(State(app): Shared, body: Body) -> Result<Json<Value>, ApiError> {
    let fields = Fields::parse(body, TagRequest::FIELDS)?;
    let request = TagRequest::from_fields(&fields)?;
    app.ask(Task::Tagger, &fields, Request::Tag(request)).await
}

async fn translate(State(app): Shared, body: Body) -> Result<Json<Value>, ApiError> {
    let fields = Fields::parse(body, TranslateRequest::FIELDS)?;
    let request = TranslateRequest::from_fields(&fields)?;
    app.ask(Task::Seq2Seq, &fields, Request::Translate(request))
        .await
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "no route {method} {}: the routes are {}",
            uri.path(),
            ROUTES.join(", ")
        ),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{method} is not allowed on {}: the routes are {}",
            uri.path(),
            ROUTES.join(", ")
        ),
    )
}

/// Where and what to serve.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The run directories.
    pub runs: Vec<PathBuf>,
    /// The address to listen on (`127.0.0.1` unless told otherwise).
    pub host: String,
    /// The port (0: any free one).
    pub port: u16,
    /// The backend's name, for `GET /models`.
    pub backend: String,
}

/// Serves `router` on `listener` until Ctrl-C.
///
/// Errors: the listener fails.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}

/// Loads the runs of `config` onto `device`, listens on its address and serves until
/// Ctrl-C; `on_ready` gets the bound address and the loaded models (to print them).
///
/// Errors: a run that does not load, an address that cannot be bound.
pub fn run(
    config: &ServeConfig,
    device: &Device,
    on_ready: impl FnOnce(SocketAddr, &[&ModelInfo]),
) -> Result<(), ServeError> {
    let app = App::load(&config.runs, device, &config.backend)?;
    let address = format!("{}:{}", config.host, config.port);
    let io = |source| ServeError::Io {
        address: address.clone(),
        source,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(io)?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&address).await.map_err(io)?;
        on_ready(listener.local_addr().map_err(io)?, &app.models());
        serve(listener, app.router()).await.map_err(io)
    })
}
