//! Terraform's JSON representation of a configuration (the `configuration` member of a
//! JSON plan): every resource with its expressions, outputs and variables. An expression
//! is `{"constant_value": …}` when it is a literal and `{"references": […]}` when it names
//! other objects, as Terraform writes it; the expressions of secret arguments (`password`,
//! `sas_uri`) and the defaults of sensitive variables are never written. Pure: no I/O.

use super::model::{Config, DriverShare, Expr};
use super::refs::references;
use hcl::edit::expr::{Expression, ObjectKey};
use serde_json::{Map, Value, json};

/// Arguments whose values are secrets.
const SECRET_ARGS: &[&str] = &["password", "sas_uri"];

/// The `configuration` object of a JSON plan.
pub fn configuration_json(cfg: &Config, provider_name: &str) -> Value {
    let resources: Vec<Value> = cfg
        .resources
        .values()
        .map(|r| {
            let mut expressions: Map<String, Value> = r
                .args
                .iter()
                .map(|(k, e)| (k.clone(), expression(e, SECRET_ARGS.contains(&k.as_str()))))
                .collect();
            match &r.driver_share {
                Some(DriverShare::File { args, .. }) => {
                    let block: Map<String, Value> = args
                        .iter()
                        .map(|(k, e)| (k.clone(), expression(e, SECRET_ARGS.contains(&k.as_str()))))
                        .collect();
                    expressions.insert("driver_share".into(), json!([block]));
                }
                Some(DriverShare::Blob { sas_uri, .. }) => {
                    expressions.insert(
                        "driver_share".into(),
                        json!([{ "sas_uri": expression(sas_uri, true) }]),
                    );
                }
                None => {}
            }
            let mut v = json!({
                "address": r.addr.to_string(),
                "mode": "managed",
                "type": r.addr.resource_type,
                "name": r.addr.name,
                "provider_config_key": "dms",
                "expressions": expressions,
                "schema_version": 0,
            });
            if let Some(c) = &r.count {
                v["count_expression"] = expression(c, false);
            }
            if let Some(f) = &r.for_each {
                v["for_each_expression"] = expression(f, false);
            }
            if !r.depends_on.is_empty() {
                v["depends_on"] = json!(
                    r.depends_on
                        .iter()
                        .map(|(a, _)| a.to_string())
                        .collect::<Vec<_>>()
                );
            }
            v
        })
        .collect();
    let outputs: Map<String, Value> = cfg
        .outputs
        .values()
        .map(|o| {
            let mut v = json!({ "expression": expression(&o.value, o.sensitive) });
            if o.sensitive {
                v["sensitive"] = json!(true);
            }
            if let Some(d) = &o.description {
                v["description"] = json!(d);
            }
            if !o.depends_on.is_empty() {
                v["depends_on"] = json!(
                    o.depends_on
                        .iter()
                        .map(|(a, _)| a.to_string())
                        .collect::<Vec<_>>()
                );
            }
            (o.name.clone(), v)
        })
        .collect();
    let variables: Map<String, Value> = cfg
        .variables
        .values()
        .map(|var| {
            let mut v = json!({});
            if let Some(d) = var.default.as_ref().filter(|_| !var.sensitive)
                && let Some(j) = d.to_json()
            {
                v["default"] = j;
            }
            if let Some(d) = &var.description {
                v["description"] = json!(d);
            }
            if var.sensitive {
                v["sensitive"] = json!(true);
            }
            (var.name.clone(), v)
        })
        .collect();
    json!({
        "provider_config": { "dms": { "name": "dms", "full_name": provider_name } },
        "root_module": {
            "outputs": outputs,
            "resources": resources,
            "variables": variables,
        },
    })
}

/// One expression: what it references, or its literal value (not for secrets).
fn expression(e: &Expr, secret: bool) -> Value {
    let mut refs: Vec<String> = Vec::new();
    for r in references(&e.expr) {
        let root = r.root_name();
        let name = match (root, r.attr()) {
            ("", _) => continue,
            (root, Some(attr)) => format!("{root}.{attr}"),
            (root, None) => root.to_string(),
        };
        // Terraform lists the longer reference and its prefix: `var.x` and `var`.
        if !refs.contains(&name) {
            refs.push(name.clone());
        }
        if name.contains('.') && !refs.iter().any(|x| x == root) {
            refs.push(root.to_string());
        }
    }
    if !refs.is_empty() {
        return json!({ "references": refs });
    }
    match constant(&e.expr) {
        Some(v) if !secret => json!({ "constant_value": v }),
        _ => json!({}),
    }
}

