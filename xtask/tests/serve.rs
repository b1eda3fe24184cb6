//! The server (`recurrent-serve`, `cargo xtask serve`) on five small runs: every route
//! in-process through tower's `oneshot`, every kind of bad request (a 4xx whose JSON names
//! the field), a model that fails (a 500, and the next request still works), the binary
//! serving over loopback, and a load test of 200 concurrent requests.

mod common;
mod serving;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use serving::{LM_TEXT, app, runs, xtask};
use tower::ServiceExt;

/// Sends one request to the router in-process: its status and its JSON body.
async fn call(
    router: &Router,
    method: &str,
    uri: &str,
    body: impl Into<Body>,
) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{method} {uri}: {status}, not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, value)
}

async fn post(router: &Router, uri: &str, body: Value) -> (StatusCode, Value) {
    call(router, "POST", uri, body.to_string()).await
}

/// The rows of the forecaster's CSV as objects with dates, and their count.
fn sales_rows() -> Vec<Value> {
    let text = std::fs::read_to_string(runs().root.join("sales.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            json!({
                "date": cells[0],
                "sales": cells[1].parse::<f64>().unwrap(),
                "price": cells[2].parse::<f64>().unwrap(),
            })
        })
        .collect()
}

#[tokio::test]
async fn models_lists_every_run_with_its_sizes_and_test_metrics() {
    let router = app().router();
    let (status, body) = call(&router, "GET", "/models", Body::empty()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let models = body["models"].as_array().unwrap();
    let names: Vec<&str> = models.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["lm", "lm-nan", "sales", "ner", "rev"]);
    let by_name = |name: &str| models.iter().find(|m| m["name"] == name).unwrap();

    let lm = by_name("lm");
    assert_eq!(lm["task"], "char-lm");
    assert_eq!(lm["route"], "/generate");
    assert_eq!(lm["backend"], "flex");
    assert_eq!(lm["model"], "LSTM 2x16");
    // The tokenizer knows the text's distinct characters plus its special tokens.
    let distinct: BTreeSet<char> = LM_TEXT.chars().collect();
    let vocab = lm["details"]["vocab_size"].as_u64().unwrap() as usize;
    assert!(
        vocab >= distinct.len() && vocab <= distinct.len() + 4,
        "{vocab}"
    );
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(runs().lm.join("metrics.json")).unwrap())
            .unwrap();
    assert_eq!(lm["metrics"]["test_loss"], metrics["test_loss"]);

    let sales = by_name("sales");
    assert_eq!(sales["task"], "forecast");
    assert_eq!(sales["model"], "recurrent LSTM 2x8");
    assert_eq!(sales["details"]["columns"], json!(["sales", "price"]));
    assert_eq!(sales["details"]["horizon"], 4);
    let lookback = sales["details"]["lookback"].as_u64().unwrap() as usize;
    let example = &sales["details"]["example"];
    assert!(example["history"].as_array().unwrap().len() >= lookback);
    assert_eq!(
        example["dates"].as_array().unwrap().last().unwrap(),
        "2004-12"
    );
    assert!(
        sales["metrics"]["model"]["mase"]
            .as_f64()
            .unwrap()
            .is_finite()
    );

    let ner = by_name("ner");
    assert_eq!(ner["task"], "tagger");
    assert_eq!(ner["model"], "bilstm LSTM 1x12");
    let tags: BTreeSet<&str> = ner["details"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for tag in ["O", "B-PER", "I-PER", "B-LOC"] {
        assert!(tags.contains(tag), "{tags:?}");
    }
    assert!(ner["metrics"].is_object(), "{ner}");
    let rev = by_name("rev");
    assert_eq!(rev["task"], "seq2seq");
    assert!(rev["metrics"]["exact_match"].is_number(), "{rev}");
}

