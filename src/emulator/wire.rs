//! The emulator's own wire shapes and HTTP answers: task bodies, ARM error envelopes and
//! the headers the real service sends (spec §7.2, §10.1).

use super::store::TaskRecord;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

pub const RESOURCE_TYPE: &str = "Microsoft.DataMigration/services/serviceTasks";

/// The ARM id of a task.
pub fn task_id(rec: &TaskRecord) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.DataMigration/services/{}/serviceTasks/{}",
        rec.subscription, rec.group, rec.service, rec.name
    )
}

/// A task as the service answers it. List items carry no etag; `output` only when expanded.
pub fn task_body(rec: &TaskRecord, with_etag: bool, expand_output: bool) -> Value {
    let mut props = Map::new();
    props.insert("taskType".into(), json!(rec.task_type));
    props.insert("input".into(), rec.input.clone());
    if let Some(cd) = &rec.client_data {
        props.insert("clientData".into(), cd.clone());
    }
    props.insert("state".into(), json!(rec.state));
    if !rec.errors.is_empty() {
        props.insert("errors".into(), json!(rec.errors));
    }
    if expand_output {
        props.insert("output".into(), json!(rec.output));
    }
    let mut body = Map::new();
    body.insert("id".into(), json!(task_id(rec)));
    body.insert("name".into(), json!(rec.name));
    body.insert("type".into(), json!(RESOURCE_TYPE));
    if with_etag {
        body.insert("etag".into(), json!(rec.etag));
    }
    body.insert("properties".into(), Value::Object(props));
    Value::Object(body)
}

/// The api-version whose `CheckOCIDriverTaskOutput.installedDriver` is a map of string to
/// an array of `OracleOCIDriverInfo` (every later version has a single object).
pub const LEGACY_OUTPUT_VERSION: &str = "2018-07-15-preview";

/// Rewrites every `installedDriver` object of a task body's output into the
/// 2018-07-15-preview shape: a map keyed by the driver's package name, each holding the
/// list of drivers installed under that name (one here). The published definition names
/// no key; the package name is the one identifier a driver has.
pub fn legacy_installed_driver(body: &mut Value) {
    let Some(items) = body
        .pointer_mut("/properties/output")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for item in items {
        if let Some(slot) = item.get_mut("installedDriver")
            && slot.get("driverName").is_some()
        {
            let key = slot["driverName"].as_str().unwrap_or("driver").to_string();
            let info = slot.take();
            *slot = json!({ key: [info] });
        }
    }
}

/// A JSON answer, with the quoted `ETag` header when given.
pub fn json_response(status: StatusCode, body: &Value, etag: Option<&str>) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    if let Some(tag) = etag
        && let Ok(v) = HeaderValue::from_str(&format!("\"{tag}\""))
    {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// A bodiless answer (`Content-Length: 0`): DELETE 200/204 and the empty 404.
pub fn empty(status: StatusCode) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    resp
}

/// An ARM error envelope.
pub fn arm_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        &json!({"error": {"code": code, "message": message, "details": []}}),
        None,
    )
}
