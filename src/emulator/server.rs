//! The emulator's HTTP server: authentication, api-version checks, fault injection, the
//! request log and the loopback-only `/_emulator/…` control endpoints around the
//! service-task routes; plus the ticker that moves tasks along and runs their work.

use super::config::{API_VERSIONS, EmulatorConfig};
use super::drivers::{self, WorkInput};
use super::faults::{FaultKind, FaultRule, Faults, Op};
use super::lifecycle::{self, Timing, now_ms};
use super::routes::{self, parse_route};
use super::seal;
use super::store::{Store, WorkOrder};
use super::wire::LEGACY_OUTPUT_VERSION;
use super::wire::{arm_error, json_response, task_id};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde::Serialize;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot open the emulator data directory {dir}: {source}")]
    DataDir { dir: String, source: std::io::Error },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// One request as `/_emulator/requests` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub op: Option<Op>,
    pub task: Option<String>,
    pub at_ms: u64,
}

/// State shared by every request handler and the ticker.
pub struct Shared {
    pub cfg: EmulatorConfig,
    pub timing: Timing,
    store: Mutex<Store>,
    pub faults: Mutex<Faults>,
    log: Mutex<Vec<LoggedRequest>>,
    http: reqwest::Client,
}

impl Shared {
    /// The store, advanced to now. A poisoned lock is taken over: the store's invariants
    /// hold between statements, and the emulator must keep serving.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running emulator.
pub struct EmulatorHandle {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
    ticker: tokio::task::JoinHandle<()>,
}

impl EmulatorHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving, waiting for in-flight requests.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.ticker.abort();
        let _ = (&mut self.server).await;
    }

    /// Serves until the process ends.
    pub async fn wait(mut self) {
        let _ = (&mut self.server).await;
    }
}

/// Starts the emulator on `cfg.listen` (port 0 picks a free one).
pub async fn spawn(cfg: EmulatorConfig) -> Result<EmulatorHandle, EmulatorError> {
    let store = Store::open(&cfg.data_dir).map_err(|source| EmulatorError::DataDir {
        dir: cfg.data_dir.display().to_string(),
        source,
    })?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| EmulatorError::Listen {
            addr: cfg.listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| EmulatorError::Listen {
            addr: cfg.listen,
            source,
        })?;
    let timing = Timing {
        queued_for_ms: cfg.queued_for.as_millis() as u64,
        run_for_ms: cfg.run_for.as_millis() as u64,
        cancel_for_ms: cfg.cancel_for.as_millis() as u64,
        max_running: cfg.max_running,
    };
    let shared = Arc::new(Shared {
        faults: Mutex::new(Faults::new(cfg.faults.clone(), cfg.seed)),
        cfg,
        timing,
        store: Mutex::new(store),
        log: Mutex::new(Vec::new()),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default(),
    });
    let ticker = {
        let sh = shared.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(20));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                tick(&sh);
            }
        })
    };
    let app = Router::new().fallback(handle).with_state(shared);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let serve = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = rx.await;
        });
        if let Err(e) = serve.await {
            tracing::error!("emulator server stopped: {e}");
        }
    });
    Ok(EmulatorHandle {
        addr,
        shutdown: Some(tx),
        server,
        ticker,
    })
}

/// Advances every task and starts the work that became due.
fn tick(sh: &Arc<Shared>) {
    let orders = {
        let mut store = sh.store();
        lifecycle::advance_all(&mut store, now_ms(), &sh.timing)
    };
    for order in orders {
        start_work(sh, order);
    }
}

fn start_work(sh: &Arc<Shared>, order: WorkOrder) {
    let work = {
        let store = sh.store();
        let Some(rec) = store.tasks.get(&order.key) else {
            return;
        };
        let mut input = rec.input.clone();
        for (ptr, sealed) in &rec.sealed {
            if let (Some(slot), Some(plain)) =
                (input.pointer_mut(ptr), seal::open(&store.key, sealed))
            {
                *slot = Value::String(plain);
            }
        }
        let svc = rec.service_key();
        WorkInput {
            task_type: rec.task_type.clone(),
            input,
            packages: store.services.get(&svc).cloned().unwrap_or_default(),
            staging_dir: store.package_dir(&svc),
            share_roots: sh.cfg.share_roots.clone(),
            other_install_running: store.tasks.values().any(|t| {
                t.service_key() == svc
                    && t.seq < rec.seq
                    && t.state == "Running"
                    && t.task_type.eq_ignore_ascii_case("Service.Install.OCI")
                    && rec.task_type.eq_ignore_ascii_case("Service.Install.OCI")
            }),
        }
    };
    let sh = sh.clone();
    tokio::spawn(async move {
        let result = drivers::run(work, &sh.http).await;
        let mut store = sh.store();
        lifecycle::finish_work(&mut store, &order, result);
        let more = lifecycle::advance_all(&mut store, now_ms(), &sh.timing);
        drop(store);
        for o in more {
            start_work(&sh, o);
        }
    });
}

