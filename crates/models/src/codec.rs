//! Wire encoding of the messages.
//!
//! Jobs and store requests are plain JSON. A raw page is its metadata as one line of compact JSON, a `\n`,
//! then the body bytes untouched: no base64 inflation, no copy through a JSON string, and compact JSON never
//! contains a raw newline, so the first `\n` always ends the metadata.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{RawPage, SCHEMA_VERSION};

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("message is not valid JSON for {what}: {source}")]
    Json {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("message has schema {found}, this worker understands schema {SCHEMA_VERSION}")]
    UnknownSchema { found: u64 },
    #[error("message has no `schema` field")]
    MissingSchema,
    #[error("page message has no metadata line (no newline found in {len} bytes)")]
    NoPageHeader { len: usize },
}

/// A message that carries its schema version.
pub trait Versioned {
    fn schema(&self) -> u32;
}

/// Why a message did not decode, told by its `schema` field first: an unknown or missing schema is
/// reported as such rather than as whatever field happens to mismatch first. Only run on failure, so a
/// good message is read once.
fn check_schema(bytes: &[u8], what: &'static str) -> Result<(), DecodeError> {
    #[derive(serde::Deserialize)]
    struct Probe {
        schema: Option<serde_json::Value>,
    }
    let probe: Probe = serde_json::from_slice(bytes).map_err(|source| DecodeError::Json { what, source })?;
    match probe.schema {
        None => Err(DecodeError::MissingSchema),
        Some(v) if v.as_u64() == Some(u64::from(SCHEMA_VERSION)) => Ok(()),
        Some(v) => Err(DecodeError::UnknownSchema { found: v.as_u64().unwrap_or(u64::MAX) }),
    }
}

pub fn encode_json<T: Serialize>(message: &T) -> Vec<u8> {
    serde_json::to_vec(message).expect("messages serialise: they hold no maps with non-string keys")
}

pub fn decode_json<T: DeserializeOwned + Versioned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let what = std::any::type_name::<T>().rsplit("::").next().unwrap_or("message");
    match serde_json::from_slice::<T>(bytes) {
        Ok(message) if message.schema() == SCHEMA_VERSION => Ok(message),
        Ok(message) => Err(DecodeError::UnknownSchema { found: u64::from(message.schema()) }),
        Err(source) => {
            check_schema(bytes, what)?;
            Err(DecodeError::Json { what, source })
        }
    }
}

/// A message to the store: one request (a JSON object), or several in one message (a JSON array of them,
/// as the WARC reader sends a file's outcomes: one message per batch costs the broker and the store one
/// delivery instead of one per record). Each request is checked for its schema as a single one is.
pub fn decode_store_requests(bytes: &[u8]) -> Result<Vec<crate::StoreRequest>, DecodeError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'[') {
        return decode_json(bytes).map(|request| vec![request]);
    }
    match serde_json::from_slice::<Vec<crate::StoreRequest>>(bytes) {
        Ok(requests) => match requests.iter().find(|r| r.schema != SCHEMA_VERSION) {
            Some(r) => Err(DecodeError::UnknownSchema { found: u64::from(r.schema) }),
            None => Ok(requests),
        },
        Err(source) => {
            // Say which element is wrong the way a single request would.
            let elements: Vec<serde_json::Value> = serde_json::from_slice(bytes)
                .map_err(|source| DecodeError::Json { what: "StoreRequest batch", source })?;
            for element in elements {
                check_schema(&encode_json(&element), "StoreRequest")?;
            }
            Err(DecodeError::Json { what: "StoreRequest batch", source })
        }
    }
}

pub fn encode_page(page: &RawPage) -> Vec<u8> {
    let meta = encode_json(page);
    let mut out = Vec::with_capacity(meta.len() + 1 + page.body.len());
    out.extend_from_slice(&meta);
    out.push(b'\n');
    out.extend_from_slice(&page.body);
    out
}

