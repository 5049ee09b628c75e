//! The six service-task operations (spec §4) over the store. Paths are matched
//! case-insensitively with percent-decoded segments, as ARM does.

use super::faults::{FaultKind, Op};
use super::lifecycle::{self, now_ms};
use super::seal;
use super::server::Shared;
use super::store::{TaskRecord, task_key};
use super::wire::{arm_error, empty, json_response, legacy_installed_driver, task_body};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde_json::{Map, Value, json};

/// A parsed service-task URL.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub subscription: String,
    pub group: String,
    pub service: String,
    pub task: Option<String>,
    pub cancel: bool,
}

impl Route {
    /// The operation this method performs on this route, if the pair is valid.
    pub fn op(&self, method: &Method) -> Option<Op> {
        match (self.task.is_some(), self.cancel, method.as_str()) {
            (false, _, "GET") => Some(Op::List),
            (true, false, "PUT") => Some(Op::Put),
            (true, false, "GET") => Some(Op::Get),
            (true, false, "PATCH") => Some(Op::Patch),
            (true, false, "DELETE") => Some(Op::Delete),
            (true, true, "POST") => Some(Op::Cancel),
            _ => None,
        }
    }
}

/// Decodes `%XX` escapes (but not `+`, which is literal in a path).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16)),
                bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Matches `/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.DataMigration/services/{n}/serviceTasks[/{t}[/cancel]]`.
pub fn parse_route(path: &str) -> Option<Route> {
    let segs: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let lit = |i: usize, want: &str| segs.get(i).is_some_and(|s| s.eq_ignore_ascii_case(want));
    let val = |i: usize| segs.get(i).filter(|s| !s.is_empty()).cloned();
    if !(lit(0, "subscriptions")
        && lit(2, "resourceGroups")
        && lit(4, "providers")
        && lit(5, "Microsoft.DataMigration")
        && lit(6, "services")
        && lit(8, "serviceTasks"))
    {
        return None;
    }
    let route = Route {
        subscription: val(1)?,
        group: val(3)?,
        service: val(7)?,
        task: None,
        cancel: false,
    };
    match segs.len() {
        9 => Some(route),
        10 => Some(Route {
            task: Some(val(9)?),
            ..route
        }),
        11 if lit(10, "cancel") => Some(Route {
            task: Some(val(9)?),
            cancel: true,
            ..route
        }),
        _ => None,
    }
}

fn bad_content(message: &str) -> Response {
    arm_error(StatusCode::BAD_REQUEST, "InvalidRequestContent", message)
}

/// The `properties` of a request body, or the message of a 400 `InvalidRequestContent`.
fn parse_body(body: &[u8]) -> Result<Map<String, Value>, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        format!("The request content was invalid and could not be deserialized: {e}.")
    })?;
    let Value::Object(mut top) = v else {
        return Err("The request content must be a JSON object.".into());
    };
    match top.remove("properties") {
        Some(Value::Object(p)) => Ok(p),
        Some(_) => Err("The property 'properties' must be an object.".into()),
        None => Err("The property 'properties' is required.".into()),
    }
}

fn client_data(props: &Map<String, Value>) -> Result<Option<Value>, String> {
    match props.get("clientData") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) if m.values().all(Value::is_string) => {
            Ok(Some(Value::Object(m.clone())))
        }
        Some(_) => Err("The property 'clientData' must be a map of strings.".into()),
    }
}

/// JSON pointers of the secure fields of a task type's input.
fn secure_fields(task_type: &str) -> &'static [&'static str] {
    if task_type.eq_ignore_ascii_case("Service.Upload.OCI") {
        &["/driverShare/password", "/driverShare/sasUri"]
    } else {
        &[]
    }
}