async fn handle(
    State(sh): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 4 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    let query_str = parts.uri.query().unwrap_or("").to_string();
    if path == "/_emulator" || path.starts_with("/_emulator/") {
        if !peer.ip().is_loopback() {
            return arm_error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "The emulator control endpoints answer loopback clients only.",
            );
        }
        return control(&sh, &parts.method, &path, &body);
    }
    let route = parse_route(&path);
    let op = route.as_ref().and_then(|r| r.op(&parts.method));
    let task = route.as_ref().and_then(|r| r.task.clone());
    let mut resp = serve(&sh, &parts.method, &parts.headers, &path, &query_str, &body).await;
    add_arm_headers(&mut resp, &parts.method, &parts.headers);
    let status = if resp.extensions().get::<Dropped>().is_some() {
        0
    } else {
        resp.status().as_u16()
    };
    if let Ok(mut log) = sh.log.lock() {
        log.push(LoggedRequest {
            method: parts.method.to_string(),
            path,
            query: query_str,
            status,
            op,
            task,
            at_ms: now_ms(),
        });
    }
    resp
}

/// Marks a response whose connection is dropped by fault injection.
#[derive(Clone)]
struct Dropped;

async fn serve(
    sh: &Arc<Shared>,
    method: &Method,
    headers: &HeaderMap,
    path: &str,
    query_str: &str,
    body: &Bytes,
) -> Response {
    // Authentication comes first, as at the ARM front door.
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    match (token, &sh.cfg.token) {
        (None, _) => {
            return arm_error(
                StatusCode::UNAUTHORIZED,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
            );
        }
        (Some(t), Some(want)) if t != want => {
            return arm_error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "The access token is invalid.",
            );
        }
        _ => {}
    }
    let query: Vec<(String, String)> = url::form_urlencoded::parse(query_str.as_bytes())
        .into_owned()
        .collect();
    let q = |k: &str| {
        query
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    let Some(route) = parse_route(path) else {
        return arm_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("No HTTP resource was found that matches the request URI '{path}'."),
        );
    };
    let Some(op) = route.op(method) else {
        return arm_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            &format!("The requested resource does not support http method '{method}'."),
        );
    };
    let Some(version) = q("api-version") else {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    };
    if !API_VERSIONS.contains(&version.as_str()) {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "NoRegisteredProviderFound",
            &format!(
                "No registered resource provider found for location 'global' and API version '{version}' for type 'services/serviceTasks'. The supported api-versions are '{}'.",
                API_VERSIONS.join(", ")
            ),
        );
    }
    let fired = sh
        .faults
        .lock()
        .map(|mut f| {
            f.fire(
                op,
                route.task.as_deref(),
                &[FaultKind::Latency, FaultKind::Drop, FaultKind::Status],
            )
        })
        .unwrap_or_default();
    for rule in &fired {
        if rule.kind == FaultKind::Latency {
            tokio::time::sleep(Duration::from_millis(rule.ms.unwrap_or(1000))).await;
        }
    }
    if fired.iter().any(|r| r.kind == FaultKind::Drop) {
        let stream = futures::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection dropped by fault injection",
            ))
        });
        let mut resp = Response::new(Body::from_stream(stream));
        resp.extensions_mut().insert(Dropped);
        return resp;
    }
    if let Some(rule) = fired.iter().find(|r| r.kind == FaultKind::Status) {
        return status_fault(rule, method, &route_scope(&route));
    }
    if let Some(services) = &sh.cfg.services
        && !services
            .iter()
            .any(|s| s.eq_ignore_ascii_case(&route.service))
    {
        return arm_error(
            StatusCode::NOT_FOUND,
            "ParentResourceNotFound",
            &format!(
                "Can not perform requested operation on nested resource. Parent resource '{}' not found.",
                route.service
            ),
        );
    }
    tick(sh);
    match op {
        Op::Put => routes::put(sh, &route, body),
        Op::Get => {
            let expand = q("$expand").is_some_and(|e| {
                e.split(',')
                    .any(|x| x.trim().eq_ignore_ascii_case("output"))
            });
            routes::get(sh, &route, expand, version == LEGACY_OUTPUT_VERSION)
        }
        Op::Patch => routes::patch(sh, &route, body),
        Op::Delete => routes::delete(
            sh,
            &route,
            q("deleteRunningTasks").is_some_and(|v| v.eq_ignore_ascii_case("true")),
        ),
        Op::Cancel => routes::cancel(sh, &route),
        Op::List => {
            let host = headers
                .get("host")
                .and_then(|h| h.to_str().ok())
                .unwrap_or("127.0.0.1");
            routes::list(sh, &route, &query, &format!("http://{host}"), path)
        }
        Op::Any => arm_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "Unsupported operation.",
        ),
    }
}

