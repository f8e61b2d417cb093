//! `concierge`: the support-desk server.

// Panicking shortcuts stay in tests; elsewhere a failure is an error the caller sees.
#![cfg_attr(not(test), deny(clippy::expect_used, clippy::indexing_slicing))]

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
    /// Create a staff user; the password is read from standard input.
    CreateUser {
        /// Login name.
        #[arg(long)]
        username: String,
        /// Display name (default: the username).
        #[arg(long)]
        name: Option<String>,
        /// Email address.
        #[arg(long)]
        email: Option<String>,
        /// AGENT, ADMIN or SUPER_ADMIN.
        #[arg(long, default_value = "AGENT")]
        role: String,
    },
    /// Print the version and exit.
    Version,
    /// Print the OpenAPI 3.1 document of /api/v1 and exit.
    Openapi,
}

fn init_logging(level: &str, json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        builder.init();
    }
}

/// Reads one line (the password) from standard input, without its line ending.
fn read_password() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("reading the password from standard input: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        return Err("no password on standard input".into());
    }
    Ok(password)
}

async fn create_user(
    config: &Config,
    username: String,
    name: Option<String>,
    email: Option<String>,
    role: String,
) -> Result<(), String> {
    let role = role
        .parse()
        .map_err(|e: concierge_domain::DomainError| e.to_string())?;
    let password = read_password()?;
    let services = startup::services_for_cli(config)
        .await
        .map_err(|e| e.to_string())?;
    let account = concierge_domain::services::NewAccount {
        name: name.unwrap_or_else(|| username.clone()),
        username,
        email,
        password,
        role,
    };
    let user = services
        .accounts
        .create(&concierge_domain::Actor::System, account)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "created {} ({}) with id {}",
        user.username, user.role, user.id
    );
    Ok(())
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
    if matches!(cli.command, Some(Command::Openapi)) {
        println!("{}", concierge_server::openapi_json());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config.log_level, config.json_logs);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => Ok(()), // printed before the configuration is read
        Command::Version => {
            println!("concierge {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::CreateUser {
            username,
            name,
            email,
            role,
        } => create_user(&config, username, name, email, role).await,
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
