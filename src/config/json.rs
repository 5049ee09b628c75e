//! Terraform's JSON representation of a configuration (the `configuration` member of a
//! JSON plan): every resource with its expressions, outputs and variables. An expression
//! is `{"constant_value": …}` when it evaluates without references and
//! `{"references": […]}` when it names other objects, as Terraform writes it; the expressions of secret arguments (`password`,
//! `sas_uri`) and the defaults of sensitive variables are never written. Pure: no I/O.

use super::eval::eval_constant;
use super::model::{Config, DriverShare, Expr};
use super::refs::{Reference, references, secret_variables, secrets_read_the_iterator};
use hcl::edit::expr::{Expression, TraversalOperator};
use serde_json::{Map, Value, json};

/// Arguments whose values are secrets.
const SECRET_ARGS: &[&str] = &["password", "sas_uri"];

/// The `configuration` object of a JSON plan.
pub fn configuration_json(cfg: &Config, provider_name: &str) -> Value {
    let secret_fed = secret_variables(cfg);
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
            // When the secrets read each or count, the iterated value carries them.
            let carries_secrets = secrets_read_the_iterator(r);
            if let Some(c) = &r.count {
                v["count_expression"] = expression(c, carries_secrets);
            }
            if let Some(f) = &r.for_each {
                v["for_each_expression"] = expression(f, carries_secrets);
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
            let secret = var.sensitive || secret_fed.contains(&var.name);
            if let Some(d) = var.default.as_ref().filter(|_| !secret)
                && let Some(j) = d.to_json()
            {
                v["default"] = j;
            }
            if let Some(d) = &var.description {
                v["description"] = json!(d);
            }
            if secret {
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
        for name in reference_strings(&r) {
            if !refs.contains(&name) {
                refs.push(name);
            }
        }
    }
    if !refs.is_empty() {
        return json!({ "references": refs });
    }
    if secret {
        return json!({});
    }
    match eval_constant(&e.expr).ok().and_then(|v| v.to_json()) {
        Some(v) => json!({ "constant_value": v }),
        None => json!({}),
    }
}

/// A reference as Terraform's JSON configuration lists it: the referenced object with the
/// rest of its (literal) traversal, each shorter prefix down to the object itself, and for
/// a resource instance the resource: `dms_x.a["k"].output[0]`, `dms_x.a["k"].output`,
/// `dms_x.a["k"]`, `dms_x.a`. A `var.x`, `local.y`, `each.key` or `count.index` is listed
/// alone.
fn reference_strings(r: &Reference<'_>) -> Vec<String> {
    let root = r.root_name();
    let ops: Vec<&TraversalOperator> = match r.node {
        Expression::Traversal(t) => t.operators.iter().map(|o| o.value()).collect(),
        _ => Vec::new(),
    };
    // Literal steps only: a splat or a computed index ends what can be named.
    let mut steps: Vec<String> = Vec::new();
    for op in &ops {
        match op {
            TraversalOperator::GetAttr(a) => steps.push(format!(".{}", a.as_str())),
            TraversalOperator::LegacyIndex(n) => steps.push(format!("[{}]", n.value())),
            TraversalOperator::Index(Expression::Number(n)) => {
                steps.push(format!("[{}]", n.value()))
            }
            TraversalOperator::Index(Expression::String(s)) => steps.push(format!(
                "[{}]",
                serde_json::to_string(s.value().as_str()).unwrap_or_default()
            )),
            _ => break,
        }
    }
    let (subject_len, resource) = match root {
        "var" | "local" | "each" | "count" | "path" | "self" => (1, false),
        "data" => (2, true),
        _ => (1, true),
    };
    if steps.len() < subject_len {
        return vec![format!("{root}{}", steps.concat())];
    }
    let mut subject = format!("{root}{}", steps[..subject_len].concat());
    let containing = subject.clone();
    let mut rest = &steps[subject_len..];
    let keyed = resource && rest.first().is_some_and(|s| s.starts_with('['));
    if keyed {
        subject.push_str(&rest[0]);
        rest = &rest[1..];
    }
    let mut out: Vec<String> = (1..=rest.len())
        .rev()
        .map(|k| format!("{subject}{}", rest[..k].concat()))
        .collect();
    out.push(subject);
    if keyed {
        out.push(containing);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LoadOptions, load_files};
    use std::path::Path;

    fn config_of(src: &str) -> Config {
        let (cfg, diags) = load_files(
            Path::new("."),
            vec![("main.hcl".into(), src.as_bytes().to_vec())],
            &LoadOptions::default(),
        );
        assert!(!diags.has_errors(), "{diags:?}");
        cfg
    }

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
        let cfg = config_of(src);
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
            json!([
                "dms_oci_driver_upload.driver.output[0].driver_package_name",
                "dms_oci_driver_upload.driver.output[0]",
                "dms_oci_driver_upload.driver.output",
                "dms_oci_driver_upload.driver"
            ])
        );
        assert_eq!(
            install["expressions"]["task_name"]["references"],
            json!(["count.index"])
        );
        assert_eq!(
            install["expressions"]["service_name"]["references"],
            json!(["var.svc"])
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
            "dms_oci_driver_upload.driver.output[0].driver_package_name"
        );
    }

    #[test]
    fn secrets_carried_by_for_each_or_an_unmarked_variable_are_left_out() {
        let src = r#"
variable "share_pw" {
  type    = string
  default = "Unmarked-Pw-123"
}
locals {
  pw = var.share_pw
}
resource "dms_oci_driver_upload" "a" {
  for_each     = { b = "LeakyPw456" }
  group_name   = "rg"
  service_name = each.key
  task_name    = "upload"
  driver_share {
    path     = "\\\\fs\\drivers"
    password = each.value
  }
}
resource "dms_oci_driver_upload" "c" {
  group_name   = "rg"
  service_name = "dms1"
  task_name    = "upload"
  driver_share {
    path     = "\\\\fs\\drivers"
    password = local.pw
  }
}
resource "dms_oci_driver_install" "i" {
  for_each            = dms_oci_driver_upload.a
  group_name          = "rg"
  service_name        = each.key
  task_name           = "install"
  driver_package_name = dms_oci_driver_upload.a[each.key].output[0].driver_package_name
}
output "one" {
  value = dms_oci_driver_upload.a["b"].output[0].driver_package_name
}
"#;
        let cfg = config_of(src);
        assert_eq!(
            crate::config::refs::secret_variables(&cfg),
            ["share_pw".to_string()].into_iter().collect()
        );
        let j = configuration_json(&cfg, "p");
        let text = j.to_string();
        assert!(!text.contains("LeakyPw456"), "{text}");
        assert!(!text.contains("Unmarked-Pw-123"), "{text}");
        assert_eq!(
            j["root_module"]["variables"]["share_pw"],
            json!({"sensitive": true})
        );
        let res = j["root_module"]["resources"].as_array().expect("resources");
        let install = res
            .iter()
            .find(|r| r["address"] == "dms_oci_driver_install.i")
            .expect("install");
        assert_eq!(
            install["expressions"]["driver_package_name"]["references"],
            json!(["dms_oci_driver_upload.a", "each.key"])
        );
        assert_eq!(
            j["root_module"]["outputs"]["one"]["expression"]["references"],
            json!([
                "dms_oci_driver_upload.a[\"b\"].output[0].driver_package_name",
                "dms_oci_driver_upload.a[\"b\"].output[0]",
                "dms_oci_driver_upload.a[\"b\"].output",
                "dms_oci_driver_upload.a[\"b\"]",
                "dms_oci_driver_upload.a"
            ])
        );
    }
}
