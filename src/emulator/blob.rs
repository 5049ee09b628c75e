//! Fetching a driver archive from a blob container named by a SAS URI, over the Azure Blob
//! REST API (List Blobs, Get Blob). Works against Azurite and real accounts. Messages never
//! carry the SAS query: it is a secret.

use super::drivers::{Failure, hresult, pick_single_zip};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use md5::{Digest, Md5};

/// A SAS URI split into the container URL, an optional blob name and the SAS query.
#[derive(Debug, PartialEq)]
pub struct SasTarget {
    pub container_url: url::Url,
    pub blob: Option<String>,
    pub sas: String,
}

/// Splits a container or blob SAS URI. Path-style URLs (an IP or `localhost` host, as
/// Azurite serves) carry the account as the first path segment.
pub fn parse_sas(uri: &str) -> Result<SasTarget, Failure> {
    let invalid = || {
        Failure::input(
            "driverShare.sasUri is not a valid blob container SAS URI.".into(),
            "Use a URI like https://ACCOUNT.blob.core.windows.net/CONTAINER?sv=…&sig=… with read and list permissions.",
            hresult::INVALID_ARG,
        )
    };
    let url = url::Url::parse(uri).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid());
    }
    let sas = url.query().unwrap_or("").to_string();
    if !sas.contains("sig=") {
        return Err(Failure::input(
            "driverShare.sasUri carries no SAS signature (sig=).".into(),
            "Generate a SAS for the container with read and list permissions and pass the whole URI.",
            hresult::INVALID_ARG,
        ));
    }
    let host = url.host_str().unwrap_or("");
    let path_style = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok();
    let segs: Vec<String> = url
        .path_segments()
        .map(|s| s.map(percent_decode).collect())
        .unwrap_or_default();
    let skip = if path_style { 1 } else { 0 };
    let container_len = skip + 1;
    if segs.len() < container_len || segs[container_len - 1].is_empty() {
        return Err(invalid());
    }
    let mut container_url = url.clone();
    container_url.set_query(None);
    container_url.set_fragment(None);
    {
        let mut p = container_url.path_segments_mut().map_err(|_| invalid())?;
        p.clear();
        for s in &segs[..container_len] {
            p.push(s);
        }
    }
    let blob = (segs.len() > container_len && segs[container_len..].iter().any(|s| !s.is_empty()))
        .then(|| segs[container_len..].join("/"));
    Ok(SasTarget {
        container_url,
        blob,
        sas,
    })
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

fn shown(t: &SasTarget) -> String {
    match &t.blob {
        Some(b) => format!("{}/{b}", t.container_url),
        None => t.container_url.to_string(),
    }
}

/// Downloads the single `.zip` of the container (or the named blob).
pub async fn fetch_zip(http: &reqwest::Client, uri: &str) -> Result<(String, Vec<u8>), Failure> {
    let target = parse_sas(uri)?;
    let blob = match &target.blob {
        Some(b) => b.clone(),
        None => {
            let names = list_zips(http, &target).await?;
            pick_single_zip(&shown(&target), names)?
        }
    };
    let mut url = target.container_url.clone();
    if let Ok(mut p) = url.path_segments_mut() {
        for seg in blob.split('/') {
            p.push(seg);
        }
    }
    url.set_query(Some(&target.sas));
    let resp = http
        .get(url)
        .send()
        .await
        .map_err(|e| unreachable(&target, &e))?;
    let status = resp.status();
    let md5_header = resp
        .headers()
        .get("content-md5")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if !status.is_success() {
        let body = resp.text().await.unwrap_or_default();
        return Err(storage_error(&target, status.as_u16(), &body));
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| unreachable(&target, &e))?
        .to_vec();
    if let Some(want) = md5_header
        && B64.encode(Md5::digest(&bytes)) != want
    {
        return Err(Failure::failed(
            format!("The blob '{blob}' was damaged in transfer (Content-MD5 mismatch)."),
            "Retry the upload; if it persists, upload the archive to the container again.",
            hresult::INVALID_DATA,
        ));
    }
    let name = blob.rsplit('/').next().unwrap_or(&blob).to_string();
    Ok((name, bytes))
}

async fn list_zips(http: &reqwest::Client, target: &SasTarget) -> Result<Vec<String>, Failure> {
    let mut names = Vec::new();
    let mut marker = String::new();
    for _ in 0..100 {
        let mut url = target.container_url.clone();
        let mut q = format!("restype=container&comp=list&{}", target.sas);
        if !marker.is_empty() {
            q.push_str("&marker=");
            q.push_str(
                &url::form_urlencoded::byte_serialize(marker.as_bytes()).collect::<String>(),
            );
        }
        url.set_query(Some(&q));
        let resp = http
            .get(url)
            .send()
            .await
            .map_err(|e| unreachable(target, &e))?;
        let status = resp.status().as_u16();
        let body = resp.text().await.map_err(|e| unreachable(target, &e))?;
        if !(200..300).contains(&status) {
            return Err(storage_error(target, status, &body));
        }
        names.extend(
            xml_values(&body, "Name")
                .into_iter()
                .filter(|n| n.to_ascii_lowercase().ends_with(".zip")),
        );
        marker = xml_values(&body, "NextMarker")
            .into_iter()
            .next()
            .unwrap_or_default();
        if marker.is_empty() {
            break;
        }
    }
    names.sort();
    Ok(names)
}

