//! Message bodies compressed on the wire (AMQP `content-encoding`). Pages are large and compress several times
//! over; the broker stores and copies fewer bytes. The consume loop decodes before the handler sees a message,
//! so handlers only ever see plain bytes.
//!
//! Workers send zstd at level 1: on the corpus's 188 KB pages it gives 36 KB where gzip's fastest level gives
//! 49 KB, in half gzip's compression time and a third of its decompression time (the README's Performance
//! section has the figures). Gzip is still decoded, for producers outside newspipe.

use std::cell::RefCell;
use std::io::Read;

/// The largest body a compressed message may decode to: above every page limit, below anything that could
/// exhaust a worker's memory (a compression bomb in a message stops here).
pub const MAX_DECODED_BYTES: u64 = 64 * 1024 * 1024;

/// The content encoding workers publish with.
pub const CONTENT_ENCODING: &str = "zstd";

/// zstd's level 1: most of the size gain for the least CPU, on both ends.
const ZSTD_LEVEL: i32 = 1;

/// Compresses a body as [`CONTENT_ENCODING`].
pub fn compress(bytes: &[u8]) -> Vec<u8> {
    // The one-shot API records the decoded size in the frame header, so the consumer allocates once.
    zstd::bulk::compress(bytes, ZSTD_LEVEL).expect("compressing to memory cannot fail")
}

/// Decodes a body by its content encoding; the error says why it cannot be.
pub fn decode(bytes: &[u8], content_encoding: Option<&str>) -> Result<Vec<u8>, String> {
    let encoding = match content_encoding {
        None | Some("") | Some("identity") => return Ok(bytes.to_vec()),
        Some("zstd") => match decode_zstd_in_one_call(bytes)? {
            Some(decoded) => return Ok(decoded),
            None => "zstd",
        },
        Some(other) => other,
    };
    let decoded = read_decoded(bytes, Some(encoding), MAX_DECODED_BYTES + 1)?;
    if decoded.len() as u64 > MAX_DECODED_BYTES {
        return Err(format!("{encoding} body decodes to more than {MAX_DECODED_BYTES} bytes"));
    }
    Ok(decoded)
}

/// The first `max` bytes the body decodes to, decoding no further (a preview of a page need not inflate it).
pub fn decode_prefix(bytes: &[u8], content_encoding: Option<&str>, max: usize) -> Result<Vec<u8>, String> {
    read_decoded(bytes, content_encoding, max as u64)
}

/// Reads up to `limit` decoded bytes through the encoding's streaming decoder.
fn read_decoded(bytes: &[u8], content_encoding: Option<&str>, limit: u64) -> Result<Vec<u8>, String> {
    let (decoder, name): (Box<dyn Read + '_>, &str) = match content_encoding {
        None | Some("") | Some("identity") => (Box::new(bytes), "identity"),
        Some("zstd") => (
            Box::new(
                zstd::stream::read::Decoder::with_buffer(bytes)
                    .map_err(|e| format!("undecodable zstd body: {e}"))?,
            ),
            "zstd",
        ),
        Some("gzip") => (Box::new(flate2::read::GzDecoder::new(bytes)), "gzip"),
        Some(other) => return Err(format!("unknown content-encoding {other:?}")),
    };
    let mut decoded = Vec::new();
    decoder.take(limit).read_to_end(&mut decoded).map_err(|e| format!("undecodable {name} body: {e}"))?;
    Ok(decoded)
}

thread_local! {
    /// One decompression context per thread, reused: making one per message (some 100 KB, zeroed) was a
    /// twentieth of the store's CPU.
    static ZSTD_CONTEXT: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// What workers send declares its size in the frame header: decoded in one call, into one allocation.
/// `None` when the frame does not say (or says wrong, or several frames follow): the streaming decoder then
/// decodes it, or tells why it cannot.
fn decode_zstd_in_one_call(bytes: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let Ok(Some(declared)) = zstd::zstd_safe::get_frame_content_size(bytes) else { return Ok(None) };
    if declared > MAX_DECODED_BYTES {
        return Err(format!("zstd body decodes to more than {MAX_DECODED_BYTES} bytes"));
    }
    Ok(ZSTD_CONTEXT.with(|context| {
        let mut context = context.borrow_mut();
        let context = match context.as_mut() {
            Some(context) => context,
            None => context.insert(zstd::bulk::Decompressor::new().ok()?),
        };
        context.decompress(bytes, declared as usize).ok()
    }))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// Gzip, as a producer outside newspipe may send.
    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn a_compressed_body_decodes_to_the_original_bytes() {
        let page = b"<html>\n\x00\xff".repeat(1000);
        let encoded = compress(&page);
        assert!(encoded.len() < page.len() / 10, "{} bytes", encoded.len());
        assert_eq!(decode(&encoded, Some(CONTENT_ENCODING)).unwrap(), page);
        assert_eq!(decode(&gzip(&page), Some("gzip")).unwrap(), page);
        assert_eq!(decode(&page, None).unwrap(), page);
        assert_eq!(decode(&compress(b""), Some("zstd")).unwrap(), b"");
    }

    #[test]
    fn zstd_from_other_producers_decodes_too_streamed_or_in_several_frames() {
        let page = b"<p>streamed</p>".repeat(5000);
        // A streaming encoder does not declare the size.
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        encoder.write_all(&page).unwrap();
        let streamed = encoder.finish().unwrap();
        assert_eq!(zstd::zstd_safe::get_frame_content_size(&streamed).unwrap(), None);
        assert_eq!(decode(&streamed, Some("zstd")).unwrap(), page);
        // Two frames back to back decode to both halves, though the first header declares only its own.
        let mut two = compress(&page[..100]);
        two.extend(compress(&page[100..]));
        assert_eq!(decode(&two, Some("zstd")).unwrap(), page);
    }

    #[test]
    fn bad_bodies_bombs_and_unknown_encodings_are_refused_with_a_reason() {
        assert!(decode(b"\x1f\x8b not gzip", Some("gzip")).unwrap_err().starts_with("undecodable gzip body"));
        assert!(decode(b"not zstd at all", Some("zstd")).unwrap_err().starts_with("undecodable zstd body"));
        let truncated = &compress(&b"abc".repeat(10_000))[..20];
        assert!(decode(truncated, Some("zstd")).unwrap_err().starts_with("undecodable zstd body"));
        let bomb = vec![0u8; (MAX_DECODED_BYTES + 1) as usize];
        assert!(decode(&gzip(&bomb), Some("gzip")).unwrap_err().contains("more than"));
        assert!(decode(&compress(&bomb), Some("zstd")).unwrap_err().contains("more than"));
        assert_eq!(decode(b"x", Some("br")).unwrap_err(), "unknown content-encoding \"br\"");
    }
}
