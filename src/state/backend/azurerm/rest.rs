//! A small client for the Azure Blob REST operations the backend needs (get, properties,
//! put, metadata, lease), with the three ways to authenticate: SharedKey signing with an
//! account key, an account or container SAS, or an Entra ID bearer token (https only).
//!
//! Errors never carry a URL, key, SAS or token: transport errors are stripped of their
//! URL and every message passes through [`Blobs::redact`].

use super::sign;
use azure_core::credentials::TokenCredential;
use reqwest::header::HeaderMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// The Blob service version sent with every request: old enough for every service and
/// emulator in use (Azurite included), new enough for everything used here.
pub const API_VERSION: &str = "2021-08-06";

/// OAuth scope of Azure Storage.
pub const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

/// How requests are authorised.
#[derive(Clone)]
pub enum Auth {
    /// Account key (decoded): requests are signed with SharedKey.
    SharedKey(Vec<u8>),
    /// A SAS token (the query string, without `?`).
    Sas(String),
    /// Entra ID tokens for Azure Storage.
    Entra(Arc<EntraTokens>),
}

/// Entra ID tokens for Azure Storage, cached until five minutes before they expire (some
/// credentials, like the Azure CLI's, do not cache on their own).
pub struct EntraTokens {
    credential: Arc<dyn TokenCredential>,
    cached: tokio::sync::Mutex<Option<(String, time::OffsetDateTime)>>,
}

impl EntraTokens {
    pub fn new(credential: Arc<dyn TokenCredential>) -> EntraTokens {
        EntraTokens {
            credential,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    async fn bearer(&self) -> Result<String, String> {
        let mut cached = self.cached.lock().await;
        let now = time::OffsetDateTime::now_utc();
        if let Some((token, expires)) = &*cached
            && *expires - now > time::Duration::minutes(5)
        {
            return Ok(token.clone());
        }
        let t = self
            .credential
            .get_token(&[STORAGE_SCOPE], None)
            .await
            .map_err(|e| format!("cannot get an Entra ID token for Azure Storage: {e}"))?;
        let token = t.token.secret().to_string();
        *cached = Some((token.clone(), t.expires_on));
        Ok(token)
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Auth::SharedKey(_) => "SharedKey(<redacted>)",
            Auth::Sas(_) => "Sas(<redacted>)",
            Auth::Entra(_) => "Entra",
        })
    }
}

impl Auth {
    pub fn name(&self) -> &'static str {
        match self {
            Auth::SharedKey(_) => "access key",
            Auth::Sas(_) => "SAS token",
            Auth::Entra(_) => "Entra ID",
        }
    }
}

/// An answer from the service.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn etag(&self) -> Option<String> {
        self.header("etag").map(str::to_string)
    }
    /// The service's error code (`x-ms-error-code`), e.g. `LeaseAlreadyPresent`.
    pub fn code(&self) -> &str {
        if let Some(c) = self.header("x-ms-error-code") {
            return c;
        }
        let body = std::str::from_utf8(&self.body).unwrap_or("");
        body.split_once("<Code>")
            .and_then(|(_, rest)| rest.split_once("</Code>"))
            .map_or("", |(code, _)| code.trim())
    }
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
    /// `HTTP 412 ConditionNotMet`-style summary for messages.
    pub fn summary(&self) -> String {
        let code = self.code();
        if code.is_empty() {
            format!("HTTP {}", self.status)
        } else {
            format!("HTTP {} {code}", self.status)
        }
    }
}

/// One container of one storage account.
#[derive(Clone)]
pub struct Blobs {
    http: reqwest::Client,
    account: String,
    container_url: Url,
    auth: Auth,
}

impl fmt::Debug for Blobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blobs")
            .field("account", &self.account)
            .field("container_url", &self.container_url.as_str())
            .field("auth", &self.auth)
            .finish()
    }
}

impl Blobs {
    /// `endpoint` is the account's blob endpoint (`https://ACCOUNT.blob.core.windows.net`,
    /// or path style `http://127.0.0.1:10000/ACCOUNT` for Azurite).
    pub fn new(
        endpoint: &Url,
        account: &str,
        container: &str,
        auth: Auth,
    ) -> Result<Blobs, String> {
        let mut container_url = endpoint.clone();
        container_url.set_query(None);
        container_url.set_fragment(None);
        container_url
            .path_segments_mut()
            .map_err(|_| "the endpoint is not a base URL".to_string())?
            .pop_if_empty()
            .push(container);
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {}", e.without_url()))?;
        Ok(Blobs {
            http,
            account: account.to_string(),
            container_url,
            auth,
        })
    }

    /// The URL of a blob (never with credentials).
    pub fn blob_url(&self, name: &str) -> Url {
        let mut u = self.container_url.clone();
        if let Ok(mut segs) = u.path_segments_mut() {
            for part in name.split('/') {
                segs.push(part);
            }
        }
        u
    }