pub fn decode_page(bytes: &[u8]) -> Result<RawPage, DecodeError> {
    let split = memchr_newline(bytes).ok_or(DecodeError::NoPageHeader { len: bytes.len() })?;
    let mut page: RawPage = decode_json(&bytes[..split])?;
    page.body = bytes[split + 1..].to_vec();
    Ok(page)
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FailureReason, FetchJob, SkipReason, new_job_id};

    fn page(body: &[u8]) -> RawPage {
        RawPage {
            schema: SCHEMA_VERSION,
            job_id: new_job_id(),
            url: "https://example.com/a\nb".into(),
            final_url: "https://example.com/a".into(),
            status: 200,
            headers: [("content-type".to_string(), "text/html; charset=koi8-r".to_string())].into(),
            fetched_at: chrono::Utc::now(),
            hints: None,
            parent_job_id: None,
            revisit: None,
            rendering: None,
            warc: None,
            body: body.to_vec(),
        }
    }

    #[test]
    fn the_store_reads_one_request_or_a_batch_and_refuses_a_batch_holding_an_unknown_schema() {
        use crate::{Outcome, StoreRequest};
        let one = StoreRequest::new(
            new_job_id(),
            "https://a.example/1",
            Outcome::Skipped { reason: SkipReason::Empty },
        );
        let two = StoreRequest::new(new_job_id(), "https://a.example/2", Outcome::Unchanged);
        assert_eq!(decode_store_requests(&encode_json(&one)).unwrap(), vec![one.clone()]);
        let batch = encode_json(&vec![one.clone(), two.clone()]);
        assert_eq!(decode_store_requests(&batch).unwrap(), vec![one.clone(), two]);
        let mut newer = serde_json::to_value(vec![one]).unwrap();
        newer[0]["schema"] = 2.into();
        let err = decode_store_requests(&encode_json(&newer)).unwrap_err();
        assert!(matches!(err, DecodeError::UnknownSchema { found: 2 }), "{err}");
        assert!(decode_store_requests(b"[{\"schema\": 1}]").is_err());
    }

    #[test]
    fn a_page_round_trips_with_its_body_byte_for_byte() {
        let original = page(b"\n\x00\xff<html>\n\n</html>");
        let decoded = decode_page(&encode_page(&original)).unwrap();
        assert_eq!(decoded, original);
    }

    #[test]
    fn a_page_without_a_metadata_line_is_refused_with_its_length() {
        let err = decode_page(b"garbage").unwrap_err();
        assert_eq!(err.to_string(), "page message has no metadata line (no newline found in 7 bytes)");
    }

    #[test]
    fn an_unknown_schema_is_named_in_the_error() {
        let mut job = serde_json::to_value(FetchJob::new(new_job_id(), "https://example.com/")).unwrap();
        job["schema"] = 99.into();
        let err = decode_json::<FetchJob>(&serde_json::to_vec(&job).unwrap()).unwrap_err();
        assert!(matches!(err, DecodeError::UnknownSchema { found: 99 }), "{err}");
    }

    #[test]
    fn a_job_without_schema_is_refused() {
        let err = decode_json::<FetchJob>(br#"{"job_id":"x","url":"https://a/"}"#).unwrap_err();
        assert!(matches!(err, DecodeError::MissingSchema), "{err}");
    }

    #[test]
    fn garbage_is_reported_as_invalid_json_for_the_expected_message() {
        let err = decode_json::<FetchJob>(b"\xff\xfe not json").unwrap_err();
        assert!(err.to_string().starts_with("message is not valid JSON for FetchJob"), "{err}");
    }

    #[test]
    fn every_outcome_round_trips_in_the_same_tagged_form_whatever_the_field_order() {
        use crate::{Article, Outcome, StoreRequest};
        let article =
            Article { title: Some("T".into()), text: "body \"quoted\"\n".into(), ..Default::default() };
        for outcome in [
            Outcome::Stored { article: Box::new(article) },
            Outcome::Skipped { reason: SkipReason::Duplicate },
            Outcome::Failed { reason: FailureReason::Http { status: 404 } },
            Outcome::Unchanged,
        ] {
            let request = StoreRequest::new(new_job_id(), "https://example.com/a", outcome);
            let json = encode_json(&request);
            let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
            assert_eq!(value["outcome"]["kind"], request.outcome.kind().as_str(), "tagged by kind: {value}");
            assert_eq!(decode_json::<StoreRequest>(&json).unwrap(), request);
        }
        // The tag after the fields, as another producer may write it.
        let late_tag = format!(
            r#"{{"schema":1,"job_id":"{}","url":"https://a/","outcome":{{"reason":"robots","kind":"skipped"}}}}"#,
            new_job_id()
        );
        let request = decode_json::<StoreRequest>(late_tag.as_bytes()).unwrap();
        assert_eq!(request.outcome, Outcome::Skipped { reason: SkipReason::Robots });
    }

    #[test]
    fn an_outcome_without_the_field_its_kind_needs_is_refused_saying_which() {
        let job_id = new_job_id();
        let stored =
            format!(r#"{{"schema":1,"job_id":"{job_id}","url":"https://a/","outcome":{{"kind":"stored"}}}}"#);
        let err = decode_json::<crate::StoreRequest>(stored.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("outcome `stored` without its `article`"), "{err}");
        let failed =
            format!(r#"{{"schema":1,"job_id":"{job_id}","url":"https://a/","outcome":{{"kind":"failed"}}}}"#);
        let err = decode_json::<crate::StoreRequest>(failed.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("outcome `failed` without its `reason`"), "{err}");
        let unknown =
            format!(r#"{{"schema":1,"job_id":"{job_id}","url":"https://a/","outcome":{{"kind":"lost"}}}}"#);
        let err = decode_json::<crate::StoreRequest>(unknown.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("unknown variant `lost`"), "{err}");
    }

    #[test]
    fn a_message_of_another_schema_is_refused_even_when_its_fields_fit() {
        let mut request = crate::StoreRequest::new(new_job_id(), "https://a/", crate::Outcome::Unchanged);
        request.schema = 2;
        let err = decode_json::<crate::StoreRequest>(&encode_json(&request)).unwrap_err();
        assert!(matches!(err, DecodeError::UnknownSchema { found: 2 }), "{err}");
    }
}
