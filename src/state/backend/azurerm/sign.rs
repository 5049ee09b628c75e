//! Request signing for the Blob service: the SharedKey scheme (an HMAC-SHA256 of a
//! canonical string built from the request) and the RFC 1123 `x-ms-date`. Pure functions,
//! so the canonical string is unit-tested without a server.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use url::Url;

/// The SharedKey string-to-sign of a Blob service request (versions 2015-02-21 and later).
///
/// `headers` are the request's headers (any case); `content_length` the body length.
pub fn string_to_sign(
    method: &str,
    headers: &[(String, String)],
    content_length: u64,
    account: &str,
    url: &Url,
) -> String {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let length = if content_length == 0 {
        String::new()
    } else {
        content_length.to_string()
    };
    let mut out = [
        method,
        get("content-encoding"),
        get("content-language"),
        &length,
        get("content-md5"),
        get("content-type"),
        "", // Date: x-ms-date is used instead
        get("if-modified-since"),
        get("if-match"),
        get("if-none-match"),
        get("if-unmodified-since"),
        get("range"),
    ]
    .join("\n");
    out.push('\n');
    let mut ms: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .filter(|(k, _)| k.starts_with("x-ms-"))
        .collect();
    ms.sort();
    for (k, v) in ms {
        out.push_str(&k);
        out.push(':');
        out.push_str(&v);
        out.push('\n');
    }
    out.push('/');
    out.push_str(account);
    out.push_str(url.path());
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
        .collect();
    params.sort();
    let mut i = 0;
    while i < params.len() {
        let name = params[i].0.clone();
        let mut values = Vec::new();
        while i < params.len() && params[i].0 == name {
            values.push(params[i].1.clone());
            i += 1;
        }
        out.push('\n');
        out.push_str(&name);
        out.push(':');
        out.push_str(&values.join(","));
    }
    out
}

/// Base64 of HMAC-SHA256(`key`, `text`).
pub fn hmac_b64(key: &[u8], text: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("invariant: HMAC takes any key");
    mac.update(text.as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

/// Decodes an account key; the message never quotes the key.
pub fn decode_key(key: &str) -> Result<Vec<u8>, String> {
    B64.decode(key.trim())
        .map_err(|_| {
            "the access key is not valid base64 (check ARM_ACCESS_KEY or access_key)".into()
        })
        .and_then(|k| {
            if k.is_empty() {
                Err("the access key is empty".into())
            } else {
                Ok(k)
            }
        })
}

/// `now` as an HTTP date (RFC 1123, GMT), as `x-ms-date` wants it.
pub fn http_date(now: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    now.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_string_orders_headers_and_query() {
        let url = Url::parse(
            "http://127.0.0.1:10000/devstoreaccount1/tfstate/env/prod.json?comp=lease&timeout=30",
        )
        .unwrap();
        let headers = vec![
            ("X-MS-Version".to_string(), "2021-08-06".to_string()),
            (
                "x-ms-date".to_string(),
                "Thu, 03 Dec 2026 18:00:00 GMT".to_string(),
            ),
            ("x-ms-lease-action".to_string(), "acquire".to_string()),
            ("If-Match".to_string(), "\"0x1\"".to_string()),
            ("content-type".to_string(), "application/json".to_string()),
        ];
        let s = string_to_sign("PUT", &headers, 0, "devstoreaccount1", &url);
        assert_eq!(
            s,
            "PUT\n\n\n\n\napplication/json\n\n\n\"0x1\"\n\n\n\n\
             x-ms-date:Thu, 03 Dec 2026 18:00:00 GMT\nx-ms-lease-action:acquire\nx-ms-version:2021-08-06\n\
             /devstoreaccount1/devstoreaccount1/tfstate/env/prod.json\ncomp:lease\ntimeout:30"
        );
        let with_body = string_to_sign(
            "PUT",
            &[],
            12,
            "a",
            &Url::parse("https://a.blob.core.windows.net/c/k").unwrap(),
        );
        assert_eq!(with_body, "PUT\n\n\n12\n\n\n\n\n\n\n\n\n/a/c/k");
    }

    #[test]
    fn dates_and_keys() {
        let t = time::macros::datetime!(2026-12-03 18:00:05 UTC);
        assert_eq!(http_date(t), "Thu, 03 Dec 2026 18:00:05 GMT");
        assert!(decode_key("not base64!").unwrap_err().contains("base64"));
        assert!(
            !decode_key("not base64!")
                .unwrap_err()
                .contains("not base64!")
        );
        assert_eq!(hmac_b64(b"k", "x").len(), 44);
    }
}