    /// Replaces every secret this client knows in `text`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        if let Auth::Sas(sas) = &self.auth {
            if !sas.is_empty() {
                out = out.replace(sas.as_str(), "<redacted>");
            }
            for (k, v) in url::form_urlencoded::parse(sas.as_bytes()) {
                if k == "sig" && !v.is_empty() {
                    let encoded: String =
                        url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
                    out = out
                        .replace(v.as_ref(), "<redacted>")
                        .replace(&encoded, "<redacted>");
                }
            }
        }
        out
    }

    /// Sends one request to the blob `name` (or the container when `None`) and reads the
    /// whole answer. Transient failures (5xx, 408, 429, transport) are retried briefly.
    pub async fn send(
        &self,
        method: reqwest::Method,
        name: Option<&str>,
        query: &[(&str, &str)],
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Reply, String> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let r = self
                .send_once(method.clone(), name, query, headers, body.clone())
                .await;
            let transient = match &r {
                Ok(reply) => matches!(reply.status, 408 | 429 | 500 | 502 | 503 | 504),
                Err(_) => true,
            };
            if !transient || attempt >= 3 {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
        }
    }

    async fn send_once(
        &self,
        method: reqwest::Method,
        name: Option<&str>,
        query: &[(&str, &str)],
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Reply, String> {
        let mut url = match name {
            Some(n) => self.blob_url(n),
            None => self.container_url.clone(),
        };
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let mut all: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        all.push(("x-ms-version".into(), API_VERSION.into()));
        all.push((
            "x-ms-date".into(),
            sign::http_date(time::OffsetDateTime::now_utc()),
        ));
        let signed_url = url.clone();
        match &self.auth {
            Auth::SharedKey(key) => {
                let sts = sign::string_to_sign(
                    method.as_str(),
                    &all,
                    body.len() as u64,
                    &self.account,
                    &signed_url,
                );
                all.push((
                    "authorization".into(),
                    format!("SharedKey {}:{}", self.account, sign::hmac_b64(key, &sts)),
                ));
            }
            Auth::Sas(sas) => {
                let q = match url.query() {
                    Some(q) => format!("{q}&{sas}"),
                    None => sas.clone(),
                };
                url.set_query(Some(&q));
            }
            Auth::Entra(tokens) => {
                let token = tokens.bearer().await?;
                all.push(("authorization".into(), format!("Bearer {token}")));
            }
        }
        let mut rb = self.http.request(method.clone(), url);
        for (k, v) in &all {
            rb = rb.header(k.as_str(), v.as_str());
        }
        if method == reqwest::Method::PUT || !body.is_empty() {
            // The service wants Content-Length on every PUT, even an empty one.
            rb = rb
                .header("content-length", body.len().to_string())
                .body(body);
        }
        let resp = rb.send().await.map_err(|e| self.transport(e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(|e| self.transport(e))?.to_vec();
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    fn transport(&self, e: reqwest::Error) -> String {
        let e = e.without_url();
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        self.redact(&msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_redaction() {
        let endpoint = Url::parse("http://127.0.0.1:10000/devstoreaccount1").unwrap();
        let b = Blobs::new(
            &endpoint,
            "devstoreaccount1",
            "tfstate",
            Auth::Sas("sv=2021-08-06&sig=abc%2Bdef%3D".into()),
        )
        .unwrap();
        assert_eq!(
            b.blob_url("env/prod state.json").as_str(),
            "http://127.0.0.1:10000/devstoreaccount1/tfstate/env/prod%20state.json"
        );
        assert_eq!(b.redact("x abc+def= y"), "x <redacted> y");
        assert_eq!(b.redact("?sv=2021-08-06&sig=abc%2Bdef%3D"), "?<redacted>");
        assert!(!format!("{b:?}").contains("abc"));
        let root = Url::parse("https://acct.blob.core.windows.net").unwrap();
        let b = Blobs::new(&root, "acct", "c", Auth::SharedKey(vec![1, 2])).unwrap();
        assert_eq!(
            b.blob_url("k").as_str(),
            "https://acct.blob.core.windows.net/c/k"
        );
        assert_eq!(format!("{:?}", b.auth), "SharedKey(<redacted>)");
    }

    #[derive(Debug)]
    struct Counting(std::sync::atomic::AtomicU32, time::Duration);

    #[async_trait::async_trait]
    impl TokenCredential for Counting {
        async fn get_token(
            &self,
            scopes: &[&str],
            _: Option<azure_core::credentials::TokenRequestOptions<'_>>,
        ) -> azure_core::Result<azure_core::credentials::AccessToken> {
            assert_eq!(scopes, [STORAGE_SCOPE]);
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(azure_core::credentials::AccessToken::new(
                format!("tok-{n}"),
                time::OffsetDateTime::now_utc() + self.1,
            ))
        }
    }

    #[tokio::test]
    async fn entra_tokens_are_cached_until_near_expiry() {
        let long = Arc::new(Counting(0.into(), time::Duration::hours(1)));
        let t = EntraTokens::new(long.clone());
        assert_eq!(t.bearer().await.unwrap(), "tok-0");
        assert_eq!(t.bearer().await.unwrap(), "tok-0");
        let short = Arc::new(Counting(0.into(), time::Duration::minutes(2)));
        let t = EntraTokens::new(short);
        assert_eq!(t.bearer().await.unwrap(), "tok-0");
        assert_eq!(t.bearer().await.unwrap(), "tok-1");
        assert_eq!(format!("{:?}", Auth::Entra(Arc::new(t))), "Entra");
    }
}
