//! The page at `/` in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, driven over WebDriver by fantoccini) against the server on loopback:
//! it types a prime, moves the temperature slider, clicks and finds generated text; draws
//! the forecast chart of history and prediction; tags a sentence; translates lines.
//!
//! Ignored by a plain `cargo test` (it needs the browser installed); `cargo xtask test`
//! runs it and fails when the browser is missing (`--skip-browser` leaves it out).

mod common;
mod serving;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use serving::{LM_TEXT, app};

/// The first `name` on `PATH`.
fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// chromedriver, killed when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn connect(port: u16) -> Client {
    let mut options = json!({
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1200,2000"],
    });
    if let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(which)
    {
        options["binary"] = json!(chromium);
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), options);
    let started = Instant::now();
    loop {
        let attempt = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        match attempt {
            Ok(client) => return client,
            Err(e) if started.elapsed() < Duration::from_secs(30) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => panic!("could not open a session of chromedriver on port {port}: {e}"),
        }
    }
}

/// Waits (up to 120 s) until `script` returns a truthy value, failing with the page's
/// visible error boxes if it never does.
async fn wait_until(client: &Client, what: &str, script: &str) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let value = client.execute(script, vec![]).await.unwrap();
        let truthy = match &value {
            serde_json::Value::Null | serde_json::Value::Bool(false) => false,
            serde_json::Value::String(s) => !s.is_empty(),
            serde_json::Value::Number(n) => n.as_f64() != Some(0.0),
            _ => true,
        };
        if truthy {
            return value;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let errors = client
                .execute(
                    "return [...document.querySelectorAll('.error')].map(e => e.textContent).join(' | ')",
                    vec![],
                )
                .await
                .unwrap();
            panic!("{what}: not seen within 120 s; error boxes: {errors}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromium-driver: `cargo xtask test` runs it"]
async fn the_page_generates_text_draws_the_forecast_and_tags_in_headless_chromium() {
    let Some(chromedriver) = which("chromedriver") else {
        panic!(
            "chromedriver is not on PATH: install Debian's `chromium` and `chromium-driver` \
             (sudo apt-get install -y chromium chromium-driver), or run \
             `cargo xtask test --skip-browser`"
        );
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(recurrent_serve::serve(listener, app().router()));
    let port = free_port();
    let _driver = Driver(
        Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = connect(port).await;
    client.goto(&format!("http://{address}/")).await.unwrap();
    let status = wait_until(
        &client,
        "the models' status line",
        "const s = document.querySelector('#status').textContent; return s.includes('loaded') ? s : null",
    )
    .await;
    assert!(status.as_str().unwrap().contains("5 models"), "{status}");

    // char-lm: type a prime, move the temperature slider, click, read the text.
    let prime = client.find(Locator::Id("prime")).await.unwrap();
    prime.clear().await.unwrap();
    prime.send_keys("the ").await.unwrap();
    let slider = client.find(Locator::Id("temperature")).await.unwrap();
    // Arrow keys move a range input one step (0.1) at a time, as a user's would.
    for _ in 0..3 {
        slider.send_keys("\u{E012}").await.unwrap(); // ArrowLeft
    }
    let shown = client
        .find(Locator::Id("temperature-value"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(shown.contains("0.5"), "temperature shown as {shown:?}");
    let length = client.find(Locator::Id("length")).await.unwrap();
    length.clear().await.unwrap();
    length.send_keys("60").await.unwrap();
    client
        .find(Locator::Id("generate"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let text = wait_until(
        &client,
        "generated text",
        "return document.querySelector('#generated-text').textContent",
    )
    .await;
    let text = text.as_str().unwrap();
    assert_eq!(text.chars().count(), 60, "{text:?}");
    assert!(text.chars().all(|c| LM_TEXT.contains(c)), "{text:?}");
    let whole = client
        .find(Locator::Id("generated"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(whole.starts_with("the "), "{whole:?}");

    // forecast: the example history is drawn at once; a click adds the prediction.
    wait_until(
        &client,
        "the history line of the forecast chart",
        "const p = document.querySelector('#forecast-chart path.history:not(.legend)'); return p && p.getAttribute('d')",
    )
    .await;
    client
        .find(Locator::Id("forecast-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let points = wait_until(
        &client,
        "the prediction line of the forecast chart",
        "const p = document.querySelector('#forecast-chart path.prediction:not(.legend)'); \
         return p && p.getAttribute('d') && p.getTotalLength() > 0 ? p.getAttribute('d') : null",
    )
    .await;
    // The prediction continues from the last history point through the 4 forecast points.
    let vertices = points.as_str().unwrap().matches(['M', 'L']).count();
    assert!(vertices >= 4, "{points}");
    // The table shows the 4 forecast values, dated by month after the example's 2004-12.
    let cells = wait_until(
        &client,
        "the forecast values",
        "return [...document.querySelectorAll('#forecast-values td')].map(c => c.textContent)",
    )
    .await;
    let values = cells.as_array().unwrap();
    assert_eq!(values.len(), 4, "{cells}");
    for v in values {
        let v: f64 = v.as_str().unwrap().replace(',', "").parse().unwrap();
        assert!(v.is_finite(), "{cells}");
    }
    let header = client
        .find(Locator::Id("forecast-values"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        header.contains("2005-01") && header.contains("2005-04"),
        "{header}"
    );

    // tagger: a tag under every token.
    let sentence = client.find(Locator::Id("sentence")).await.unwrap();
    sentence.clear().await.unwrap();
    sentence
        .send_keys("Ana Silva works in Oslo .")
        .await
        .unwrap();
    client
        .find(Locator::Id("tag-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let tags = wait_until(
        &client,
        "tags",
        "return [...document.querySelectorAll('#tags .tag')].map(t => t.textContent).join(' ')",
    )
    .await;
    assert_eq!(tags.as_str().unwrap().split(' ').count(), 6, "{tags}");

    // seq2seq: one translation per line.
    let lines = client.find(Locator::Id("lines")).await.unwrap();
    lines.clear().await.unwrap();
    lines.send_keys("abc\ndab").await.unwrap();
    client
        .find(Locator::Id("translate-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let rows = wait_until(
        &client,
        "translations",
        "const n = document.querySelectorAll('#translations tr td').length; return n >= 2 ? n : 0",
    )
    .await;
    assert!(rows.as_u64().unwrap() >= 2, "{rows}");
    let errors = client
        .execute(
            "return [...document.querySelectorAll('.error')].map(e => e.textContent.trim()).filter(t => t).join(' | ')",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(errors, json!(""), "the page shows errors");
    client.close().await.unwrap();
    server.abort();
}
