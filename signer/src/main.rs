//! `alert-relay-sign`: parses the command line and maps each outcome to an exit status.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory as _, Parser as _};
use signer::cli::{self, Cli, Command, SilenceCommand};
use signer::{providers, send, sign, silence, verify};

/// A usage error: what clap itself exits with.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    let (args, implicit) = cli::with_default_subcommand(std::env::args_os().collect());
    if implicit {
        eprintln!(
            "alert-relay-sign: no subcommand given, so this is `sign` (write `alert-relay-sign sign …`)"
        );
    }
    match Cli::parse_from(args).command {
        Command::Sign(args) => {
            if let Err(message) = args.request.check() {
                cli::usage_error("sign", message).exit();
            }
            match sign::run(&args) {
                Ok(output) => print(output.as_bytes(), ExitCode::SUCCESS),
                Err(error) => fail(&error.to_string(), ExitCode::FAILURE),
            }
        }
        Command::Verify(args) => {
            if let Err(message) = args.check() {
                cli::usage_error("verify", message).exit();
            }
            match verify::run(&args) {
                Ok(report) => {
                    let status = if report.accepted() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    };
                    print(verify::render(&report).as_bytes(), status)
                }
                Err(error) => fail(&error.to_string(), ExitCode::from(USAGE)),
            }
        }
        Command::Send(args) => {
            if let Err(message) = args.request.check() {
                cli::usage_error("send", message).exit();
            }
            let request = match sign::request(&args.request, None) {
                Ok(request) => request,
                Err(error) => return fail(&error.to_string(), ExitCode::from(USAGE)),
            };
            let url = send::url(&args, &request);
            match send::send(&request, &url, Duration::from_secs(args.timeout)) {
                Ok(answer) => {
                    let mut text =
                        format!("HTTP {} {}\n{}", answer.status, answer.reason, answer.body);
                    if !text.ends_with('\n') {
                        text.push('\n');
                    }
                    let status = if answer.is_success() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    };
                    print(text.as_bytes(), status)
                }
                Err(error) => fail(&format!("no answer from {url}: {error}"), ExitCode::FAILURE),
            }
        }
        Command::Providers { json } => {
            let text = if json {
                providers::json()
            } else {
                providers::table()
            };
            print(text.as_bytes(), ExitCode::SUCCESS)
        }
        Command::Silence { command } => {
            let name = match command {
                SilenceCommand::Add(_) => "silence add",
                SilenceCommand::List(_) => "silence list",
                SilenceCommand::Expire(_) => "silence expire",
            };
            match silence::run(command, silence::now()) {
                Ok(done) => {
                    for note in done.notes {
                        eprintln!("alert-relay-sign: {note}");
                    }
                    print(done.stdout.as_bytes(), ExitCode::SUCCESS)
                }
                Err(silence::Error::Usage(message)) => cli::usage_error(name, message).exit(),
                Err(error) => fail(&error.to_string(), ExitCode::FAILURE),
            }
        }
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "alert-relay-sign", &mut out);
            print(&out, ExitCode::SUCCESS)
        }
    }
}

fn print(bytes: &[u8], status: ExitCode) -> ExitCode {
    match std::io::stdout().lock().write_all(bytes) {
        Ok(()) => status,
        Err(error) => fail(&format!("cannot write output: {error}"), ExitCode::FAILURE),
    }
}

fn fail(message: &str, status: ExitCode) -> ExitCode {
    eprintln!("alert-relay-sign: {message}");
    status
}
