//! The HTTP client of the service-task API: the six operations, with retries.
//!
//! Owns URLs, query parameters, accepted status codes, response decoding and the retry
//! loop (the decisions come from the pure [`RetryPolicy`]). It must not decide anything
//! about plans or state, and it never logs bodies or tokens: traces carry the method,
//! URL, status, attempt and `x-ms-request-id` only.

use super::auth::TokenSource;
use super::error::{ApiError, DmsError, describe_transport};
use super::models::{ProjectTask, TaskList, TaskRequest};
use super::retry::{Attempt, Decision, Failure, RetryPolicy};
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use url::Url;

/// Default endpoint of Azure Resource Manager.
pub const DEFAULT_ENDPOINT: &str = "https://management.azure.com";
/// Default api-version (the official SDK's).
pub const DEFAULT_API_VERSION: &str = "2025-06-30";
/// Safety cap on list paging.
const MAX_PAGES: usize = 10_000;

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub endpoint: String,
    pub api_version: String,
    pub retry: RetryPolicy,
    /// Timeout of one HTTP attempt.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            endpoint: DEFAULT_ENDPOINT.into(),
            api_version: DEFAULT_API_VERSION.into(),
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// The DMS service that owns a set of tasks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceRef {
    pub subscription_id: String,
    pub resource_group: String,
    pub service_name: String,
}

impl ServiceRef {
    pub fn new(
        subscription_id: impl Into<String>,
        resource_group: impl Into<String>,
        service_name: impl Into<String>,
    ) -> ServiceRef {
        ServiceRef {
            subscription_id: subscription_id.into(),
            resource_group: resource_group.into(),
            service_name: service_name.into(),
        }
    }

    fn segments(&self) -> [&str; 8] {
        [
            "subscriptions",
            &self.subscription_id,
            "resourceGroups",
            &self.resource_group,
            "providers",
            "Microsoft.DataMigration",
            "services",
            &self.service_name,
        ]
    }

    /// The ARM id of a task of this service.
    pub fn task_id(&self, task: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.DataMigration/services/{}/serviceTasks/{}",
            self.subscription_id, self.resource_group, self.service_name, task
        )
    }
}

/// What GET returns besides the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expand {
    None,
    /// `$expand=output`: include `properties.output`.
    Output,
}

/// Result of PUT.
#[derive(Debug, Clone)]
pub struct PutOutcome {
    pub task: ProjectTask,
    /// 201 (new task) rather than 200 (existing task replaced).
    pub created: bool,
}

/// Result of DELETE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// 200: the task existed and is gone.
    Deleted,
    /// 204: there was no such task.
    NotFound,
}

/// A response that passed the status check.
struct Answer {
    status: StatusCode,
    body: bytes::Bytes,
    request_id: Option<String>,
}

/// The client. Cheap to clone; share one per endpoint.
#[derive(Debug, Clone)]
pub struct DmsClient {
    http: reqwest::Client,
    endpoint: Url,
    api_version: String,
    retry: RetryPolicy,
    tokens: Arc<dyn TokenSource>,
}