/// The value of a literal expression (no references, no function calls).
fn constant(e: &Expression) -> Option<Value> {
    Some(match e {
        Expression::Null(_) => Value::Null,
        Expression::Bool(b) => json!(*b.value()),
        Expression::Number(n) => serde_json::to_value(n.value()).ok()?,
        Expression::String(s) => json!(s.value()),
        Expression::Array(a) => Value::Array(a.iter().map(constant).collect::<Option<_>>()?),
        Expression::Object(o) => {
            let mut m = Map::new();
            for (k, v) in o.iter() {
                let key = match k {
                    ObjectKey::Ident(i) => i.as_str().to_string(),
                    ObjectKey::Expression(Expression::String(s)) => s.value().to_string(),
                    ObjectKey::Expression(_) => return None,
                };
                m.insert(key, constant(v.expr())?);
            }
            Value::Object(m)
        }
        Expression::Parenthesis(p) => constant(p.inner())?,
        Expression::StringTemplate(t) => {
            let mut s = String::new();
            for el in t.iter() {
                match el {
                    hcl::edit::template::Element::Literal(l) => s.push_str(l.value()),
                    _ => return None,
                }
            }
            json!(s)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LoadOptions, load_files};
    use std::path::Path;

    #[test]
    fn resources_outputs_and_variables_as_terraform_writes_them() {
        let src = r#"
variable "pw" {
  type      = string
  sensitive = true
  default   = "hunter2-secret"
}
variable "svc" {
  type        = string
  default     = "dms1"
  description = "The service."
}
resource "dms_oci_driver_upload" "driver" {
  group_name   = "rg"
  service_name = var.svc
  task_name    = "upload"
  driver_share {
    path     = "\\\\fs\\drivers"
    password = "literal-secret"
  }
}
resource "dms_oci_driver_install" "driver" {
  count               = 2
  group_name          = "rg"
  service_name        = var.svc
  task_name           = "install${count.index}"
  driver_package_name = dms_oci_driver_upload.driver.output[0].driver_package_name
  depends_on          = [dms_oci_driver_upload.driver]
}
output "pkg" {
  value = dms_oci_driver_upload.driver.output[0].driver_package_name
}
"#;
        let (cfg, diags) = load_files(
            Path::new("."),
            vec![("main.hcl".into(), src.as_bytes().to_vec())],
            &LoadOptions::default(),
        );
        assert!(!diags.has_errors(), "{diags:?}");
        let j = configuration_json(&cfg, "registry.dmsform.io/dmsform/dms");
        let text = j.to_string();
        assert!(
            !text.contains("hunter2-secret") && !text.contains("literal-secret"),
            "{text}"
        );
        let res = j["root_module"]["resources"].as_array().expect("resources");
        let install = res
            .iter()
            .find(|r| r["address"] == "dms_oci_driver_install.driver")
            .expect("install");
        assert_eq!(install["count_expression"], json!({"constant_value": 2}));
        assert_eq!(
            install["expressions"]["driver_package_name"]["references"],
            json!(["dms_oci_driver_upload.driver", "dms_oci_driver_upload"])
        );
        assert_eq!(
            install["expressions"]["task_name"]["references"],
            json!(["count.index", "count"])
        );
        assert_eq!(
            install["depends_on"],
            json!(["dms_oci_driver_upload.driver"])
        );
        let upload = res
            .iter()
            .find(|r| r["address"] == "dms_oci_driver_upload.driver")
            .expect("upload");
        assert_eq!(
            upload["expressions"]["driver_share"][0]["path"]["constant_value"],
            "\\\\fs\\drivers"
        );
        assert_eq!(
            upload["expressions"]["driver_share"][0]["password"],
            json!({})
        );
        assert_eq!(
            upload["expressions"]["group_name"],
            json!({"constant_value": "rg"})
        );
        let vars = &j["root_module"]["variables"];
        assert_eq!(vars["svc"]["default"], "dms1");
        assert_eq!(vars["pw"], json!({"sensitive": true}));
        assert_eq!(
            j["root_module"]["outputs"]["pkg"]["expression"]["references"][0],
            "dms_oci_driver_upload.driver"
        );
    }
}
