//! From an evaluated configuration instance to what the diff compares: arguments as JSON
//! with unknown and sensitive masks, secrets pulled out, and the task's ARM id.

use super::diff::{Desired, secret_paths};
use crate::config::expand::ResourceInstance;
use crate::value::Value;
use serde_json::{Map, Value as Json, json};
use std::collections::BTreeMap;

/// A value as (known JSON with unknown leaves null, unknown mask, sensitive mask).
pub fn split_masks(v: &Value) -> (Json, Json, Json) {
    match v {
        Value::Unknown => (Json::Null, json!(true), Json::Null),
        Value::Sensitive(inner) => {
            let (j, u, _) = split_masks(inner);
            (j, u, json!(true))
        }
        Value::Map(m) => {
            let (mut j, mut u, mut s) = (Map::new(), Map::new(), Map::new());
            for (k, item) in m {
                let (jj, uu, ss) = split_masks(item);
                j.insert(k.clone(), jj);
                if !uu.is_null() {
                    u.insert(k.clone(), uu);
                }
                if !ss.is_null() {
                    s.insert(k.clone(), ss);
                }
            }
            (Json::Object(j), mask(u), mask(s))
        }
        Value::List(items) | Value::Set(items) => {
            let parts: Vec<(Json, Json, Json)> = items.iter().map(split_masks).collect();
            let any_u = parts.iter().any(|p| !p.1.is_null());
            let any_s = parts.iter().any(|p| !p.2.is_null());
            let j = Json::Array(parts.iter().map(|p| p.0.clone()).collect());
            let u = if any_u {
                Json::Array(parts.iter().map(|p| or_false(&p.1)).collect())
            } else {
                Json::Null
            };
            let s = if any_s {
                Json::Array(parts.iter().map(|p| or_false(&p.2)).collect())
            } else {
                Json::Null
            };
            (j, u, s)
        }
        other => (
            other.to_json().unwrap_or(Json::Null),
            Json::Null,
            Json::Null,
        ),
    }
}

fn mask(m: Map<String, Json>) -> Json {
    if m.is_empty() {
        Json::Null
    } else {
        Json::Object(m)
    }
}

fn or_false(v: &Json) -> Json {
    if v.is_null() { json!(false) } else { v.clone() }
}

fn get_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for seg in path.split('.') {
        cur = match cur.unmarked().0 {
            Value::Map(m) => m.get(seg)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// The ARM id of a task of `kind` with these arguments, when its identity is known.
pub fn task_id(subscription: &str, args: &Value) -> Option<String> {
    let get = |k: &str| get_path(args, k).and_then(|v| v.unmarked().0.as_str().map(str::to_string));
    Some(format!(
        "/subscriptions/{subscription}/resourceGroups/{}/providers/Microsoft.DataMigration/services/{}/serviceTasks/{}",
        get("group_name")?,
        get("service_name")?,
        get("task_name")?
    ))
}

/// Converts an evaluated instance into the diff's input.
pub fn desired(
    inst: &ResourceInstance,
    subscription: &str,
    triggered_by: Option<String>,
) -> Desired {
    let kind = inst.kind.type_name().to_string();
    let mut secrets = BTreeMap::new();
    for p in secret_paths(&kind) {
        match get_path(&inst.args, p).map(|v| v.unmarked().0) {
            Some(Value::Unknown) => {
                secrets.insert(p.to_string(), None);
            }
            Some(Value::String(s)) => {
                secrets.insert(p.to_string(), Some(s.clone()));
            }
            _ => {}
        }
    }
    let (mut args, unknown, _) = split_masks(&inst.args);
    for p in secret_paths(&kind) {
        let mut parts = p.split('.');
        if let (Some(block), Some(leaf)) = (parts.next(), parts.next())
            && let Some(obj) = args.get_mut(block).and_then(Json::as_object_mut)
            && obj.contains_key(leaf)
        {
            obj.insert(leaf.into(), Json::Null);
        }
    }
    // Drop unset optional arguments so state and plans stay compact.
    if let Json::Object(m) = &mut args {
        m.retain(|k, v| {
            !v.is_null()
                || unknown.get(k).is_some()
                || secret_paths(&kind)
                    .iter()
                    .any(|p| p.starts_with(k.as_str()))
        });
    }
    let name = inst.addr.name.clone();
    let index = inst.addr.key.as_ref().map(|k| match k {
        crate::addr::InstanceKey::Int(i) => json!(i),
        crate::addr::InstanceKey::Str(s) => json!(s),
    });
    Desired {
        address: inst.addr.to_string(),
        kind,
        name,
        index,
        id: task_id(subscription, &inst.args),
        args,
        unknown: if unknown.is_null() {
            json!({})
        } else {
            unknown
        },
        secrets,
        prevent_destroy: inst.lifecycle.prevent_destroy,
        ignore_changes: inst.lifecycle.ignore_changes.clone(),
        triggered_by,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_follow_the_value() {
        let v = Value::map([
            ("a", Value::string("x")),
            ("b", Value::Unknown),
            (
                "c",
                Value::map([
                    ("p", Value::string("pw").mark_sensitive()),
                    ("q", Value::Null),
                ]),
            ),
            ("l", Value::List(vec![Value::Unknown, Value::string("k")])),
        ]);
        let (j, u, s) = split_masks(&v);
        assert_eq!(
            j,
            json!({"a": "x", "b": null, "c": {"p": "pw", "q": null}, "l": [null, "k"]})
        );
        assert_eq!(u, json!({"b": true, "l": [true, false]}));
        assert_eq!(s, json!({"c": {"p": true}}));
    }

    #[test]
    fn ids_need_the_whole_identity() {
        let args = Value::map([
            ("group_name", Value::string("g")),
            ("service_name", Value::string("s")),
            ("task_name", Value::string("t")),
        ]);
        assert_eq!(
            task_id("sub", &args).as_deref(),
            Some(
                "/subscriptions/sub/resourceGroups/g/providers/Microsoft.DataMigration/services/s/serviceTasks/t"
            )
        );
        let partial = Value::map([
            ("group_name", Value::string("g")),
            ("service_name", Value::Unknown),
            ("task_name", Value::string("t")),
        ]);
        assert_eq!(task_id("sub", &partial), None);
    }
}
