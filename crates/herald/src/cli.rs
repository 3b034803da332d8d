//! The `herald` command: serve, migrate, import, export, check-config.

use crate::app::{self, ServeOptions};
use crate::config::{Config, DatabaseUrl};
use crate::runtime::Supervisor;
use anyhow::{anyhow, Context};
use clap::{Parser, Subcommand, ValueEnum};
use herald_core::access::Role;
use herald_core::datafile::{DataFile, Format};
use herald_store::{ImportOptions, WriteMeta};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "herald",
    version,
    about = "Status page, uptime monitor and incident communication"
)]
pub struct Cli {
    /// Configuration file (default: ./herald.toml when it exists).
    #[arg(long, global = true, env = "HERALD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Folder for the embedded database (overrides `data_dir`).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL (overrides `database_url`): sqlite://FILE or postgres://…
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve {
        /// Start with the example page when the database is empty.
        #[arg(long)]
        demo: bool,
        /// Address to listen on (overrides `listen`).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Create or update the database schema.
    Migrate,
    /// Import a data file (TOML, or JSON by its .json ending) in one transaction.
    Import { file: PathBuf },
    /// Print the whole page as a data file.
    Export {
        #[arg(long, value_enum, default_value = "toml")]
        format: ExportFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check the configuration and print it (secrets hidden).
    CheckConfig,
    /// Back up the whole database to FILE while Herald runs (SQLite: a consistent copy of the
    /// database file; PostgreSQL: a logical dump, one JSON line per row).
    Backup { file: PathBuf },
    /// Fill an empty database (migrated first if needed) from a backup made by `herald backup`
    /// at the same version. Stop the servers using that database first.
    Restore { file: PathBuf },
    /// Write the whole public site (pages, v2 JSON, feeds, badges, assets) as static files.
    Mirror {
        /// The folder to write (created if missing; files of vanished pages are removed).
        #[arg(long)]
        out: PathBuf,
    },
    /// Manage the people who sign in to the admin side.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Open, update, resolve and list incidents on a running server.
    Incident {
        #[command(flatten)]
        server: crate::remote::Server,
        #[command(subcommand)]
        command: crate::remote::IncidentCommand,
    },
    /// Change components on a running server.
    Component {
        #[command(flatten)]
        server: crate::remote::Server,
        #[command(subcommand)]
        command: crate::remote::ComponentCommand,
    },
    /// Schedule maintenance on a running server.
    Maintenance {
        #[command(flatten)]
        server: crate::remote::Server,
        #[command(subcommand)]
        command: crate::remote::MaintenanceCommand,
    },
    /// Manage API keys (works on the local database; no server needed).
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input (one line).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = parse_role, default_value = "editor")]
        role: Role,
    },
    /// List users.
    List,
}

#[derive(Subcommand, Debug)]
pub enum ApiKeyCommand {
    /// Create a key and print it once; only its hash is stored.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_role, default_value = "editor")]
        role: Role,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by its id.
    Revoke { id: String },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("`{s}` is not a role: use owner, editor or viewer"))
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ExportFormat {
    Toml,
    Json,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    main_with(std::env::args_os(), |_| {})
}

