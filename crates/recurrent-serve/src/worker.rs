//! One worker thread per loaded run: requests queue on a channel, the worker takes what
//! has queued (up to [`MAX_BATCH_JOBS`]) and answers it together where the model batches
//! (the tagger's sentences, seq2seq lines), one at a time otherwise. A model that fails or
//! panics answers that batch with a 500 and the worker takes the next one.

use std::sync::mpsc;

use serde_json::Value;
use tokio::sync::oneshot;

use crate::error::ApiError;
use crate::limits::MAX_BATCH_JOBS;
use crate::request::Request;
use crate::runs::LoadedRun;

/// What a worker answers: a response body or an error.
pub type Answer = Result<Value, ApiError>;

struct Job {
    request: Request,
    reply: oneshot::Sender<Answer>,
}

/// The handle of a run's worker thread.
#[derive(Debug, Clone)]
pub struct Worker {
    name: String,
    sender: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("request", &self.request)
            .finish()
    }
}

impl Worker {
    /// Starts the worker thread of `run`; it ends when every handle is dropped.
    ///
    /// Errors: the thread could not be started.
    pub fn spawn(run: LoadedRun) -> std::io::Result<Self> {
        let name = run.info.name.clone();
        let (sender, receiver) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(format!("serve-{name}"))
            .spawn(move || work(&run, &receiver))?;
        Ok(Self { name, sender })
    }

    /// Queues `request` and waits for its answer.
    pub async fn ask(&self, request: Request) -> Answer {
        let (reply, answer) = oneshot::channel();
        if self.sender.send(Job { request, reply }).is_err() {
            return Err(ApiError::model(format!(
                "the worker of {} has stopped",
                self.name
            )));
        }
        answer.await.unwrap_or_else(|_| {
            Err(ApiError::model(format!(
                "the worker of {} dropped the request",
                self.name
            )))
        })
    }
}

fn work(run: &LoadedRun, receiver: &mpsc::Receiver<Job>) {
    while let Ok(first) = receiver.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH_JOBS {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let requests: Vec<&Request> = jobs.iter().map(|j| &j.request).collect();
        tracing::debug!("{}: {} request(s)", run.info.name, requests.len());
        let answers =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.answer_batch(&requests)))
                .unwrap_or_else(|_| {
                    requests
                        .iter()
                        .map(|_| Err(ApiError::model("the model panicked on this batch")))
                        .collect()
                });
        for (job, answer) in jobs.into_iter().zip(answers) {
            // The client may have gone: its answer is dropped.
            let _ = job.reply.send(answer);
        }
    }
}