fn invalid(msg: impl Into<String>) -> DmsError {
    DmsError::InvalidArgument(msg.into())
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl DmsClient {
    pub fn new(
        options: ClientOptions,
        tokens: Arc<dyn TokenSource>,
    ) -> Result<DmsClient, DmsError> {
        let endpoint = Url::parse(options.endpoint.trim_end_matches('/'))
            .map_err(|e| invalid(format!("endpoint '{}': {e}", options.endpoint)))?;
        if endpoint.cannot_be_a_base() || !matches!(endpoint.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "endpoint '{}' is not an http(s) URL",
                options.endpoint
            )));
        }
        if !endpoint.username().is_empty() || endpoint.password().is_some() {
            return Err(invalid("endpoint must not carry credentials"));
        }
        if options.api_version.trim().is_empty() {
            return Err(invalid("api-version is empty"));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(options.request_timeout)
            .connect_timeout(options.connect_timeout)
            .user_agent(concat!("dmsform/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(DmsClient {
            http,
            endpoint,
            api_version: options.api_version,
            retry: options.retry,
            tokens,
        })
    }

    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    fn url(&self, svc: &ServiceRef, tail: &[&str], extra_query: &str) -> Result<Url, DmsError> {
        for (what, v) in [
            ("subscription id", &svc.subscription_id),
            ("resource group", &svc.resource_group),
            ("service name", &svc.service_name),
        ] {
            if v.trim().is_empty() {
                return Err(invalid(format!("{what} is empty")));
            }
        }
        let mut url = self.endpoint.clone();
        {
            let mut segs = url
                .path_segments_mut()
                .map_err(|_| invalid("endpoint cannot be a base URL"))?;
            segs.pop_if_empty();
            segs.extend(svc.segments());
            segs.push("serviceTasks");
            segs.extend(tail);
        }
        // `$expand` must stay a literal `$`, so the query is written by hand.
        url.set_query(Some(&format!(
            "api-version={}{extra_query}",
            encode(&self.api_version)
        )));
        Ok(url)
    }

    fn task_url(
        &self,
        svc: &ServiceRef,
        task: &str,
        tail: &[&str],
        q: &str,
    ) -> Result<Url, DmsError> {
        if task.trim().is_empty() {
            return Err(invalid("task name is empty"));
        }
        let mut segs = vec![task];
        segs.extend(tail);
        self.url(svc, &segs, q)
    }

    /// `PUT …/serviceTasks/{task}`: create (201) or replace (200) a task.
    pub async fn create_or_update(
        &self,
        svc: &ServiceRef,
        task: &str,
        body: &TaskRequest,
    ) -> Result<PutOutcome, DmsError> {
        let url = self.task_url(svc, task, &[], "")?;
        let op = format!("PUT serviceTasks/{task}");
        let a = self
            .send(&op, Method::PUT, url, Some(body), &[200, 201])
            .await?;
        let created = a.status == StatusCode::CREATED;
        Ok(PutOutcome {
            task: decode_task(&op, &a)?,
            created,
        })
    }

    /// `GET …/serviceTasks/{task}`, optionally with `$expand=output`.
    pub async fn get(
        &self,
        svc: &ServiceRef,
        task: &str,
        expand: Expand,
    ) -> Result<ProjectTask, DmsError> {
        let q = match expand {
            Expand::None => "",
            Expand::Output => "&$expand=output",
        };
        let url = self.task_url(svc, task, &[], q)?;
        let op = format!("GET serviceTasks/{task}");
        let a = self.send(&op, Method::GET, url, None, &[200]).await?;
        decode_task(&op, &a)
    }

    /// Like [`DmsClient::get`], but a 404 (empty body or not) is `Ok(None)`.
    pub async fn get_if_exists(
        &self,
        svc: &ServiceRef,
        task: &str,
        expand: Expand,
    ) -> Result<Option<ProjectTask>, DmsError> {
        match self.get(svc, task, expand).await {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `PATCH …/serviceTasks/{task}` with a full task body.
    pub async fn update(
        &self,
        svc: &ServiceRef,
        task: &str,
        body: &TaskRequest,
    ) -> Result<ProjectTask, DmsError> {
        let url = self.task_url(svc, task, &[], "")?;
        let op = format!("PATCH serviceTasks/{task}");
        let a = self
            .send(&op, Method::PATCH, url, Some(body), &[200])
            .await?;
        decode_task(&op, &a)
    }

    /// `DELETE …/serviceTasks/{task}`, with `deleteRunningTasks=true` when asked.
    pub async fn delete(
        &self,
        svc: &ServiceRef,
        task: &str,
        delete_running_tasks: bool,
    ) -> Result<DeleteOutcome, DmsError> {
        let q = if delete_running_tasks {
            "&deleteRunningTasks=true"
        } else {
            ""
        };
        let url = self.task_url(svc, task, &[], q)?;
        let op = format!("DELETE serviceTasks/{task}");
        let a = self
            .send(&op, Method::DELETE, url, None, &[200, 204])
            .await?;
        Ok(if a.status == StatusCode::NO_CONTENT {
            DeleteOutcome::NotFound
        } else {
            DeleteOutcome::Deleted
        })
    }

    /// `POST …/serviceTasks/{task}/cancel`.
    pub async fn cancel(&self, svc: &ServiceRef, task: &str) -> Result<ProjectTask, DmsError> {
        let url = self.task_url(svc, task, &["cancel"], "")?;
        let op = format!("POST serviceTasks/{task}/cancel");
        let a = self.send(&op, Method::POST, url, None, &[200]).await?;
        decode_task(&op, &a)
    }

    /// `GET …/serviceTasks[?taskType=…]`, following `nextLink` to the last page.
    pub async fn list(
        &self,
        svc: &ServiceRef,
        task_type: Option<&str>,
    ) -> Result<Vec<ProjectTask>, DmsError> {
        let q = task_type
            .map(|t| format!("&taskType={}", encode(t)))
            .unwrap_or_default();
        let mut url = self.url(svc, &[], &q)?;
        let mut all = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for page_no in 1..=MAX_PAGES {
            let op = format!("GET serviceTasks (page {page_no})");
            let a = self
                .send(&op, Method::GET, url.clone(), None, &[200])
                .await?;
            let page: TaskList = decode(&op, &a)?;
            all.extend(page.value);
            let Some(link) = page.next_link.filter(|l| !l.trim().is_empty()) else {
                return Ok(all);
            };
            url = self.next_link_url(&op, &link)?;
            if !seen.insert(url.to_string()) {
                return Err(DmsError::Protocol {
                    operation: op,
                    status: Some(200),
                    message: "nextLink repeats an earlier page".into(),
                    request_id: a.request_id,
                });
            }
        }
        Err(DmsError::Protocol {
            operation: "GET serviceTasks".into(),
            status: Some(200),
            message: format!("more than {MAX_PAGES} pages"),
            request_id: None,
        })
    }

    /// Resolves a `nextLink` (absolute or relative), keeps its query as is except for
    /// `api-version`, which is forced to ours. A link to another origin is refused: the
    /// bearer token must not follow it.
    fn next_link_url(&self, op: &str, link: &str) -> Result<Url, DmsError> {
        let mut url = self.endpoint.join(link).map_err(|e| DmsError::Protocol {
            operation: op.into(),
            status: Some(200),
            message: format!("unusable nextLink: {e}"),
            request_id: None,
        })?;
        if url.origin() != self.endpoint.origin() {
            return Err(DmsError::Protocol {
                operation: op.into(),
                status: Some(200),
                message: format!(
                    "nextLink points to another origin ({}); not following it",
                    url.origin().ascii_serialization()
                ),
                request_id: None,
            });
        }
        let mut parts: Vec<String> = url
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .filter(|p| {
                let key = p.split('=').next().unwrap_or("");
                !key.eq_ignore_ascii_case("api-version")
            })
            .map(str::to_string)
            .collect();
        parts.insert(0, format!("api-version={}", encode(&self.api_version)));
        url.set_query(Some(&parts.join("&")));
        Ok(url)
    }

    /// Sends one operation with retries; returns the answer when its status is in `ok`.
    async fn send(
        &self,
        op: &str,
        method: Method,
        url: Url,
        body: Option<&TaskRequest>,
        ok: &[u16],
    ) -> Result<Answer, DmsError> {
        let payload = match body {
            Some(b) => {
                Some(serde_json::to_vec(b).map_err(|e| invalid(format!("request body: {e}")))?)
            }
            None => None,
        };
        let mut attempt = 0u32;
        let mut delayed = Duration::ZERO;
        loop {
            attempt += 1;
            let token = self.tokens.token().await?;
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.expose())
                .header(ACCEPT, "application/json")
                .header("x-ms-client-request-id", uuid::Uuid::new_v4().to_string());
            req = match &payload {
                Some(p) => req.header(CONTENT_TYPE, "application/json").body(p.clone()),
                None if method == Method::POST => req.header(CONTENT_LENGTH, "0"),
                None => req,
            };
            let started = Instant::now();
            tracing::debug!(%method, %url, attempt, "sending request");
            let failed = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    let request_id = headers
                        .get("x-ms-request-id")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    match resp.bytes().await {
                        Ok(body) => {
                            tracing::debug!(
                                %method, %url, attempt, status = status.as_u16(),
                                request_id = request_id.as_deref().unwrap_or(""),
                                elapsed_ms = started.elapsed().as_millis() as u64,
                                "response"
                            );
                            if ok.contains(&status.as_u16()) {
                                return Ok(Answer {
                                    status,
                                    body,
                                    request_id,
                                });
                            }
                            if status.is_success() {
                                return Err(DmsError::Protocol {
                                    operation: op.into(),
                                    status: Some(status.as_u16()),
                                    message: format!(
                                        "status {status} is not one this operation may answer with (expected {ok:?})"
                                    ),
                                    request_id,
                                });
                            }
                            let err = ApiError::from_response(
                                status.as_u16(),
                                &body,
                                request_id,
                                op.into(),
                                attempt,
                            );
                            Failed::Status(Box::new(err), headers)
                        }
                        Err(e) => Failed::Transport(e),
                    }
                }
                Err(e) => Failed::Transport(e),
            };
            let (policy_failure, error) = match &failed {
                Failed::Status(api, headers) => (
                    Failure::Status {
                        status: api.status,
                        headers,
                    },
                    DmsError::Api(api.clone()),
                ),
                Failed::Transport(e) => {
                    let message = describe_transport(e, started.elapsed());
                    tracing::debug!(%method, %url, attempt, error = %message, "transport failure");
                    let connect = e.is_connect();
                    (
                        if connect {
                            Failure::Connect
                        } else {
                            Failure::Dropped
                        },
                        DmsError::Transport {
                            operation: op.into(),
                            message,
                            maybe_applied: !connect,
                            attempts: attempt,
                        },
                    )
                }
            };
            let decision = self.retry.decide(
                &method,
                policy_failure,
                Attempt {
                    number: attempt,
                    delayed,
                },
                SystemTime::now(),
                rand::random::<f64>(),
            );
            match decision {
                Decision::RetryAfter(d) => {
                    tracing::debug!(%method, %url, attempt, delay_ms = d.as_millis() as u64, "retrying");
                    tokio::time::sleep(d).await;
                    delayed += d;
                }
                Decision::Stop(reason) => {
                    tracing::debug!(%method, %url, attempt, ?reason, "giving up");
                    return Err(error);
                }
            }
        }
    }
}

