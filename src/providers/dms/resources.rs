//! The three resource types on the wire: build a task request from a resource's
//! arguments (snake_case, as in HCL), read a task back into its computed attributes, and
//! compare a remote task's input with the configuration.

use super::models::{ProjectTask, TaskRequest, TaskType};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The `taskType` of a resource type.
pub fn task_type(kind: &str) -> Option<TaskType> {
    Some(match kind {
        "dms_oci_driver_check" => TaskType::CheckOci,
        "dms_oci_driver_upload" => TaskType::UploadOci,
        "dms_oci_driver_install" => TaskType::InstallOci,
        _ => return None,
    })
}

fn camel(s: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for c in s.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn snake(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Renames every object key from camelCase to snake_case, recursively.
pub fn snake_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (snake(&k), snake_keys(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(snake_keys).collect()),
        other => other,
    }
}

fn str_at<'a>(args: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(args, |v, k| v.get(*k))
        .and_then(Value::as_str)
}

/// The PUT body for a resource: its input arguments, secrets filled in from `secrets`
/// (dotted path → value), and `client_data`.
pub fn request_for(
    kind: &str,
    args: &Value,
    secrets: &BTreeMap<String, String>,
) -> Result<TaskRequest, String> {
    let tt = task_type(kind).ok_or_else(|| format!("unknown resource type {kind}"))?;
    let mut input = Map::new();
    match tt {
        TaskType::CheckOci => {
            if let Some(v) = str_at(args, &["server_version"]) {
                input.insert("serverVersion".into(), json!(v));
            }
        }
        TaskType::UploadOci => {
            let mut share = Map::new();
            for field in ["path", "user_name"] {
                if let Some(v) = str_at(args, &["driver_share", field]) {
                    share.insert(camel(field), json!(v));
                }
            }
            for field in ["password", "sas_uri"] {
                if let Some(v) = secrets.get(&format!("driver_share.{field}")) {
                    share.insert(camel(field), json!(v));
                }
            }
            input.insert("driverShare".into(), Value::Object(share));
        }
        TaskType::InstallOci => {
            if let Some(v) = str_at(args, &["driver_package_name"]) {
                input.insert("driverPackageName".into(), json!(v));
            }
        }
        TaskType::Other(_) => {}
    }
    let client_data: Option<BTreeMap<String, String>> =
        args.get("client_data").and_then(Value::as_object).map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        });
    Ok(TaskRequest {
        task_type: tt.as_str().to_string(),
        input: Some(Value::Object(input)),
        client_data,
    })
}

/// The computed attributes of a task read with `$expand=output`: `state`, `errors`,
/// `output` (snake_case, as configurations reference them).
pub fn computed_attrs(task: &ProjectTask) -> Value {
    let errors = serde_json::to_value(&task.properties.errors).unwrap_or(json!([]));
    let output = Value::Array(task.properties.details.output_json());
    json!({
        "state": task.state().as_str(),
        "errors": snake_keys(errors),
        "output": snake_keys(output),
    })
}

/// Whether the remote task runs the same non-secret input as the arguments (secrets come
/// back masked and cannot be compared).
pub fn input_matches(kind: &str, args: &Value, task: &ProjectTask) -> bool {
    let Some(tt) = task_type(kind) else {
        return false;
    };
    if task.task_type() != tt {
        return false;
    }
    let remote = task
        .properties
        .details
        .input_json()
        .map(snake_keys)
        .unwrap_or(json!({}));
    let same = |path: &[&str]| str_at(args, path) == str_at(&remote, path);
    match tt {
        TaskType::CheckOci => same(&["server_version"]),
        TaskType::UploadOci => {
            same(&["driver_share", "path"]) && same(&["driver_share", "user_name"])
        }
        TaskType::InstallOci => same(&["driver_package_name"]),
        TaskType::Other(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_requests_with_secrets_and_client_data() {
        let args = json!({"driver_share": {"path": "\\\\h\\s", "user_name": "u", "password": null}, "client_data": {"a": "b"}});
        let secrets = BTreeMap::from([("driver_share.password".to_string(), "pw".to_string())]);
        let r = request_for("dms_oci_driver_upload", &args, &secrets).unwrap();
        assert_eq!(r.task_type, "Service.Upload.OCI");
        assert_eq!(
            r.input.unwrap(),
            json!({"driverShare": {"path": "\\\\h\\s", "userName": "u", "password": "pw"}})
        );
        assert_eq!(
            r.client_data.unwrap().get("a").map(String::as_str),
            Some("b")
        );
        let c = request_for(
            "dms_oci_driver_check",
            &json!({"server_version": "19.0"}),
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(c.input.unwrap(), json!({"serverVersion": "19.0"}));
        assert!(request_for("nope", &json!({}), &BTreeMap::new()).is_err());
    }

    #[test]
    fn reads_computed_attributes_in_snake_case() {
        let task: ProjectTask = serde_json::from_value(json!({
            "properties": {"taskType": "Service.Upload.OCI", "state": "Succeeded",
                "input": {"driverShare": {"path": "p", "userName": "u", "password": "masked"}},
                "output": [{"driverPackageName": "x.zip", "validationErrors": [{"message": "m", "actionableMessage": "a", "hResult": 1}]}]}
        }))
        .unwrap();
        let c = computed_attrs(&task);
        assert_eq!(c["state"], "Succeeded");
        assert_eq!(c["output"][0]["driver_package_name"], "x.zip");
        assert_eq!(
            c["output"][0]["validation_errors"][0]["actionable_message"],
            "a"
        );
        assert!(input_matches(
            "dms_oci_driver_upload",
            &json!({"driver_share": {"path": "p", "user_name": "u"}}),
            &task
        ));
        assert!(!input_matches(
            "dms_oci_driver_upload",
            &json!({"driver_share": {"path": "q", "user_name": "u"}}),
            &task
        ));
        assert!(!input_matches("dms_oci_driver_check", &json!({}), &task));
    }
}
