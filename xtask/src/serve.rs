//! `cargo xtask serve RUN_DIR... [--backend B] [--host H] [--port P]`: serves finished runs
//! over HTTP (recurrent-serve) with a page at `/` to try them.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use recurrent::backend::Backend;
use recurrent_serve::ServeConfig;

/// Options of `serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Run directories written by `cargo xtask train` (char-lm, forecast, tagger, seq2seq).
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Backend the models run on.
    #[arg(long, default_value = "flex")]
    pub backend: Backend,
    /// Address to listen on (0.0.0.0 to accept other machines).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
}

/// Runs `serve` until Ctrl-C.
pub fn run(args: &ServeArgs) -> Result<()> {
    let device = args.backend.device()?;
    let config = ServeConfig {
        runs: args.runs.clone(),
        host: args.host.clone(),
        port: args.port,
        backend: args.backend.name().to_owned(),
    };
    recurrent_serve::run(&config, &device, |address, models| {
        println!("serving {} model(s) on http://{address}/", models.len());
        for m in models {
            println!(
                "  POST {:<11} {:<8} {} ({})",
                m.route,
                m.task.name(),
                m.name,
                m.model
            );
        }
        println!("  GET  /models, and the page at http://{address}/ ; Ctrl-C stops");
    })?;
    Ok(())
}