#[tokio::test]
async fn the_page_is_served_at_the_root() {
    let router = app().router();
    let request = Request::builder().uri("/").body(Body::empty()).unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.into_body().collect().await.unwrap().to_bytes();
    let html = String::from_utf8(html.to_vec()).unwrap();
    for id in [
        "id=\"prime\"",
        "id=\"temperature\"",
        "id=\"forecast-chart\"",
        "id=\"tags\"",
    ] {
        assert!(html.contains(id), "{id} missing");
    }
    // Nothing is fetched from another site: no external script, style sheet or image.
    for external in ["src=\"http", "href=\"http", "<link", "@import", "url(http"] {
        assert!(!html.contains(external), "{external}");
    }
}

#[tokio::test]
async fn generate_continues_the_prime_from_the_vocabulary_and_a_seed_repeats() {
    let router = app().router();
    let ask = json!({"model": "lm", "prime": "the ", "length": 40, "temperature": 0.8, "seed": 7});
    let (status, first) = post(&router, "/generate", ask.clone()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let text = first["text"].as_str().unwrap();
    assert_eq!(text.chars().count(), 40, "{text:?}");
    assert_eq!(first["length"], 40);
    assert_eq!(first["seed"], 7);
    assert!(text.chars().all(|c| LM_TEXT.contains(c)), "{text:?}");
    let (_, again) = post(&router, "/generate", ask).await;
    assert_eq!(again["text"], first["text"]);
    // top_k 1 is greedy decoding.
    let (_, top1) = post(
        &router,
        "/generate",
        json!({"model": "lm", "prime": "the ", "length": 20, "top_k": 1}),
    )
    .await;
    let (_, greedy) = post(
        &router,
        "/generate",
        json!({"model": "lm", "prime": "the ", "length": 20, "greedy": true}),
    )
    .await;
    assert_eq!(top1["text"], greedy["text"], "{top1} {greedy}");
    let (status, beam) = post(
        &router,
        "/generate",
        json!({"model": "lm", "prime": "", "length": 12, "beam": 3}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{beam}");
    assert_eq!(beam["text"].as_str().unwrap().chars().count(), 12);
}

#[tokio::test]
async fn forecast_matches_predict_on_the_same_rows_and_dates_the_next_months() {
    let router = app().router();
    let rows = sales_rows();
    let (status, body) = post(&router, "/forecast", json!({"history": rows})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["model"], "sales");
    assert_eq!(body["target"], "sales");
    assert_eq!(
        body["dates"],
        json!(["2005-01", "2005-02", "2005-03", "2005-04"])
    );
    let served: Vec<f64> = body["forecast"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    // `cargo xtask predict` forecasts after the run's own file: the same rows.
    let predict = xtask(&["predict", runs().sales.to_str().unwrap()]);
    assert!(
        predict.status.success(),
        "{}",
        String::from_utf8_lossy(&predict.stderr)
    );
    let printed: Vec<(String, f64)> = String::from_utf8_lossy(&predict.stdout)
        .lines()
        .filter_map(|l| {
            let (date, v) = l.split_once('\t')?;
            Some((date.to_owned(), v.trim().parse().ok()?))
        })
        .collect();
    assert_eq!(printed.len(), 4, "{printed:?}");
    for ((date, p), (s, d)) in printed
        .iter()
        .zip(served.iter().zip(body["dates"].as_array().unwrap()))
    {
        assert_eq!(date, d.as_str().unwrap());
        assert!((p - s).abs() < 1e-3, "{date}: predict {p}, served {s}");
    }
    // Rows as lists, without dates: the same values, no dates.
    let lists: Vec<Value> = rows
        .iter()
        .map(|r| json!([r["sales"], r["price"]]))
        .collect();
    let (status, plain) = post(
        &router,
        "/forecast",
        json!({"model": "sales", "history": lists}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{plain}");
    assert_eq!(plain["forecast"], body["forecast"]);
    assert!(plain["dates"].is_null());
    // Only the last `lookback` rows matter: they alone give the same forecast.
    let app = app();
    let lookback = app
        .models()
        .iter()
        .find(|m| m.name == "sales")
        .unwrap()
        .details["lookback"]
        .as_u64()
        .unwrap() as usize;
    let tail: Vec<Value> = lists[lists.len() - lookback..].to_vec();
    let (status, short) = post(&app.router(), "/forecast", json!({"history": tail})).await;
    assert_eq!(status, StatusCode::OK, "{short}");
    assert_eq!(short["forecast"], body["forecast"]);
}

#[tokio::test]
async fn tag_answers_a_tag_per_token_for_text_and_token_lists_alike() {
    let router = app().router();
    let (status, body) = post(
        &router,
        "/tag",
        json!({"text": "Ana Silva works in Oslo .\nthe cat is here ."}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sentences = body["sentences"].as_array().unwrap();
    assert_eq!(sentences.len(), 2);
    assert_eq!(
        sentences[0]["tokens"],
        json!(["Ana", "Silva", "works", "in", "Oslo", "."])
    );
    assert_eq!(sentences[0]["tags"].as_array().unwrap().len(), 6);
    assert_eq!(sentences[1]["tags"].as_array().unwrap().len(), 5);
    let known = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"];
    for s in sentences {
        for tag in s["tags"].as_array().unwrap() {
            assert!(known.contains(&tag.as_str().unwrap()), "{tag}");
        }
    }
    let (_, lists) = post(
        &router,
        "/tag",
        json!({"model": "ner", "sentences": [["Ana", "Silva", "works", "in", "Oslo", "."], ["the", "cat", "is", "here", "."]]}),
    )
    .await;
    assert_eq!(lists["sentences"], body["sentences"]);
}

#[tokio::test]
async fn translate_answers_a_line_per_line_greedy_and_with_a_beam() {
    let router = app().router();
    let lines = json!(["abc", "dab", "bcda"]);
    let (status, body) = post(&router, "/translate", json!({"lines": lines})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let out = body["translations"].as_array().unwrap();
    assert_eq!(out.len(), 3);
    let target_chars: BTreeSet<char> = "abcd".chars().collect();
    for t in out {
        assert!(
            t.as_str()
                .unwrap()
                .chars()
                .all(|c| target_chars.contains(&c)),
            "{t}"
        );
    }
    let (status, beam) = post(&router, "/translate", json!({"lines": lines, "beam": 3})).await;
    assert_eq!(status, StatusCode::OK, "{beam}");
    assert_eq!(beam["translations"].as_array().unwrap().len(), 3);
}

/// Every bad request: its status, the field the error names, and words of its message.
#[tokio::test]
async fn bad_requests_are_4xx_with_json_naming_the_field_and_the_server_lives_on() {
    let router = app().router();
    // (method, route, raw body, status, field, words of the message)
    type Raw<'a> = (&'a str, &'a str, &'a str, u16, Option<&'a str>, &'a str);
    let raw: &[Raw] = &[
        (
            "POST",
            "/generate",
            "{\"model\": \"lm\", \"prime\": ",
            400,
            None,
            "malformed JSON at line 1",
        ),
        (
            "POST",
            "/generate",
            "[1, 2]",
            400,
            None,
            "expected a JSON object",
        ),
        ("POST", "/generate", "", 400, None, "body is empty"),
        ("GET", "/nowhere", "", 404, None, "no route GET /nowhere"),
        (
            "POST",
            "/models",
            "{}",
            405,
            None,
            "POST is not allowed on /models",
        ),
        (
            "GET",
            "/generate",
            "",
            405,
            None,
            "GET is not allowed on /generate",
        ),
    ];
    let lm = |extra: Value| {
        let mut body = json!({"model": "lm", "prime": "the "});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let mut rows = sales_rows();
    let json_cases: Vec<(&str, Value, u16, &str, &str)> = vec![
        (
            "/generate",
            json!({"model": "lm"}),
            422,
            "prime",
            "missing field `prime`",
        ),
        (
            "/generate",
            lm(json!({"length": -5})),
            422,
            "length",
            "from 0 to 2000, got -5",
        ),
        (
            "/generate",
            lm(json!({"length": 1_000_000_000})),
            422,
            "length",
            "from 0 to 2000",
        ),
        (
            "/generate",
            lm(json!({"length": 2.5})),
            422,
            "length",
            "from 0 to 2000",
        ),
        (
            "/generate",
            lm(json!({"length": "ten"})),
            422,
            "length",
            "must be an integer, got a string",
        ),
        (
            "/generate",
            lm(json!({"temperature": 0})),
            422,
            "temperature",
            "above 0",
        ),
        (
            "/generate",
            lm(json!({"temperature": -1.5})),
            422,
            "temperature",
            "above 0",
        ),
        ("/generate", lm(json!({"top_k": 0})), 422, "top_k", "from 1"),
        (
            "/generate",
            lm(json!({"top_k": 5000})),
            422,
            "top_k",
            "vocabulary size",
        ),
        (
            "/generate",
            lm(json!({"beam": 100})),
            422,
            "beam",
            "from 1 to 16",
        ),
        (
            "/generate",
            lm(json!({"greedy": "yes"})),
            422,
            "greedy",
            "true or false",
        ),
        (
            "/generate",
            lm(json!({"prime": "thé€ fox"})),
            422,
            "prime",
            "2 character(s) the model has never seen: 'é' at 2, '€' at 3",
        ),
        (
            "/generate",
            lm(json!({"prime": 42})),
            422,
            "prime",
            "must be a string, got a number",
        ),
        (
            "/generate",
            lm(json!({"prime": "a".repeat(5000)})),
            422,
            "prime",
            "more than the 4096",
        ),
        (
            "/generate",
            lm(json!({"lenght": 5})),
            422,
            "lenght",
            "unknown field `lenght`",
        ),
        (
            "/generate",
            json!({"model": "nope", "prime": "a"}),
            422,
            "model",
            "no char-lm run named \"nope\"; loaded: lm, lm-nan",
        ),
        (
            "/generate",
            json!({"prime": "a"}),
            422,
            "model",
            "2 char-lm runs are loaded (lm, lm-nan)",
        ),
        (
            "/forecast",
            json!({}),
            422,
            "history",
            "missing field `history`",
        ),
        (
            "/forecast",
            json!({"history": "1,2,3"}),
            422,
            "history",
            "list of numbers or of rows",
        ),
        (
            "/forecast",
            json!({"history": [1.0, 2.0, 3.0]}),
            422,
            "history[0]",
            "reads 2 columns (sales, price)",
        ),
        (
            "/forecast",
            json!({"history": [[1.0, 2.0], [3.0, 4.0]]}),
            422,
            "history",
            "2 rows of history, but the model reads the last",
        ),
        (
            "/forecast",
            json!({"history": [[1.0, 2.0, 3.0]]}),
            422,
            "history[0]",
            "3 values, but the model reads 2 columns",
        ),
        (
            "/forecast",
            json!({"history": [[1.0, "x"]]}),
            422,
            "history[0][1]",
            "must be a number, got a string",
        ),
        (
            "/forecast",
            json!({"history": [[1e300, 1.0]]}),
            422,
            "history[0][0]",
            "too large",
        ),
        (
            "/forecast",
            json!({"history": [{"sales": 1.0}]}),
            422,
            "history[0].price",
            "has no `price`",
        ),
        (
            "/forecast",
            json!({"history": [{"sales": 1.0, "price": 2.0, "cost": 3.0}]}),
            422,
            "history[0].cost",
            "unknown column `cost`",
        ),
        (
            "/forecast",
            json!({"history": [[1.0, 2.0]], "dates": "2000-01"}),
            422,
            "dates",
            "list of strings",
        ),
        (
            "/tag",
            json!({}),
            422,
            "sentences",
            "missing field `sentences`",
        ),
        (
            "/tag",
            json!({"sentences": []}),
            422,
            "sentences",
            "is empty",
        ),
        (
            "/tag",
            json!({"sentences": [["Ana"], []]}),
            422,
            "sentences[1]",
            "has no tokens",
        ),
        (
            "/tag",
            json!({"sentences": [["Ana", 5]]}),
            422,
            "sentences[0][1]",
            "must be a string, got a number",
        ),
        (
            "/tag",
            json!({"sentences": [["Ana"]], "text": "Ana"}),
            422,
            "text",
            "not both",
        ),
        ("/tag", json!({"text": "  \n "}), 422, "text", "no tokens"),
        (
            "/tag",
            json!({"text": "a ".repeat(1001)}),
            422,
            "text line 1",
            "more than the 1000",
        ),
        (
            "/translate",
            json!({}),
            422,
            "lines",
            "missing field `lines`",
        ),
        ("/translate", json!({"lines": []}), 422, "lines", "is empty"),
        (
            "/translate",
            json!({"lines": ["abc", "  "]}),
            422,
            "lines[1]",
            "blank",
        ),
        (
            "/translate",
            json!({"lines": ["abc", 7]}),
            422,
            "lines[1]",
            "must be a string",
        ),
        (
            "/translate",
            json!({"lines": ["ab§c"]}),
            422,
            "lines[0]",
            "never seen, the first '§' at 2",
        ),
        (
            "/translate",
            json!({"lines": ["a".repeat(500)]}),
            422,
            "lines[0]",
            "500 characters, more than",
        ),
        (
            "/translate",
            json!({"lines": ["abc"], "beam": 0}),
            422,
            "beam",
            "from 1 to 16",
        ),
    ];
    // Dates that cannot be read, that go back, and that do not match the rows.
    let mut shuffled = rows.clone();
    shuffled.swap(10, 11);
    rows[5]["date"] = json!("the fifth");
    let short = sales_rows()[..30].to_vec();
    let date_cases = vec![
        (
            json!({"history": rows}),
            "history",
            "not all in one known format",
        ),
        (
            json!({"history": shuffled}),
            "history",
            "dates must increase for a forecast: row 11 (\"2000-11\") goes back from row 10 (\"2000-12\")",
        ),
        (
            json!({"history": short.iter().map(|r| json!([r["sales"], r["price"]])).collect::<Vec<_>>(), "dates": ["2000-01"]}),
            "dates",
            "1 dates for 30 rows",
        ),
    ];

    for (method, uri, body, status, field, words) in raw {
        let (got, answer) = call(&router, method, uri, body.to_string()).await;
        assert_eq!(got.as_u16(), *status, "{method} {uri} {body:?}: {answer}");
        assert_eq!(answer["field"].as_str(), *field, "{method} {uri}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(words),
            "{method} {uri}: {answer}"
        );
    }
    for (uri, body, status, field, words) in &json_cases {
        let (got, answer) = post(&router, uri, body.clone()).await;
        assert_eq!(got.as_u16(), *status, "{uri} {body}: {answer}");
        assert_eq!(answer["field"], *field, "{uri} {body}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(words),
            "{uri} {body}: {answer}"
        );
    }
    for (body, field, words) in &date_cases {
        let (got, answer) = post(&router, "/forecast", body.clone()).await;
        assert_eq!(got, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(answer["field"], *field, "{answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(words),
            "{answer}"
        );
    }
    // A body over the 1 MiB limit is refused before it is read as JSON.
    let huge = format!(
        "{{\"model\": \"lm\", \"prime\": \"{}\"}}",
        "a".repeat(2 << 20)
    );
    let (got, answer) = call(&router, "POST", "/generate", huge).await;
    assert_eq!(got, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("over the limit of 1048576 bytes")
    );
    // After all of that, the server still answers.
    let (status, _) = post(
        &router,
        "/generate",
        json!({"model": "lm", "prime": "a", "length": 3}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_failing_model_is_a_500_and_the_next_request_still_works() {
    let router = app().router();
    for _ in 0..2 {
        let (status, body) = post(
            &router,
            "/generate",
            json!({"model": "lm-nan", "prime": "the ", "length": 5}),
        )
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        assert!(body["field"].is_null());
        let error = body["error"].as_str().unwrap();
        assert!(error.contains("not finite"), "{error}");
        // The healthy model and the failed model's own worker both answer next.
        let (status, body) = post(
            &router,
            "/generate",
            json!({"model": "lm", "prime": "the ", "length": 5}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

#[test]
fn serve_refuses_what_it_cannot_load_naming_the_directory() {
    let runs = runs();
    let missing = runs.root.join("no-such-run");
    let out = xtask(&["serve", missing.to_str().unwrap(), "--port", "0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-run") && err.contains("finished run directory"),
        "{err}"
    );
    let out = xtask(&["serve"]);
    assert!(!out.status.success());
    let out = xtask(&[
        "serve",
        runs.lm.to_str().unwrap(),
        runs.lm.to_str().unwrap(),
        "--port",
        "0",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("two runs are named \"lm\""), "{err}");
}

/// One HTTP request over loopback with hyper's client: status, JSON body, latency.
async fn fetch(
    client: &hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Full<axum::body::Bytes>,
    >,
    url: &str,
    body: &Value,
) -> (StatusCode, Value, Duration) {
    let start = Instant::now();
    let request = Request::builder()
        .method("POST")
        .uri(url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(http_body_util::Full::new(axum::body::Bytes::from(
            body.to_string(),
        )))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value: Value = serde_json::from_slice(&bytes).unwrap();
    (status, value, start.elapsed())
}

/// 200 concurrent requests over loopback, 50 per route, each answer checked; the
/// throughput and the latencies are printed (`--nocapture`), and the whole must finish in
/// a bounded time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_test_answers_200_concurrent_requests_over_loopback() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(recurrent_serve::serve(listener, app().router()));
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let rows: Vec<Value> = sales_rows();
    let kinds = [
        (
            "/generate",
            json!({"model": "lm", "prime": "the ", "length": 20, "seed": 1}),
        ),
        ("/forecast", json!({"history": rows})),
        ("/tag", json!({"text": "Ana Silva works in Oslo ."})),
        ("/translate", json!({"lines": ["abc", "dab"]})),
    ];
    let start = Instant::now();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let (route, body) = kinds[i % kinds.len()].clone();
            let client = client.clone();
            let url = format!("http://{address}{route}");
            tokio::spawn(async move {
                let (status, answer, latency) = fetch(&client, &url, &body).await;
                (route, status, answer, latency)
            })
        })
        .collect();
    let all = tokio::time::timeout(Duration::from_secs(300), futures_join(tasks))
        .await
        .expect("200 requests answered within 300 s");
    let elapsed = start.elapsed();
    let mut latencies = Vec::new();
    let mut firsts: std::collections::BTreeMap<&str, Value> = Default::default();
    for (route, status, answer, latency) in all {
        assert_eq!(status, StatusCode::OK, "{route}: {answer}");
        // Every answer of a route is the same (seeded sampling, deterministic models).
        let first = firsts.entry(route).or_insert_with(|| answer.clone());
        assert_eq!(&answer, first, "{route}");
        latencies.push(latency);
    }
    assert_eq!(
        firsts["/generate"]["text"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        20
    );
    assert_eq!(firsts["/forecast"]["forecast"].as_array().unwrap().len(), 4);
    assert_eq!(
        firsts["/tag"]["sentences"][0]["tags"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    assert_eq!(
        firsts["/translate"]["translations"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    latencies.sort();
    let pick = |q: f64| {
        latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1]
    };
    println!(
        "load test: 200 requests (50 each of /generate 20 chars, /forecast, /tag, /translate) in {:.2} s: {:.1} requests/s, p50 {:.0} ms, p99 {:.0} ms",
        elapsed.as_secs_f64(),
        200.0 / elapsed.as_secs_f64(),
        pick(0.5).as_secs_f64() * 1e3,
        pick(0.99).as_secs_f64() * 1e3,
    );
    server.abort();
}

async fn futures_join<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}