fn route_scope(r: &routes::Route) -> String {
    let rec_like = super::store::TaskRecord {
        seq: 0,
        subscription: r.subscription.clone(),
        group: r.group.clone(),
        service: r.service.clone(),
        name: r.task.clone().unwrap_or_default(),
        task_type: String::new(),
        input: Value::Null,
        sealed: Default::default(),
        client_data: None,
        state: String::new(),
        etag: String::new(),
        created_ms: 0,
        queued_until_ms: 0,
        run_until_ms: None,
        cancel_until_ms: None,
        forced: None,
        output: vec![],
        errors: vec![],
        result: None,
        generation: 0,
    };
    let id = task_id(&rec_like);
    if r.task.is_some() {
        id
    } else {
        id.trim_end_matches('/').to_string()
    }
}

fn status_fault(rule: &FaultRule, method: &Method, scope: &str) -> Response {
    let status =
        StatusCode::from_u16(rule.status.unwrap_or(503)).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let code = rule.error_code();
    let message = rule.message.clone().unwrap_or_else(|| match code.as_str() {
        "AuthorizationFailed" => {
            let action = match method.as_str() {
                "GET" => "read",
                "DELETE" => "delete",
                "POST" => "cancel/action",
                _ => "write",
            };
            format!(
                "The client 'dmsform-ci@contoso.com' with object id '00000000-0000-0000-0000-0000000000aa' does not have authorization to perform action 'Microsoft.DataMigration/services/serviceTasks/{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials."
            )
        }
        "ExpiredAuthenticationToken" => {
            "The access token expiry UTC time is earlier than current UTC time. Acquire a new token.".to_string()
        }
        "SubscriptionRequestsThrottled" => format!(
            "Number of requests for subscription exceeded the limit. Please try again after {} seconds.",
            rule.retry_after.unwrap_or(1)
        ),
        _ => format!("The service answered {} (injected fault).", status.as_u16()),
    });
    let mut resp = arm_error(status, &code, &message);
    if let Some(secs) = rule.retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert("retry-after", v);
    }
    resp
}

fn add_arm_headers(resp: &mut Response, method: &Method, req_headers: &HeaderMap) {
    let h = resp.headers_mut();
    let request_id = uuid::Uuid::new_v4().to_string();
    let correlation = req_headers
        .get("x-ms-correlation-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| request_id.clone());
    for (k, v) in [
        ("x-ms-request-id", request_id.clone()),
        ("x-ms-correlation-request-id", correlation),
        ("x-ms-routing-request-id", format!("LOCAL:{request_id}")),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
    h.insert("cache-control", HeaderValue::from_static("no-cache"));
    h.insert("pragma", HeaderValue::from_static("no-cache"));
    h.insert("expires", HeaderValue::from_static("-1"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    let (name, value) = match method.as_str() {
        "GET" => ("x-ms-ratelimit-remaining-subscription-reads", "11999"),
        "DELETE" => ("x-ms-ratelimit-remaining-subscription-deletes", "14999"),
        _ => ("x-ms-ratelimit-remaining-subscription-writes", "1199"),
    };
    h.insert(name, HeaderValue::from_static(value));
}

fn control(sh: &Arc<Shared>, method: &Method, path: &str, body: &[u8]) -> Response {
    match (method.as_str(), path.trim_end_matches('/')) {
        ("GET", "/_emulator/health") => {
            json_response(StatusCode::OK, &json!({"status": "ok"}), None)
        }
        ("GET", "/_emulator/faults") => {
            let rules = sh.faults.lock().map(|f| f.rules()).unwrap_or_default();
            json_response(StatusCode::OK, &json!(rules), None)
        }
        ("POST", "/_emulator/faults") => match serde_json::from_slice::<FaultRule>(body) {
            Ok(rule) => {
                if let Ok(mut f) = sh.faults.lock() {
                    f.add(rule.clone());
                }
                json_response(StatusCode::CREATED, &json!(rule), None)
            }
            Err(e) => arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidFaultRule",
                &format!("Invalid fault rule: {e}."),
            ),
        },
        ("DELETE", "/_emulator/faults") => {
            if let Ok(mut f) = sh.faults.lock() {
                f.clear();
            }
            super::wire::empty(StatusCode::NO_CONTENT)
        }
        ("GET", "/_emulator/requests") => {
            let log = sh.log.lock().map(|l| l.clone()).unwrap_or_default();
            json_response(StatusCode::OK, &json!(log), None)
        }
        ("DELETE", "/_emulator/requests") => {
            if let Ok(mut l) = sh.log.lock() {
                l.clear();
            }
            super::wire::empty(StatusCode::NO_CONTENT)
        }
        _ => arm_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("No emulator control endpoint {method} {path}."),
        ),
    }
}