/// PUT: create (201) or replace and restart (200) a task.
pub fn put(sh: &Shared, r: &Route, body: &[u8]) -> Response {
    let props = match parse_body(body) {
        Ok(p) => p,
        Err(e) => return bad_content(&e),
    };
    let Some(task_type) = props
        .get("taskType")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        return bad_content("The property 'taskType' is required.");
    };
    let mut input = match props.get("input") {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(m)) => Value::Object(m.clone()),
        Some(_) => return bad_content("The property 'input' must be an object."),
    };
    let client_data = match client_data(&props) {
        Ok(c) => c,
        Err(e) => return bad_content(&e),
    };
    let name = r.task.clone().unwrap_or_default();
    let forced = sh
        .faults
        .lock()
        .map(|mut f| {
            f.fire(
                Op::Put,
                Some(&name),
                &[FaultKind::TaskFail, FaultKind::TaskFault],
            )
            .into_iter()
            .last()
        })
        .ok()
        .flatten()
        .map(|rule| {
            if rule.kind == FaultKind::TaskFault {
                "Faulted"
            } else {
                "Failed"
            }
            .to_string()
        });
    let key = task_key(&r.subscription, &r.group, &r.service, &name);
    let now = now_ms();
    let mut store = sh.store();
    let existing = store.tasks.get(&key).cloned();
    if let Some(obj) = input.as_object_mut() {
        obj.remove("encryptedKeyForSecureFields");
    }
    let mut sealed = std::collections::BTreeMap::new();
    for ptr in secure_fields(task_type) {
        let Some(Value::String(secret)) = input.pointer(ptr).cloned() else {
            continue;
        };
        // A client re-sending a task it read back sends the mask: keep the stored secret.
        let kept = existing
            .as_ref()
            .and_then(|e| {
                e.sealed
                    .get(*ptr)
                    .filter(|_| e.input.pointer(ptr) == Some(&Value::String(secret.clone())))
            })
            .cloned();
        sealed.insert(
            ptr.to_string(),
            kept.unwrap_or_else(|| seal::seal(&store.key, &secret)),
        );
        if let Some(slot) = input.pointer_mut(ptr) {
            *slot = json!(seal::mask(&store.key, &secret));
        }
    }
    if !sealed.is_empty()
        && let Some(obj) = input.as_object_mut()
    {
        obj.insert(
            "encryptedKeyForSecureFields".into(),
            json!(seal::mask(&store.key, "encryptedKeyForSecureFields")),
        );
    }
    let (mut rec, status) = match existing {
        Some(e) => (e, StatusCode::OK),
        None => {
            let seq = store.next_seq();
            let rec = TaskRecord {
                seq,
                subscription: r.subscription.clone(),
                group: r.group.clone(),
                service: r.service.clone(),
                name: name.clone(),
                task_type: String::new(),
                input: Value::Null,
                sealed: Default::default(),
                client_data: None,
                state: String::new(),
                etag: String::new(),
                created_ms: now,
                queued_until_ms: now,
                run_until_ms: None,
                cancel_until_ms: None,
                forced: None,
                output: vec![],
                errors: vec![],
                result: None,
                generation: 0,
            };
            (rec, StatusCode::CREATED)
        }
    };
    rec.task_type = task_type.to_string();
    rec.input = input;
    rec.sealed = sealed;
    rec.client_data = client_data;
    rec.forced = forced;
    lifecycle::start(&mut rec, now, &sh.timing);
    store.save_task(&rec);
    store.tasks.insert(key, rec.clone());
    drop(store);
    json_response(status, &task_body(&rec, true, false), Some(&rec.etag))
}

/// GET one task; `$expand=output` adds the output, in the 2018-07-15-preview shape when
/// `legacy_output` (that version's check output holds a map of driver lists).
pub fn get(sh: &Shared, r: &Route, expand_output: bool, legacy_output: bool) -> Response {
    let store = sh.store();
    match find(&store.tasks, r) {
        Some(rec) => {
            let mut body = task_body(rec, true, expand_output);
            if legacy_output {
                legacy_installed_driver(&mut body);
            }
            json_response(StatusCode::OK, &body, Some(&rec.etag))
        }
        None => empty(StatusCode::NOT_FOUND),
    }
}

fn find<'a>(
    tasks: &'a std::collections::HashMap<String, TaskRecord>,
    r: &Route,
) -> Option<&'a TaskRecord> {
    tasks.get(&task_key(
        &r.subscription,
        &r.group,
        &r.service,
        r.task.as_deref().unwrap_or(""),
    ))
}

/// PATCH: only `clientData` is mutable.
pub fn patch(sh: &Shared, r: &Route, body: &[u8]) -> Response {
    let props = match parse_body(body) {
        Ok(p) => p,
        Err(e) => return bad_content(&e),
    };
    let client_data = match client_data(&props) {
        Ok(c) => c,
        Err(e) => return bad_content(&e),
    };
    let key = task_key(
        &r.subscription,
        &r.group,
        &r.service,
        r.task.as_deref().unwrap_or(""),
    );
    let mut store = sh.store();
    let Some(rec) = store.tasks.get_mut(&key) else {
        return empty(StatusCode::NOT_FOUND);
    };
    if let Some(tt) = props.get("taskType").and_then(Value::as_str)
        && !tt.eq_ignore_ascii_case(&rec.task_type)
    {
        return bad_content(&format!(
            "The task type of '{}' is '{}' and cannot be changed to '{tt}'.",
            rec.name, rec.task_type
        ));
    }
    if props.contains_key("clientData") {
        rec.client_data = client_data;
    }
    rec.new_etag();
    let rec = rec.clone();
    store.save_task(&rec);
    json_response(
        StatusCode::OK,
        &task_body(&rec, true, false),
        Some(&rec.etag),
    )
}

