//! `concierge`: the support-desk server.

use clap::{Parser, Subcommand};
use concierge_server::{startup, Application, Config};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "concierge",
    version,
    about = "The Concierge support-desk server"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
}

#[actix_web::main]
async fn main() -> ExitCode {
    // A missing .env is normal; a broken one is worth saying.
    if let Err(err) = dotenvy::dotenv() {
        if !err.not_found() {
            eprintln!("warning: .env: {err}");
        }
    }
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config.log_level);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => startup::open_store(&config)
            .await
            .map(|_| tracing::info!("migrations applied"))
            .map_err(|e| e.to_string()),
        Command::Serve => match Application::build(config).await {
            Ok(app) => app.serve_until_signal().await.map_err(|e| e.to_string()),
            Err(err) => Err(err.to_string()),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "concierge stopped");
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
