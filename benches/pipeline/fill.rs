//! The queues filled before the workers start, for the modes that time one stage alone: the store queue
//! with the store requests the extractor would send (`--store-only`), the extract queue with the pages as
//! the fetcher sends them (`--extract-only`).

use std::time::Instant;

use chrono::Utc;
use futures_util::StreamExt;
use newspipe_broker::{Outgoing, Publisher, Queue};
use newspipe_models::{JobId, Outcome, StoreRequest, encode_json, encode_page};

use crate::corpus::{Corpus, SERVED_TYPE, raw_page};

/// Publishes every message, `concurrency` at a time, each with its confirm.
pub async fn publish_all(
    publisher: &Publisher,
    messages: &[Outgoing],
    concurrency: usize,
) -> anyhow::Result<()> {
    futures_util::stream::iter(messages)
        .map(|m| publisher.publish(m))
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    Ok(())
}

/// The store request for URL `i`: the outcome of its page, with this URL and a fetch time of now.
pub fn store_request(i: usize, urls: &[String], job_ids: &[JobId], outcomes_of_pages: &[Outcome]) -> Vec<u8> {
    let mut outcome = outcomes_of_pages[i % outcomes_of_pages.len()].clone();
    if let Outcome::Stored { article } = &mut outcome {
        article.url = urls[i].clone();
        article.fetched_at = Some(Utc::now());
    }
    encode_json(&StoreRequest::new(job_ids[i], &urls[i], outcome))
}

/// Fills the store queue with one store request per URL.
pub async fn store_queue(
    publisher: &Publisher,
    concurrency: usize,
    urls: &[String],
    job_ids: &[JobId],
    outcomes_of_pages: &[Outcome],
) -> anyhow::Result<()> {
    let n = urls.len();
    let messages: Vec<Outgoing> = (0..n)
        .map(|i| {
            let body = store_request(i, urls, job_ids, outcomes_of_pages);
            Outgoing::json(Queue::Store, body).compressed().for_job(job_ids[i])
        })
        .collect();
    let published = Instant::now();
    publish_all(publisher, &messages, concurrency).await?;
    println!(
        "store queue filled with {n} requests ({:.0} bytes each, compressed) in {:.1} s",
        messages.iter().map(|m| m.body().len()).sum::<usize>() as f64 / n as f64,
        published.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Fills the extract queue with one page per URL, as the fetcher would send it.
pub async fn extract_queue(
    publisher: &Publisher,
    concurrency: usize,
    urls: &[String],
    job_ids: &[JobId],
    corpus: &Corpus,
) -> anyhow::Result<()> {
    let n = urls.len();
    let messages: Vec<Outgoing> = (0..n)
        .map(|i| {
            let page = raw_page(job_ids[i], &urls[i], &corpus.pages[i % corpus.pages.len()], SERVED_TYPE);
            Outgoing::bytes(Queue::Extract, encode_page(&page), newspipe_fetcher::worker::PAGE_CONTENT_TYPE)
                .compressed()
                .for_job(job_ids[i])
        })
        .collect();
    let published = Instant::now();
    publish_all(publisher, &messages, concurrency).await?;
    println!("extract queue filled with {n} pages in {:.1} s", published.elapsed().as_secs_f64());
    Ok(())
}
