//! How state is shown: the human rendering of a resource instance, as `terraform show`
//! and `terraform state show` print it (arguments and attributes aligned, nested blocks
//! such as `driver_share` as blocks, absent (null) attributes left out, and secrets — whose
//! digests are all state keeps — shown as `(sensitive value)`), and Terraform's JSON state
//! representation (`show -json`, a plan's `prior_state`). Pure: no I/O.

use super::{ResourceState, State, Status};
use crate::addr::{InstanceKey, ResourceAddr};
use serde_json::{Value, json};

/// Attributes that are nested blocks in the configuration language.
const BLOCKS: &[&str] = &["driver_share"];
/// Attributes whose values are maps with user-chosen keys (quoted, as Terraform does).
const MAPS: &[&str] = &["client_data"];
const INDENT: usize = 4;

/// `# ADDRESS:` and the `resource "TYPE" "NAME" { … }` block of one instance.
pub fn render_resource(r: &ResourceState) -> String {
    let tainted = if r.status == Status::Tainted {
        " (tainted)"
    } else {
        ""
    };
    let name = instance(&r.address).map(|a| a.name).unwrap_or_default();
    let mut out = format!(
        "# {}:{tainted}\nresource \"{}\" \"{name}\" {{\n",
        r.address, r.kind
    );
    out.push_str(&body(&r.attributes, r, "", INDENT));
    out.push_str("}\n");
    out
}

/// Terraform's JSON state representation: `values.outputs` and
/// `values.root_module.resources[]` with `sensitive_values` marking the secrets (whose
/// values are never stored). Sensitive outputs carry no value.
pub fn state_json(state: &State) -> Value {
    let resources: Vec<Value> = state
        .resources
        .iter()
        .map(|r| {
            let addr = instance(&r.address);
            let name = addr.as_ref().map(|a| a.name.clone()).unwrap_or_default();
            let index = addr.and_then(|a| a.key).map(|k| match k {
                InstanceKey::Int(i) => json!(i),
                InstanceKey::Str(s) => json!(s),
            });
            let mut v = json!({
                "address": r.address, "mode": "managed", "type": r.kind, "name": name,
                "provider_name": crate::plan::render_json::PROVIDER_NAME, "schema_version": 0,
                "values": r.attributes,
                "sensitive_values": crate::secret::sensitive_mask(r.sensitive_digests.keys().map(String::as_str)),
                "depends_on": r.dependencies,
            });
            if let Some(i) = index {
                v["index"] = i;
            }
            if r.status == Status::Tainted {
                v["tainted"] = json!(true);
            }
            v
        })
        .collect();
    let outputs: serde_json::Map<String, Value> = state
        .outputs
        .iter()
        .map(|(k, o)| {
            let mut v = json!({ "sensitive": o.sensitive });
            if !o.sensitive {
                v["value"] = o.value.clone();
            }
            (k.clone(), v)
        })
        .collect();
    json!({
        "format_version": "1.0",
        "dmsform_version": state.dmsform_version,
        "values": { "outputs": outputs, "root_module": { "resources": resources } },
    })
}

/// A state address parsed (state only holds addresses dmsform wrote).
fn instance(address: &str) -> Option<ResourceAddr> {
    address.parse().ok()
}

/// The attributes of an object at `path` (dotted, "" for the resource), then its blocks.
fn body(attrs: &Value, r: &ResourceState, path: &str, indent: usize) -> String {
    let Some(map) = attrs.as_object() else {
        return String::new();
    };
    let pad = " ".repeat(indent);
    let full = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    let secret = |k: &str| r.sensitive_digests.contains_key(&full(k));
    let attrs: Vec<(&String, &Value)> = map
        .iter()
        .filter(|(k, v)| {
            !(path.is_empty() && BLOCKS.contains(&k.as_str())) && (!v.is_null() || secret(k))
        })
        .collect();
    let width = attrs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in &attrs {
        let shown = if secret(k) {
            "(sensitive value)".to_string()
        } else {
            value(v, indent, MAPS.contains(&k.as_str()))
        };
        out.push_str(&format!("{pad}{k:width$} = {shown}\n"));
    }
    if path.is_empty() {
        for block in BLOCKS {
            if let Some(inner) = map.get(*block).filter(|v| v.is_object()) {
                out.push_str(&format!("\n{pad}{block} {{\n"));
                out.push_str(&body(inner, r, block, indent + INDENT));
                out.push_str(&format!("{pad}}}\n"));
            }
        }
    }
    out
}

/// A value in HCL syntax, nested collections indented one level past `indent`.
fn value(v: &Value, indent: usize, quote_keys: bool) -> String {
    let pad = " ".repeat(indent);
    let inner = " ".repeat(indent + INDENT);
    match v {
        Value::Array(a) if !a.is_empty() => {
            let items: String = a
                .iter()
                .map(|x| format!("{inner}{},\n", value(x, indent + INDENT, false)))
                .collect();
            format!("[\n{items}{pad}]")
        }
        Value::Object(m) if !m.is_empty() => {
            let key = |k: &str| {
                if quote_keys || !is_identifier(k) {
                    serde_json::to_string(k).unwrap_or_default()
                } else {
                    k.to_string()
                }
            };
            let width = m.keys().map(|k| key(k).len()).max().unwrap_or(0);
            let items: String = m
                .iter()
                .map(|(k, x)| {
                    format!(
                        "{inner}{:width$} = {}\n",
                        key(k),
                        value(x, indent + INDENT, false)
                    )
                })
                .collect();
            format!("{{\n{items}{pad}}}")
        }
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
        other => other.to_string(),
    }
}

fn is_identifier(k: &str) -> bool {
    let mut chars = k.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[test]
    fn renders_like_terraform_show() {
        let r = ResourceState {
            address: "dms_oci_driver_upload.driver[\"dms1\"]".into(),
            kind: "dms_oci_driver_upload".into(),
            id: "/x".into(),
            status: Status::Tainted,
            pending: None,
            attributes: json!({
                "group_name": "rg",
                "client_data": {"owner": "ops"},
                "driver_share": {"path": "\\\\h\\s", "user_name": "u", "password": null, "sas_uri": null},
                "output": [{"driver_package_name": "x.zip", "validation_errors": []}],
                "errors": [],
            }),
            sensitive_digests: BTreeMap::from([(
                "driver_share.password".to_string(),
                "pbkdf2-sha256$1$s$d".to_string(),
            )]),
            dependencies: vec![],
        };
        let want = r#"# dms_oci_driver_upload.driver["dms1"]: (tainted)
resource "dms_oci_driver_upload" "driver" {
    client_data = {
        "owner" = "ops"
    }
    errors      = []
    group_name  = "rg"
    output      = [
        {
            driver_package_name = "x.zip"
            validation_errors   = []
        },
    ]

    driver_share {
        password  = (sensitive value)
        path      = "\\\\h\\s"
        user_name = "u"
    }
}
"#;
        assert_eq!(render_resource(&r), want);
    }
}
