//! `send`: signs a body and POSTs it, as `sign --output curl | sh` did, without a shell.

use std::time::Duration;

use ureq::tls::{RootCerts, TlsConfig, TlsProvider};

use crate::cli::{LOCAL_FUNCTION_URL, SendArgs};
use crate::request::{Request, USER_AGENT};

/// What came back.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub reason: String,
    pub body: String,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Where `args` send `request`.
pub fn url(args: &SendArgs, request: &Request) -> String {
    let base = args
        .url
        .clone()
        .unwrap_or_else(|| format!("{LOCAL_FUNCTION_URL}{}", request.path));
    request.url(&base)
}

/// Sends `request` to `url` and reads the answer, whatever its status.
pub fn send(request: &Request, url: &str, timeout: Duration) -> Result<Answer, ureq::Error> {
    let tls = TlsConfig::builder()
        .provider(TlsProvider::NativeTls)
        .root_certs(RootCerts::PlatformVerifier)
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        // An answer is printed as it is, a redirect included, as curl does without -L.
        .max_redirects(0)
        .allow_non_standard_methods(true)
        .timeout_global(Some(timeout))
        .user_agent(USER_AGENT)
        .tls_config(tls)
        .build()
        .into();
    let mut builder = http::Request::builder()
        .method(request.method.as_str())
        .uri(url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    // HEAD and CONNECT carry no body; the function answers them 405 whatever they carry.
    let mut response = if matches!(request.method.as_str(), "HEAD" | "CONNECT") {
        agent.run(builder.body(())?)?
    } else {
        agent.run(builder.body(request.body.as_slice())?)?
    };
    let status = response.status();
    let body = response.body_mut().read_to_string()?;
    Ok(Answer {
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or("").to_owned(),
        body,
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::{Cli, Command};

    fn url_for(line: &str) -> String {
        let argv = ["alert-relay-sign", "send"]
            .into_iter()
            .chain(line.split_whitespace());
        let Ok(Command::Send(args)) = Cli::try_parse_from(argv).map(|cli| cli.command) else {
            panic!("send arguments expected");
        };
        let request = Request::build(&args.request, Some("k"), b"{}".to_vec(), 0).unwrap();
        url(&args, &request)
    }

    #[test]
    fn sends_to_the_local_stack_by_default() {
        assert_eq!(
            url_for("--provider monte-carlo --secret k --body x"),
            "http://127.0.0.1:9000/lambda-url/alert-relay/webhooks/monte-carlo"
        );
        assert_eq!(
            url_for(
                "--provider app-services --unsigned --query secret=a&b --body x --path /prod/webhooks/app-services"
            ),
            "http://127.0.0.1:9000/lambda-url/alert-relay/prod/webhooks/app-services?secret=a%26b"
        );
        assert_eq!(
            url_for("--provider atlas --secret k --body x --url https://x.test/webhooks/atlas"),
            "https://x.test/webhooks/atlas"
        );
    }
}
