//! Submitting: every URL checked and canonicalised (all problems reported together, nothing published unless
//! every one is good), one fetch job each, published with confirms. `newspipe submit` and `POST /v1/jobs` both
//! come here, so a URL is refused or accepted, and its job made, the same way by either.

use std::time::Duration;

use anyhow::Context;
use futures_util::{StreamExt, TryStreamExt};
use newspipe_broker::{BrokerSettings, Outgoing, Publisher, Queue, Topology};
use newspipe_discover::{Canonical, CanonicalSettings, canonicalize};
use newspipe_models::{FetchJob, JobKind, encode_json, new_job_id};

/// Publishes in flight at once: confirms are awaited concurrently, not one round trip per URL.
const PUBLISH_CONCURRENCY: usize = 64;

/// One URL of the input, with where it came from (for error messages).
#[derive(Debug, Clone, PartialEq)]
pub struct SubmittedUrl {
    pub origin: String,
    pub url: String,
}

/// Every URL must be an absolute http(s) URL with a host; each is canonicalised (lower-case host, no
/// fragment, default port or tracking parameters, sorted query), keeping the original beside it. All problems
/// are reported together, and nothing is published unless every line is good: a half-submitted file is harder
/// to fix than a refused one.
pub fn validate(
    inputs: &[SubmittedUrl],
    settings: &CanonicalSettings,
) -> Result<Vec<Canonical>, Vec<String>> {
    let mut good = Vec::with_capacity(inputs.len());
    let mut errors = Vec::new();
    for input in inputs {
        match url::Url::parse(input.url.trim()) {
            Ok(url) if !matches!(url.scheme(), "http" | "https") => {
                errors.push(format!("{}: `{}` is not an http or https URL", input.origin, input.url))
            }
            Ok(url) if url.host_str().is_none_or(str::is_empty) => {
                errors.push(format!("{}: `{}` has no host", input.origin, input.url))
            }
            Ok(_) => match canonicalize(&input.url, settings) {
                Ok(canonical) => good.push(canonical),
                Err(e) => errors.push(format!("{}: {e}", input.origin)),
            },
            Err(e) => errors.push(format!("{}: `{}` is not a valid URL ({e})", input.origin, input.url)),
        }
    }
    if errors.is_empty() { Ok(good) } else { Err(errors) }
}

/// What to do with each submitted URL besides fetching it.
#[derive(Debug, Clone, Copy, Default)]
pub struct JobOptions {
    pub kind: JobKind,
    /// Fetch again even if stored (conditionally).
    pub refresh: bool,
    /// Feeds and sitemaps: only entries published since.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
}

/// One fetch job per canonical URL, each with a new job id, the submitted URL kept when it differs.
pub fn jobs(urls: Vec<Canonical>, options: JobOptions) -> Vec<FetchJob> {
    urls.into_iter()
        .map(|canonical| {
            let mut job = FetchJob::new(new_job_id(), canonical.url.clone());
            job.submitted_url = Some(canonical.original).filter(|original| *original != canonical.url);
            job.refresh = options.refresh;
            job.kind = options.kind;
            job.since = options.since;
            job
        })
        .collect()
}

/// The message of each job, labelled by its URL.
pub fn job_messages(jobs: &[FetchJob]) -> Vec<(Outgoing, String)> {
    jobs.iter()
        .map(|job| (Outgoing::json(Queue::Fetch, encode_json(job)).for_job(job.job_id), job.url.clone()))
        .collect()
}

/// Publishes each message with confirms on a connection of its own, [`PUBLISH_CONCURRENCY`] at once; a
/// failure names the message's label (its URL or file). Every submitting command goes through here.
pub async fn publish_messages(
    broker: &BrokerSettings,
    client_name: &str,
    messages: Vec<(Outgoing, String)>,
) -> anyhow::Result<()> {
    let connection = broker.connect(client_name).await?;
    let topology = Topology::new(broker);
    let channel = connection.create_channel().await.context("opening a channel")?;
    topology.declare(&channel).await?;
    let publisher =
        Publisher::open(&connection, topology, Duration::from_secs(broker.publish_timeout_secs)).await?;
    let result = publish_with(&publisher, messages).await;
    let _ = connection.close(200, "bye".into()).await;
    result
}

/// Publishes with confirms through an open publisher, [`PUBLISH_CONCURRENCY`] at once.
pub async fn publish_with(publisher: &Publisher, messages: Vec<(Outgoing, String)>) -> anyhow::Result<()> {
    futures_util::stream::iter(messages)
        .map(|(message, label)| {
            let publisher = publisher.clone();
            async move { publisher.publish(&message).await.with_context(|| format!("submitting {label}")) }
        })
        .buffer_unordered(PUBLISH_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(url: &str) -> SubmittedUrl {
        SubmittedUrl { origin: "stdin line 3".into(), url: url.into() }
    }

    #[test]
    fn urls_are_canonicalised_and_the_original_kept() {
        let urls = validate(
            &[input("https://Example.com:443/a?utm_source=x&b=2&a=1#top"), input("http://example.com/b")],
            &CanonicalSettings::default(),
        )
        .unwrap();
        let canonical: Vec<&str> = urls.iter().map(|c| c.url.as_str()).collect();
        assert_eq!(canonical, ["https://example.com/a?a=1&b=2", "http://example.com/b"]);
        assert_eq!(urls[0].original, "https://Example.com:443/a?utm_source=x&b=2&a=1#top");
        let jobs = jobs(urls, JobOptions { refresh: true, ..JobOptions::default() });
        assert_eq!(
            jobs[0].submitted_url.as_deref(),
            Some("https://Example.com:443/a?utm_source=x&b=2&a=1#top")
        );
        assert_eq!(jobs[1].submitted_url, None, "the canonical URL is the one submitted");
        assert!(jobs.iter().all(|j| j.refresh) && jobs[0].job_id != jobs[1].job_id);
    }

    #[test]
    fn a_bad_url_is_refused_naming_its_line() {
        let errors =
            validate(&[input("ftp://example.com/x"), input("not a url")], &CanonicalSettings::default())
                .unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0], "stdin line 3: `ftp://example.com/x` is not an http or https URL");
        assert!(errors[1].starts_with("stdin line 3: `not a url` is not a valid URL"), "{}", errors[1]);
    }
}