/// One failed attempt.
enum Failed {
    Status(Box<ApiError>, HeaderMap),
    Transport(reqwest::Error),
}

fn decode<T: serde::de::DeserializeOwned>(op: &str, a: &Answer) -> Result<T, DmsError> {
    if a.body.iter().all(u8::is_ascii_whitespace) {
        return Err(DmsError::Protocol {
            operation: op.into(),
            status: Some(a.status.as_u16()),
            message: "empty body where a JSON document was expected".into(),
            request_id: a.request_id.clone(),
        });
    }
    serde_json::from_slice(&a.body).map_err(|e| DmsError::Protocol {
        operation: op.into(),
        status: Some(a.status.as_u16()),
        message: format!("cannot read the body: {e}"),
        request_id: a.request_id.clone(),
    })
}

fn decode_task(op: &str, a: &Answer) -> Result<ProjectTask, DmsError> {
    decode(op, a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::dms::auth::StaticToken;
    use crate::providers::dms::secret::SecretString;

    fn client(endpoint: &str) -> DmsClient {
        DmsClient::new(
            ClientOptions {
                endpoint: endpoint.into(),
                ..ClientOptions::default()
            },
            Arc::new(StaticToken::new(SecretString::new("t"))),
        )
        .unwrap()
    }

    fn svc() -> ServiceRef {
        ServiceRef::new("sub-1", "my group", "svc")
    }

    #[test]
    fn urls_encode_segments_and_keep_dollar_literal() {
        let c = client("https://management.azure.com/");
        let u = c.task_url(&svc(), "t/1", &[], "&$expand=output").unwrap();
        assert_eq!(
            u.as_str(),
            "https://management.azure.com/subscriptions/sub-1/resourceGroups/my%20group/providers/Microsoft.DataMigration/services/svc/serviceTasks/t%2F1?api-version=2025-06-30&$expand=output"
        );
        let u = c.task_url(&svc(), "t", &["cancel"], "").unwrap();
        assert!(u.path().ends_with("/serviceTasks/t/cancel"));
        let c = client("http://127.0.0.1:9/prefix");
        let u = c.url(&svc(), &[], "&taskType=Service.Check.OCI").unwrap();
        assert_eq!(
            u.as_str(),
            "http://127.0.0.1:9/prefix/subscriptions/sub-1/resourceGroups/my%20group/providers/Microsoft.DataMigration/services/svc/serviceTasks?api-version=2025-06-30&taskType=Service.Check.OCI"
        );
        assert!(c.task_url(&svc(), " ", &[], "").is_err());
    }

    #[test]
    fn next_link_forces_api_version_and_stays_on_origin() {
        let c = client("http://127.0.0.1:9");
        let u = c
            .next_link_url("op", "http://127.0.0.1:9/x/serviceTasks?api-version=2018-07-15-preview&taskType=Service.Check.OCI&%24skiptoken=MQ%3D%3D")
            .unwrap();
        assert_eq!(
            u.query(),
            Some("api-version=2025-06-30&taskType=Service.Check.OCI&%24skiptoken=MQ%3D%3D")
        );
        let rel = c
            .next_link_url("op", "/x/serviceTasks?$skiptoken=2")
            .unwrap();
        assert_eq!(
            rel.as_str(),
            "http://127.0.0.1:9/x/serviceTasks?api-version=2025-06-30&$skiptoken=2"
        );
        assert!(c.next_link_url("op", "https://evil.example/x?a=1").is_err());
    }

    #[test]
    fn bad_endpoints_are_refused() {
        let tok: Arc<dyn TokenSource> = Arc::new(StaticToken::new(SecretString::new("t")));
        for e in ["not a url", "ftp://x", "https://u:p@x"] {
            let o = ClientOptions {
                endpoint: e.into(),
                ..ClientOptions::default()
            };
            assert!(DmsClient::new(o, tok.clone()).is_err(), "{e}");
        }
    }
}