/// [`main`] with the given arguments, and with `extra` adding tasks of the caller's to the
/// server's supervisor (`serve` only): a task that fails stops the server like one of its own.
/// The seam the process-level shutdown tests run a whole `herald serve` through.
pub fn main_with<I, T>(args: I, extra: impl FnOnce(&mut Supervisor) + Send + 'static) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::parse_from(args);
    let filter = std::env::var("HERALD_LOG").unwrap_or_else(|_| "info".into());
    let filter = tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_default();
    // `HERALD_LOG_FORMAT=json`: one JSON object per line, for log collectors.
    if std::env::var("HERALD_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("herald: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    use crate::remote::RemoteCommand;
    let remote = match &cli.command {
        Command::Incident { server, command } => Some((server, RemoteCommand::Incident(command))),
        Command::Component { server, command } => Some((server, RemoteCommand::Component(command))),
        Command::Maintenance { server, command } => {
            Some((server, RemoteCommand::Maintenance(command)))
        }
        _ => None,
    };
    if let Some((server, command)) = remote {
        return runtime.block_on(crate::remote::run(server, command));
    }
    match runtime.block_on(run(cli, Box::new(extra))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors can quote what a file or the database held: shown escaped.
            eprintln!("herald: {}", shown(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

/// Reads the configuration the flags point at, with the flags applied on top.
fn load_config(cli: &Cli, listen: Option<SocketAddr>) -> anyhow::Result<Config> {
    let default = Path::new("herald.toml");
    let file = cli
        .config
        .as_deref()
        .or(default.exists().then_some(default));
    let mut config = Config::load(file, std::env::vars())?;
    if let Some(dir) = &cli.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(url) = &cli.database_url {
        config.database_url = Some(DatabaseUrl(url.clone()));
    }
    if let Some(addr) = listen {
        config.listen = addr;
    }
    Ok(config)
}

/// Adds tasks to the server's supervisor before it starts.
type ExtraTasks = Box<dyn FnOnce(&mut Supervisor) + Send>;

async fn run(cli: Cli, extra: ExtraTasks) -> anyhow::Result<()> {
    match &cli.command {
        Command::Serve { demo, listen } => {
            // Listening from the start: a stop asked for while the server prepares is kept
            // and honoured once it serves, instead of killing it half-way.
            let signals = Signals::listen();
            let config = load_config(&cli, *listen)?;
            let open_files = match crate::http::server::raise_open_files_limit() {
                Ok(limits) => {
                    tracing::info!(
                        soft = limits.soft,
                        hard = limits.hard,
                        was = limits.was,
                        "open-files limit raised to the hard limit"
                    );
                    Some(limits.soft)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot raise the open-files limit");
                    None
                }
            };
            let connections = crate::http::server::Options::from_config(&config.server, open_files);
            let wanted = config.server.max_connections();
            if usize::try_from(wanted).is_ok_and(|w| connections.max_connections < w) {
                let used = connections.max_connections;
                if config.server.max_connections.is_some() {
                    tracing::warn!(
                        wanted,
                        used,
                        "server.max_connections lowered to fit the open-files limit"
                    );
                } else {
                    tracing::info!(
                        used,
                        "at most {used} connections at once, for the open-files limit"
                    );
                }
            }
            if let Some(addr) = config.metrics_listen {
                crate::http::prometheus::serve(addr).await?;
            }
            let state =
                app::prepare(&config, &ServeOptions { demo: *demo }, app::system_clock()).await?;
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?;
            eprintln!("herald: serving on http://{}", listener.local_addr()?);
            let mut supervisor = Supervisor::default();
            extra(&mut supervisor);
            app::run_supervised(state, listener, connections, supervisor, signals.shutdown()).await
        }
        Command::Migrate => {
            let config = load_config(&cli, None)?;
            let store = app::open_store(&config).await?;
            println!(
                "migrated the {} database {}",
                store.engine(),
                herald_store::redact_url(&config.database_url())
            );
            Ok(())
        }
        Command::Import { file } => {
            let config = load_config(&cli, None)?;
            let shown = file.display().to_string();
            let text =
                std::fs::read_to_string(file).with_context(|| format!("cannot read {shown}"))?;
            let data = DataFile::parse(&text, Format::from_path(&shown))
                .map_err(|e| anyhow!("{shown}: {e}"))?;
            let store = app::open_store(&config).await?;
            // Through the service, so servers sharing the database are told and show it at once.
            let service = crate::service::Service::new(
                store.clone(),
                crate::render::Branding::default(),
                crate::service::system_clock(),
            );
            let report = service
                .import(
                    &crate::service::Actor::System("cli"),
                    data,
                    &ImportOptions::default(),
                )
                .await
                .map_err(|e| anyhow!("{shown}: {e}"))?;
            println!(
                "imported {shown}: {} written, {} unchanged (nothing else was touched)",
                report.written, report.unchanged
            );
            Ok(())
        }
        Command::Export { format, out } => {
            let config = load_config(&cli, None)?;
            let store = app::open_store(&config).await?;
            let doc = store
                .load()
                .await?
                .ok_or_else(|| anyhow!("the database holds no page yet"))?;
            let format = match format {
                ExportFormat::Toml => Format::Toml,
                ExportFormat::Json => Format::Json,
            };
            let mut file = DataFile::from_document(&doc);
            file.monitors = store
                .list_monitors()
                .await?
                .into_iter()
                .map(|m| m.spec)
                .collect();
            file.automation = store.list_automations().await?;
            file.metrics = store.list_metrics().await?;
            file.alert_channels = store.list_alert_channels().await?;
            let text = file.render(format);
            match out {
                Some(path) => std::fs::write(path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{text}"),
            }
            Ok(())
        }
        Command::User { command } => {
            let config = load_config(&cli, None)?;
            let store = app::open_store(&config).await?;
            match command {
                UserCommand::Create { email, role } => {
                    let mut password = String::new();
                    std::io::stdin()
                        .read_line(&mut password)
                        .context("reading the password from standard input")?;
                    let password = password.trim_end_matches(['\r', '\n']);
                    let id = app::create_user(&store, email, password, *role, "cli").await?;
                    println!("created {} user {email} ({id})", role.as_str());
                }
                UserCommand::List => {
                    for u in store.list_users().await? {
                        println!("{}\t{}\t{}", u.id, u.role.as_str(), cell(&u.email));
                    }
                }
            }
            Ok(())
        }
        Command::ApiKey { command } => {
            let config = load_config(&cli, None)?;
            let store = app::open_store(&config).await?;
            let meta = WriteMeta {
                actor: "cli".into(),
                now: chrono::Utc::now(),
            };
            match command {
                ApiKeyCommand::Create { name, role } => {
                    if name.trim().is_empty() {
                        return Err(anyhow!("--name must not be blank"));
                    }
                    let secret = crate::http::auth::new_secret(20);
                    let key = store
                        .create_api_key(
                            name.trim(),
                            &crate::http::auth::secret_hash(&secret),
                            *role,
                            &meta,
                        )
                        .await?;
                    eprintln!(
                        "created {} key `{}` ({}); it is shown only once:",
                        role.as_str(),
                        cell(&key.name),
                        key.id
                    );
                    println!("{secret}");
                }
                ApiKeyCommand::List => {
                    for k in store.list_api_keys().await? {
                        let state = if k.revoked_at.is_some() {
                            "revoked"
                        } else {
                            "active"
                        };
                        println!(
                            "{}\t{}\t{}\t{}",
                            k.id,
                            k.role.as_str(),
                            state,
                            cell(&k.name)
                        );
                    }
                }
                ApiKeyCommand::Revoke { id } => {
                    let id = herald_core::Id::parse(id).map_err(|e| anyhow!("{e}"))?;
                    store.revoke_api_key(&id, &meta).await?;
                    println!("revoked {id}");
                }
            }
            Ok(())
        }
        Command::Incident { .. } | Command::Component { .. } | Command::Maintenance { .. } => {
            Err(anyhow!("runbook commands are handled before this point"))
        }
        Command::Backup { file } => {
            let config = load_config(&cli, None)?;
            let store = app::open_store(&config).await?;
            let report = store
                .backup(file)
                .await
                .map_err(|e| anyhow!("backup to {}: {e}", file.display()))?;
            println!(
                "backed up the {} database to {}: {} tables, {} rows",
                store.engine(),
                file.display(),
                report.tables,
                report.rows
            );
            Ok(())
        }
        Command::Restore { file } => {
            let config = load_config(&cli, None)?;
            let store = app::open_store(&config).await?;
            let report = store
                .restore(file)
                .await
                .map_err(|e| anyhow!("restore from {}: {e}", file.display()))?;
            println!(
                "restored {} into the {} database: {} tables, {} rows",
                file.display(),
                store.engine(),
                report.tables,
                report.rows
            );
            Ok(())
        }
        Command::Mirror { out } => {
            let config = load_config(&cli, None)?;
            let store = app::open_store(&config).await?;
            let branding = crate::render::Branding {
                logo_url: config.page.logo_url.clone(),
                accent_color: config.page.accent_color.clone(),
            };
            let state = app::AppState::new(store, branding, app::system_clock());
            state
                .site
                .rebuild()
                .await
                .context("rendering the public site")?;
            let snapshot = state.site.snapshot.load_full();
            let written = crate::runtime::mirror::write_dir(&snapshot, out)?;
            println!(
                "mirrored the public site into {}: {written} files written",
                out.display()
            );
            Ok(())
        }
        Command::CheckConfig => {
            let config = load_config(&cli, None)?;
            println!("configuration OK");
            println!("listen       = {}", config.listen);
            println!("data_dir     = {}", config.data_dir.display());
            println!(
                "database_url = {}",
                herald_store::redact_url(&config.database_url())
            );
            let server = &config.server;
            let proxies: Vec<String> = server
                .trusted_proxies
                .iter()
                .map(|r| r.to_string())
                .collect();
            println!(
                "server.trusted_proxies            = [{}]",
                proxies.join(", ")
            );
            println!(
                "server.header_timeout_seconds     = {}",
                server.header_timeout().as_secs()
            );
            println!(
                "server.idle_timeout_seconds       = {}",
                server.idle_timeout().as_secs()
            );
            println!(
                "server.max_connections            = {}",
                server.max_connections()
            );
            println!(
                "server.max_connections_per_client = {}",
                server.max_connections_per_client()
            );
            Ok(())
        }
    }
}

/// Ctrl-C (SIGINT) and SIGTERM, both asking for the graceful stop: the listener closes, the
/// background tasks finish the step in hand and the process exits 0. A second one while it
/// drains stops the process at once (exit status 128 + the signal's number).
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Starts listening (needs the runtime). A signal that cannot be listened for keeps its
    /// default action, which ends the process.
    fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let listen = |kind: SignalKind, name: &str| {
                signal(kind)
                    .map_err(|e| tracing::warn!(error = %e, "cannot listen for {name}"))
                    .ok()
            };
            Signals {
                term: listen(SignalKind::terminate(), "SIGTERM"),
                interrupt: listen(SignalKind::interrupt(), "SIGINT"),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// The next signal: its name and the exit status a forced stop by it reports.
    async fn next(&mut self) -> (&'static str, u8) {
        #[cfg(unix)]
        {
            async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
                match s {
                    Some(s) => {
                        if s.recv().await.is_none() {
                            std::future::pending::<()>().await
                        }
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                _ = recv(&mut self.term) => ("SIGTERM", 128 + 15),
                _ = recv(&mut self.interrupt) => ("SIGINT", 128 + 2),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            ("Ctrl-C", 128 + 2)
        }
    }

    /// Completes on the first signal, and from then on stops the process at the second.
    async fn shutdown(mut self) {
        let (name, _) = self.next().await;
        eprintln!("herald: {name}: shutting down (again to stop at once)");
        tracing::info!(signal = name, "shutting down");
        tokio::spawn(async move {
            let (name, status) = self.next().await;
            eprintln!("herald: {name} again: stopping at once");
            std::process::exit(i32::from(status));
        });
    }
}

/// Text from a file, a server or the database as the terminal is shown it: control characters
/// other than newline and tab escaped (`\u{1b}`), so nothing printed can steer the terminal.
pub fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    herald_core::text::escape(text)
}

/// [`shown`] for one cell of a tab-separated row: newlines and tabs escaped too.
pub fn cell(text: &str) -> std::borrow::Cow<'_, str> {
    herald_core::text::escape_line(text)
}