/// The text of every `<tag>…</tag>` element, entities decoded.
pub fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(
            after[..end]
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&"),
        );
        rest = &after[end + close.len()..];
    }
    out
}

fn unreachable(t: &SasTarget, e: &reqwest::Error) -> Failure {
    let why = if e.is_timeout() {
        "the request timed out"
    } else if e.is_connect() {
        "the connection was refused or the host is unknown"
    } else {
        "the transfer was interrupted"
    };
    Failure::failed(
        format!(
            "The storage container {} could not be reached: {why}.",
            t.container_url
        ),
        "Check the storage account name and that the Data Migration Service can reach it (firewall, private endpoint).",
        hresult::BAD_NETPATH,
    )
}

fn storage_error(t: &SasTarget, status: u16, body: &str) -> Failure {
    let code = xml_values(body, "Code")
        .into_iter()
        .next()
        .unwrap_or_default();
    let detail = xml_values(body, "AuthenticationErrorDetail")
        .into_iter()
        .next()
        .unwrap_or_default();
    let c = t.container_url.to_string();
    let expired = detail.to_ascii_lowercase().contains("expir") || sas_expired(&t.sas);
    match (status, code.as_str()) {
        (403, _) if expired => Failure::failed(
            format!("The SAS token for {c} has expired."),
            "Generate a new SAS URI with a later expiry (se=) and run the upload again.",
            hresult::ACCESS_DENIED,
        ),
        (403, "AuthorizationPermissionMismatch") | (403, "AuthorizationResourceTypeMismatch") => {
            Failure::failed(
                format!(
                    "The SAS token for {c} does not grant the permissions the upload needs ({code})."
                ),
                "Generate a SAS with read (r) and list (l) permissions on the container.",
                hresult::ACCESS_DENIED,
            )
        }
        (403, _) => Failure::failed(
            format!(
                "Access to {c} was denied ({}).",
                if code.is_empty() { "403" } else { &code }
            ),
            "Check that the SAS URI is complete and signed for this container.",
            hresult::ACCESS_DENIED,
        ),
        (404, "ContainerNotFound") => Failure::failed(
            format!("The storage container {c} does not exist."),
            "Check the container name in driverShare.sasUri.",
            hresult::FILE_NOT_FOUND,
        ),
        (404, _) => Failure::failed(
            format!("The driver archive was not found in {c}."),
            "Check the container and blob names in driverShare.sasUri.",
            hresult::FILE_NOT_FOUND,
        ),
        _ => Failure::failed(
            format!("The storage service answered {status} {code} for {c}."),
            "Retry the upload; check the storage account's health.",
            hresult::EXCEPTION,
        ),
    }
}

/// Whether the SAS's signed expiry (`se=`) has passed; storage emulators do not always say.
fn sas_expired(sas: &str) -> bool {
    use time::format_description::well_known::Rfc3339;
    let Some(se) = url::form_urlencoded::parse(sas.as_bytes())
        .find(|(k, _)| k == "se")
        .map(|(_, v)| v.into_owned())
    else {
        return false;
    };
    let full = if se.len() == 10 {
        format!("{se}T00:00:00Z")
    } else {
        se
    };
    time::OffsetDateTime::parse(&full, &Rfc3339).is_ok_and(|t| t < time::OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_path_style_and_host_style() {
        let t = parse_sas("http://127.0.0.1:10000/devstoreaccount1/drivers?sv=1&sig=abc").unwrap();
        assert_eq!(
            t.container_url.as_str(),
            "http://127.0.0.1:10000/devstoreaccount1/drivers"
        );
        assert_eq!(t.blob, None);
        assert_eq!(t.sas, "sv=1&sig=abc");
        let t = parse_sas("https://acct.blob.core.windows.net/c/dir/x%20y.zip?sig=1").unwrap();
        assert_eq!(
            t.container_url.as_str(),
            "https://acct.blob.core.windows.net/c"
        );
        assert_eq!(t.blob.as_deref(), Some("dir/x y.zip"));
        assert!(parse_sas("https://acct.blob.core.windows.net/c").is_err());
        assert!(parse_sas("ftp://x/c?sig=1").is_err());
        assert!(parse_sas("https://acct.blob.core.windows.net/?sig=1").is_err());
    }

    #[test]
    fn reads_xml_values() {
        let x = "<Blobs><Blob><Name>a&amp;b.zip</Name></Blob><Blob><Name>c.txt</Name></Blob></Blobs><NextMarker/>";
        assert_eq!(xml_values(x, "Name"), ["a&b.zip", "c.txt"]);
        assert!(xml_values(x, "NextMarker").is_empty());
    }

    #[test]
    fn reads_sas_expiry() {
        assert!(sas_expired("sv=1&se=2001-01-01T00%3A00%3A00Z&sig=x"));
        assert!(sas_expired("se=2001-01-01&sig=x"));
        assert!(!sas_expired("se=2099-01-01T00:00:00Z&sig=x"));
        assert!(!sas_expired("sig=x"));
    }
}
