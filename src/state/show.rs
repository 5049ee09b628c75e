//! The human rendering of a resource instance in state, as `terraform show` and
//! `terraform state show` print it: arguments and attributes aligned, nested blocks
//! (`driver_share`) as blocks, absent (null) attributes left out, and secrets — whose
//! digests are all state keeps — shown as `(sensitive value)`. Pure: no I/O.

use super::{ResourceState, Status};
use serde_json::Value;

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
    let name = r
        .address
        .split_once('.')
        .map(|(_, rest)| rest.split('[').next().unwrap_or(rest))
        .unwrap_or("");
    let mut out = format!(
        "# {}:{tainted}\nresource \"{}\" \"{name}\" {{\n",
        r.address, r.kind
    );
    out.push_str(&body(&r.attributes, r, "", INDENT));
    out.push_str("}\n");
    out
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