/// DELETE: 200 when deleted, 204 when nothing was there; a running task needs
/// `deleteRunningTasks=true` unless the emulator runs lenient.
pub fn delete(sh: &Shared, r: &Route, delete_running: bool) -> Response {
    let key = task_key(
        &r.subscription,
        &r.group,
        &r.service,
        r.task.as_deref().unwrap_or(""),
    );
    let mut store = sh.store();
    let Some(rec) = store.tasks.get(&key) else {
        return empty(StatusCode::NO_CONTENT);
    };
    if !rec.is_terminal() && !delete_running && !sh.cfg.lenient_delete {
        return arm_error(
            StatusCode::CONFLICT,
            "TaskIsRunning",
            &format!(
                "The task '{}' is {}. Cancel it and wait for it to stop, or delete it with deleteRunningTasks=true.",
                rec.name, rec.state
            ),
        );
    }
    store.remove_task(&key);
    empty(StatusCode::OK)
}

/// POST cancel: a queued or running task turns `Canceling`; others are answered unchanged.
pub fn cancel(sh: &Shared, r: &Route) -> Response {
    let key = task_key(
        &r.subscription,
        &r.group,
        &r.service,
        r.task.as_deref().unwrap_or(""),
    );
    let mut store = sh.store();
    let Some(rec) = store.tasks.get_mut(&key) else {
        return empty(StatusCode::NOT_FOUND);
    };
    if lifecycle::cancel(rec, now_ms(), &sh.timing) {
        let rec = rec.clone();
        store.save_task(&rec);
        return json_response(
            StatusCode::OK,
            &task_body(&rec, true, false),
            Some(&rec.etag),
        );
    }
    json_response(
        StatusCode::OK,
        &task_body(rec, true, false),
        Some(&rec.etag),
    )
}

/// GET the collection: filtered by `taskType`, paged with a `nextLink` that keeps the filter.
pub fn list(
    sh: &Shared,
    r: &Route,
    query: &[(String, String)],
    base: &str,
    path: &str,
) -> Response {
    let find_q = |k: &str| {
        query
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    };
    let task_type = find_q("taskType").filter(|t| !t.is_empty());
    let skip: usize = match find_q("$skiptoken") {
        None => 0,
        Some(tok) => match B64URL
            .decode(tok)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse().ok())
        {
            Some(n) => n,
            None => {
                return arm_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidSkipToken",
                    "The $skiptoken is not valid.",
                );
            }
        },
    };
    let svc = super::store::service_key(&r.subscription, &r.group, &r.service);
    let store = sh.store();
    let mut items: Vec<&TaskRecord> = store
        .tasks
        .values()
        .filter(|t| t.service_key() == svc)
        .filter(|t| task_type.is_none_or(|tt| t.task_type.eq_ignore_ascii_case(tt)))
        .collect();
    items.sort_by_key(|t| t.seq);
    let page = sh.cfg.page_size.max(1);
    let value: Vec<Value> = items
        .iter()
        .skip(skip)
        .take(page)
        .map(|t| task_body(t, false, false))
        .collect();
    let mut body = json!({ "value": value });
    if skip + page < items.len() {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(v) = find_q("api-version") {
            q.append_pair("api-version", v);
        }
        if let Some(tt) = task_type {
            q.append_pair("taskType", tt);
        }
        q.append_pair("$skiptoken", &B64URL.encode((skip + page).to_string()));
        body["nextLink"] = json!(format!("{base}{path}?{}", q.finish()));
    }
    json_response(StatusCode::OK, &body, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_case_insensitively_and_decode() {
        let r = parse_route("/SUBSCRIPTIONS/s1/resourcegroups/g%20x/Providers/microsoft.datamigration/services/svc/servicetasks/t%2B1").unwrap();
        assert_eq!(r.group, "g x");
        assert_eq!(r.task.as_deref(), Some("t+1"));
        assert_eq!(r.op(&Method::PUT), Some(Op::Put));
        let c = parse_route("/subscriptions/s/resourceGroups/g/providers/Microsoft.DataMigration/services/n/serviceTasks/t/cancel").unwrap();
        assert!(c.cancel);
        assert_eq!(c.op(&Method::POST), Some(Op::Cancel));
        assert_eq!(c.op(&Method::GET), None);
        let l = parse_route("/subscriptions/s/resourceGroups/g/providers/Microsoft.DataMigration/services/n/serviceTasks").unwrap();
        assert_eq!(l.op(&Method::GET), Some(Op::List));
        assert!(
            parse_route(
                "/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/services/n/serviceTasks"
            )
            .is_none()
        );
        assert!(parse_route("/subscriptions/s/resourceGroups/g/providers/Microsoft.DataMigration/services/n/serviceTasks/t/x/y").is_none());
    }
}
