//! anycastd: the userspace half of an anycast DNS node. It loads and
//! attaches the XDP fast path, serves the VIPs over UDP and TCP, resolves
//! what the fast path cannot answer, and feeds the fast path's answer map.
//! This file reads the flags, sets up logging and the runtime, and turns
//! signals into stops; [`anycast_user::daemon`] does the rest.

use std::process::ExitCode;

use anycast_user::{
    cli::{Cli, Command, DEFAULT_CONFIG},
    config::{Config, flags::Flags},
    daemon::{
        self, Stop, control,
        top_view::{Snapshot, render},
    },
    route::announce::Announcer,
};
use anyhow::{Context, Result};
use clap::Parser;
use tokio::signal::unix::{SignalKind, signal};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Ctl { socket, command }) => return ctl(socket, &command.join(" ")),
        Some(Command::Withdraw { flags }) => return withdraw(flags),
        Some(Command::CheckConfig { file, flags }) => return check_config(file.as_deref(), flags),
        None => {}
    }
    let filter = match tracing_subscriber::EnvFilter::try_new(&cli.log) {
        Ok(filter) => filter,
        Err(e) => {
            eprintln!("anycastd: --log {}: {e}", cli.log);
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let config = match Config::load(&cli.flags) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("anycastd: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime(config.service.threads)
        .context("starting the runtime")
        .and_then(|rt| rt.block_on(run(config, cli.flags)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `anycastd withdraw`: what the configuration announces, withdrawn.
fn withdraw(flags: &Flags) -> ExitCode {
    let config = match Config::load(flags) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("anycastd withdraw: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let (interface, vips) = (config.announce.vip_interface.clone(), config.service.vips.clone());
    let withdrawn = Announcer::withdraw_after_crash(config.announce, vips);
    match runtime(Some(1)).map_err(anyhow::Error::from).and_then(|rt| Ok(rt.block_on(withdrawn)?)) {
        Ok(removed) => {
            println!("anycastd withdraw: withdrawn; {removed} VIPs taken off {interface}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("anycastd withdraw: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `anycastd check-config [FILE]`: `FILE:LINE: problem` lines on stderr,
/// or one line saying it is fine.
fn check_config(file: Option<&std::path::Path>, flags: &Flags) -> ExitCode {
    let path = file.or(flags.config.as_deref()).unwrap_or(std::path::Path::new(DEFAULT_CONFIG)).to_path_buf();
    let flags = Flags { config: Some(path.clone()), ..flags.clone() };
    let problems = daemon::check::check(&path, &flags);
    for problem in &problems {
        let line = problem.line.map_or(String::new(), |line| format!("{line}:"));
        eprintln!("{}:{line} {}", path.display(), problem.what);
    }
    if problems.is_empty() {
        println!("{}: no problems", path.display());
        ExitCode::SUCCESS
    } else {
        eprintln!("{}: {} problem{}", path.display(), problems.len(), if problems.len() == 1 { "" } else { "s" });
        ExitCode::FAILURE
    }
}

/// `anycastd ctl COMMAND`: the daemon's answer on stdout.
fn ctl(socket: &std::path::Path, command: &str) -> ExitCode {
    let mut words = command.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some("capture"), ..) => return ctl_capture(socket, command),
        (Some("top"), screens, None) => {
            let Ok(screens) = screens.map(str::parse::<u32>).transpose() else {
                eprintln!("anycastd ctl: top [SCREENS]: a number of screens, or none to run until interrupted");
                return ExitCode::from(2);
            };
            return ctl_top(socket, screens);
        }
        _ => {}
    }
    match runtime(Some(1)).and_then(|rt| rt.block_on(control::request(socket, command))) {
        Ok(reply) => {
            print!("{reply}");
            if reply.starts_with("error") { ExitCode::FAILURE } else { ExitCode::SUCCESS }
        }
        Err(e) => {
            eprintln!("anycastd ctl: {}: {e}", socket.display());
            ExitCode::FAILURE
        }
    }
}

/// `anycastd ctl top [SCREENS]`: a screen a second, from the daemon's
/// `stats` and `top`, SCREENS times or until interrupted.
fn ctl_top(socket: &std::path::Path, screens: Option<u32>) -> ExitCode {
    let run = async {
        let every = std::time::Duration::from_secs(1);
        let mut before = (Snapshot::parse(&control::request(socket, "stats").await?), std::time::Instant::now());
        control::request(socket, "top").await?;
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
        for _ in 0..screens.unwrap_or(u32::MAX) {
            tokio::time::sleep(every).await;
            let (stats, top) = (control::request(socket, "stats").await?, control::request(socket, "top").await?);
            let after = (Snapshot::parse(&stats), std::time::Instant::now());
            let screen =
                render(&socket.display().to_string(), &before.0, &after.0, (after.1 - before.1).as_secs_f64(), &top);
            // A terminal is redrawn in place; a pipe gets the screens in turn.
            if terminal {
                print!("\x1b[H\x1b[2J{screen}")
            } else {
                println!("{screen}")
            }
            before = after;
        }
        Ok::<_, std::io::Error>(())
    };
    match runtime(Some(1)).and_then(|rt| rt.block_on(run)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("anycastd ctl: {}: {e}", socket.display());
            ExitCode::FAILURE
        }
    }
}

/// `anycastd ctl capture ...`: the pcap stream on stdout.
fn ctl_capture(socket: &std::path::Path, command: &str) -> ExitCode {
    let streamed =
        runtime(Some(1)).and_then(|rt| rt.block_on(control::request_stream(socket, command, &mut tokio::io::stdout())));
    match streamed {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(error)) => {
            eprint!("anycastd ctl: {error}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("anycastd ctl: {}: {e}", socket.display());
            ExitCode::FAILURE
        }
    }
}

/// The async runtime: `threads` workers, or one per CPU the daemon may run
/// on.
fn runtime(threads: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = threads {
        builder.worker_threads(threads);
    }
    builder.enable_all().build()
}

/// Serves until SIGTERM (a graceful stop) or SIGINT (at once); SIGHUP
/// reloads.
async fn run(config: Config, flags: Flags) -> Result<()> {
    let running = daemon::start(config, flags).await?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let how = loop {
        tokio::select! {
            _ = terminate.recv() => {
                tracing::info!("SIGTERM: withdrawing, then draining");
                break Stop::Graceful;
            }
            _ = interrupt.recv() => {
                tracing::info!("SIGINT: stopping");
                break Stop::Now;
            }
            _ = hangup.recv() => {
                tracing::info!("SIGHUP: reloading");
                running.reload();
            }
        }
    };
    running.stop(how).await;
    Ok(())
}
