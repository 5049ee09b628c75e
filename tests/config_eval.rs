//! Loading and evaluating whole configurations: variable precedence, unknown values,
//! sensitivity, count/for_each expansion, dependencies, outputs and postconditions.

use dmsform::addr::ResourceAddr;
use dmsform::config::{Config, Evaluator, LoadOptions, Mode, NoState, VarArg, load};
use dmsform::value::Value;
use std::collections::BTreeMap;
use std::path::Path;

const IDENT: &str = r#"group_name = "rg"
  service_name = "svc"
"#;

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

fn load_ok(dir: &Path, opts: &LoadOptions) -> Config {
    match load(dir, opts) {
        Ok((cfg, _)) => cfg,
        Err(f) => panic!("load failed:\n{}", f.sources.render(&f.diagnostics, false)),
    }
}

fn load_err(dir: &Path, opts: &LoadOptions) -> String {
    match load(dir, opts) {
        Ok(_) => panic!("load should fail"),
        Err(f) => f.sources.render(&f.diagnostics, false),
    }
}

fn addr(s: &str) -> ResourceAddr {
    s.parse().expect("address")
}

#[test]
fn variable_precedence_follows_terraform() {
    let main = r#"
variable "a" { default = "default" }
variable "b" { default = "default" }
variable "c" { default = "default" }
variable "d" { default = "default" }
variable "e" { default = "default" }
variable "f" { default = "default" }
"#;
    let dir = dir_with(&[
        ("main.hcl", main),
        (
            "dmsform.vars.hcl",
            "b = \"vars\"\nc = \"vars\"\nd = \"vars\"\ne = \"vars\"\nf = \"vars\"\n",
        ),
        (
            "a.auto.vars.hcl",
            "c = \"auto-a\"\nd = \"auto-a\"\ne = \"auto-a\"\nf = \"auto-a\"\n",
        ),
        (
            "b.auto.vars.hcl",
            "d = \"auto-b\"\ne = \"auto-b\"\nf = \"auto-b\"\n",
        ),
        ("x.vars.hcl", "e = \"file\"\nf = \"file\"\n"),
    ]);
    let env: BTreeMap<String, String> = [("DMSFORM_VAR_a", "env"), ("DMSFORM_VAR_b", "env")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let opts = LoadOptions {
        mode: Mode::Plan,
        vars: vec![
            VarArg::Var("f=cli-first".into()),
            VarArg::File("x.vars.hcl".into()),
            VarArg::Var("f=cli-last".into()),
        ],
        env,
    };
    let cfg = load_ok(dir.path(), &opts);
    let got = |n: &str| cfg.var_values[n].as_str().expect("string").to_string();
    assert_eq!(got("a"), "env");
    assert_eq!(got("b"), "vars");
    assert_eq!(got("c"), "auto-a");
    assert_eq!(got("d"), "auto-b");
    assert_eq!(got("e"), "file");
    assert_eq!(got("f"), "cli-last");
}

#[test]
fn raw_strings_for_primitives_and_expressions_for_complex_types() {
    let dir = dir_with(&[(
        "main.hcl",
        "variable \"n\" { type = number }\nvariable \"l\" { type = list(string) }\nvariable \"s\" { type = string }\n",
    )]);
    let opts = LoadOptions {
        vars: vec![
            VarArg::Var("n=42".into()),
            VarArg::Var(r#"l=["a", 1]"#.into()),
            VarArg::Var("s=[x]".into()),
        ],
        ..LoadOptions::default()
    };
    let cfg = load_ok(dir.path(), &opts);
    assert_eq!(cfg.var_values["n"], Value::Number(42.0));
    assert_eq!(
        cfg.var_values["l"],
        Value::List(vec![Value::string("a"), Value::string("1")])
    );
    assert_eq!(cfg.var_values["s"], Value::string("[x]"));
    let bad = LoadOptions {
        vars: vec![VarArg::Var("n=abc".into()), VarArg::Var("nope=1".into())],
        ..opts
    };
    let text = load_err(dir.path(), &bad);
    assert!(text.contains("not suitable for var.n"), "{text}");
    assert!(text.contains("a number is required"), "{text}");
    assert!(
        text.contains("A variable named \"nope\" was assigned on the command line"),
        "{text}"
    );
}

#[test]
fn missing_required_variable_is_an_error_in_plan_and_unknown_in_validate() {
    let dir = dir_with(&[("main.hcl", "variable \"x\" { type = string }\n")]);
    let text = load_err(dir.path(), &LoadOptions::default());
    assert!(text.contains("No value for required variable"), "{text}");
    assert!(text.contains("on main.hcl line 1"), "{text}");
    let cfg = load_ok(
        dir.path(),
        &LoadOptions {
            mode: Mode::Validate,
            ..LoadOptions::default()
        },
    );
    assert_eq!(cfg.var_values["x"], Value::Unknown);
}

#[test]
fn validation_blocks_run_against_the_value() {
    let main = r#"
variable "n" {
  type = number
  validation {
    condition     = var.n > 0
    error_message = "Must be positive."
  }
}
"#;
    let dir = dir_with(&[("main.hcl", main)]);
    let opts = |v: &str| LoadOptions {
        vars: vec![VarArg::Var(format!("n={v}"))],
        ..LoadOptions::default()
    };
    load_ok(dir.path(), &opts("3"));
    let text = load_err(dir.path(), &opts("-1"));
    assert!(text.contains("Error: Invalid value for variable"), "{text}");
    assert!(text.contains("Must be positive."), "{text}");
}

const RESOURCES: &str = r#"
variable "services" {
  type    = set(string)
  default = ["a", "b"]
}
variable "secret" {
  type      = string
  sensitive = true
  default   = "hunter2"
}
locals {
  upload_ref = dms_oci_driver_upload.up
}
resource "dms_oci_driver_check" "chk" {
  count        = 2
  group_name   = "rg"
  service_name = "svc${count.index}"
  task_name    = "check"
}
resource "dms_oci_driver_upload" "up" {
  for_each     = var.services
  group_name   = "rg"
  service_name = each.key
  task_name    = "upload"
  client_data  = { note = upper(var.secret) }
  driver_share {
    path      = "\\\\host\\share\\x.zip"
    user_name = "u"
    password  = var.secret
  }
  depends_on = [dms_oci_driver_check.chk]
}
resource "dms_oci_driver_install" "inst" {
  for_each            = var.services
  group_name          = "rg"
  service_name        = each.key
  task_name           = "install-${each.value}"
  driver_package_name = local.upload_ref[each.key].output[0].driver_package_name
  postcondition {
    condition     = self.state == "Succeeded"
    error_message = "Install of ${each.key} ended ${self.state}."
  }
}
output "names" {
  value = [for k, u in dms_oci_driver_upload.up : u.service_name]
}
output "ids" {
  value = dms_oci_driver_upload.up["a"].id
}
"#;

#[test]
fn expansion_gives_instance_addresses() {
    let dir = dir_with(&[("main.hcl", RESOURCES)]);
    let cfg = load_ok(dir.path(), &LoadOptions::default());
    let ev = Evaluator::new(&cfg, &NoState, Mode::Plan);
    let (insts, diags) = ev.instances();
    assert!(!diags.has_errors(), "{}", cfg.sources.render(&diags, false));
    let addrs: Vec<String> = insts.iter().map(|i| i.addr.to_string()).collect();
    assert_eq!(
        addrs,
        [
            "dms_oci_driver_check.chk[0]",
            "dms_oci_driver_check.chk[1]",
            "dms_oci_driver_install.inst[\"a\"]",
            "dms_oci_driver_install.inst[\"b\"]",
            "dms_oci_driver_upload.up[\"a\"]",
            "dms_oci_driver_upload.up[\"b\"]",
        ]
    );
    assert_eq!(
        insts[1].args.get_attr("service_name"),
        Some(Value::string("svc1"))
    );
    assert_eq!(
        insts[3].args.get_attr("task_name"),
        Some(Value::string("install-b"))
    );
}

#[test]
fn dependencies_come_from_references_locals_and_depends_on() {
    let dir = dir_with(&[("main.hcl", RESOURCES)]);
    let cfg = load_ok(dir.path(), &LoadOptions::default());
    let ev = Evaluator::new(&cfg, &NoState, Mode::Plan);
    let (insts, _) = ev.instances();
    let deps = |a: &str| -> Vec<String> {
        insts
            .iter()
            .find(|i| i.addr.to_string() == a)
            .expect("instance")
            .depends_on
            .iter()
            .map(|d| d.to_string())
            .collect()
    };
    assert_eq!(
        deps("dms_oci_driver_install.inst[\"a\"]"),
        ["dms_oci_driver_upload.up"]
    );
    assert_eq!(
        deps("dms_oci_driver_upload.up[\"a\"]"),
        ["dms_oci_driver_check.chk"]
    );
    assert!(deps("dms_oci_driver_check.chk[0]").is_empty());
}

#[test]
fn attributes_known_after_apply_are_unknown_until_looked_up() {
    let dir = dir_with(&[("main.hcl", RESOURCES)]);
    let cfg = load_ok(dir.path(), &LoadOptions::default());
    let ev = Evaluator::new(&cfg, &NoState, Mode::Plan);
    let (insts, _) = ev.instances();
    let inst = insts
        .iter()
        .find(|i| i.addr == addr("dms_oci_driver_install.inst[\"a\"]"))
        .expect("instance");
    assert_eq!(
        inst.args.get_attr("driver_package_name"),
        Some(Value::Unknown)
    );
    let (outs, diags) = ev.outputs();
    assert!(!diags.has_errors(), "{}", cfg.sources.render(&diags, false));
    assert_eq!(outs["ids"].value, Value::Unknown);
    assert_eq!(
        outs["names"].value,
        Value::List(vec![Value::string("a"), Value::string("b")])
    );

    let mut known = BTreeMap::new();
    known.insert(
        addr("dms_oci_driver_upload.up[\"a\"]"),
        Value::from_json(&serde_json::json!({
            "id": "/x/a", "state": "Succeeded", "errors": [],
            "output": [{"driver_package_name": "pkg-a", "validation_errors": []}]
        })),
    );
    let ev = Evaluator::new(&cfg, &known, Mode::Plan);
    let (insts, _) = ev.instances();
    let a = insts
        .iter()
        .find(|i| i.addr == addr("dms_oci_driver_install.inst[\"a\"]"))
        .expect("a");
    let b = insts
        .iter()
        .find(|i| i.addr == addr("dms_oci_driver_install.inst[\"b\"]"))
        .expect("b");
    assert_eq!(
        a.args.get_attr("driver_package_name"),
        Some(Value::string("pkg-a"))
    );
    assert_eq!(b.args.get_attr("driver_package_name"), Some(Value::Unknown));
    assert_eq!(ev.outputs().0["ids"].value, Value::string("/x/a"));
}

#[test]
fn unknown_propagates_through_expressions() {
    let main = r#"
variable "u" { type = string }
locals {
  tmpl   = "x-${var.u}"
  fn     = upper(var.u)
  cond   = var.u == "a" ? 1 : 2
  list   = [var.u, "k"]
  len    = length(local.list)
  forexp = [for s in local.list : s]
  idx    = local.list[1]
  json   = jsonencode(local.list)
}
output "all" {
  value = [local.tmpl, local.fn, local.cond, local.len, local.forexp, local.idx, local.json]
}
"#;
    let dir = dir_with(&[("main.hcl", main)]);
    let cfg = load_ok(
        dir.path(),
        &LoadOptions {
            mode: Mode::Validate,
            ..LoadOptions::default()
        },
    );
    let ev = Evaluator::new(&cfg, &NoState, Mode::Validate);
    let (outs, diags) = ev.outputs();
    assert!(!diags.has_errors(), "{}", cfg.sources.render(&diags, false));
    let Value::List(items) = &outs["all"].value else {
        panic!("list expected")
    };
    assert_eq!(items[0], Value::Unknown, "template");
    assert_eq!(items[1], Value::Unknown, "function");
    assert_eq!(items[2], Value::Unknown, "conditional");
    assert_eq!(
        items[3],
        Value::Number(2.0),
        "length of a known list with unknown elements"
    );
    assert_eq!(
        items[4],
        Value::List(vec![Value::Unknown, Value::string("k")]),
        "for keeps elements"
    );
    assert_eq!(
        items[5],
        Value::string("k"),
        "known element of partly unknown list"
    );
    assert_eq!(items[6], Value::Unknown, "jsonencode of partly unknown");
}

#[test]
fn sensitivity_propagates() {
    let dir = dir_with(&[("main.hcl", RESOURCES)]);
    let cfg = load_ok(dir.path(), &LoadOptions::default());
    let ev = Evaluator::new(&cfg, &NoState, Mode::Plan);
    let (insts, _) = ev.instances();
    let up = insts
        .iter()
        .find(|i| i.addr == addr("dms_oci_driver_upload.up[\"a\"]"))
        .expect("upload");
    let share = up.args.get_attr("driver_share").expect("share");
    assert!(matches!(
        share.get_attr("password"),
        Some(Value::Sensitive(_))
    ));
    assert!(!matches!(share.get_attr("path"), Some(Value::Sensitive(_))));
    let cd = up.args.get_attr("client_data").expect("client_data");
    assert!(
        matches!(cd.get_attr("note"), Some(Value::Sensitive(_))),
        "upper() of a sensitive value: {cd:?}"
    );
    assert!(
        !matches!(cd, Value::Sensitive(_)),
        "only the element is sensitive"
    );
    assert_eq!(
        cd.get_attr("note").map(|v| v.unmark().0),
        Some(Value::string("HUNTER2"))
    );
}

#[test]
fn sensitive_values_in_outputs_require_the_sensitive_flag() {
    let main = "variable \"p\" {\n  sensitive = true\n  default = \"x\"\n}\noutput \"o\" { value = \"${var.p}!\" }\noutput \"ok\" {\n  value = length(var.p)\n  sensitive = true\n}\n";
    let dir = dir_with(&[("main.hcl", main)]);
    let cfg = load_ok(dir.path(), &LoadOptions::default());
    let ev = Evaluator::new(&cfg, &NoState, Mode::Plan);
    let (outs, diags) = ev.outputs();
    let text = cfg.sources.render(&diags, false);
    assert!(text.contains("Output refers to sensitive values"), "{text}");
    assert!(text.contains("on main.hcl line 5"), "{text}");
    assert_eq!(diags.error_count(), 1, "{text}");
    assert!(outs["ok"].sensitive && matches!(outs["ok"].value, Value::Sensitive(_)));
}

#[test]
fn postconditions_evaluate_with_self() {
    let dir = dir_with(&[("main.hcl", RESOURCES)]);
    let cfg = load_ok(dir.path(), &LoadOptions::default());
    let ev = Evaluator::new(&cfg, &NoState, Mode::Plan);
    let (insts, _) = ev.instances();
    let inst = insts
        .iter()
        .find(|i| i.addr == addr("dms_oci_driver_install.inst[\"b\"]"))
        .expect("instance");
    let ok = Value::map([("state", Value::string("Succeeded"))]);
    assert!(ev.check_postconditions(inst, &ok).is_empty());
    let failed = Value::map([("state", Value::string("Failed"))]);
    let d = ev.check_postconditions(inst, &failed);
    let text = cfg.sources.render(&d, false);
    assert!(
        text.contains("Error: Resource postcondition failed"),
        "{text}"
    );
    assert!(text.contains("Install of b ended Failed."), "{text}");
    assert_eq!(
        d.iter().next().and_then(|d| d.address.clone()).as_deref(),
        Some("dms_oci_driver_install.inst[\"b\"]")
    );
    assert!(
        ev.check_postconditions(inst, &Value::map([("state", Value::Unknown)]))
            .is_empty()
    );
}

#[test]
fn for_each_rules() {
    let mk = |fe: &str| {
        format!(
            "variable \"u\" {{ type = string }}\nresource \"dms_oci_driver_check\" \"c\" {{\n  for_each = {fe}\n  {IDENT}  task_name = each.key\n}}\n"
        )
    };
    let run = |fe: &str, mode: Mode| {
        let dir = dir_with(&[("main.hcl", &mk(fe))]);
        let opts = LoadOptions {
            mode,
            vars: vec![],
            env: BTreeMap::new(),
        };
        let opts = if mode == Mode::Plan {
            LoadOptions {
                vars: vec![VarArg::Var("u=x".into())],
                ..opts
            }
        } else {
            opts
        };
        let cfg = load_ok(dir.path(), &opts);
        let ev = Evaluator::new(&cfg, &NoState, mode);
        let (insts, d) = ev.instances();
        (
            insts.iter().map(|i| i.addr.to_string()).collect::<Vec<_>>(),
            cfg.sources.render(&d, false),
        )
    };
    assert_eq!(
        run(r#"toset(["x", "y"])"#, Mode::Plan).0,
        [
            r#"dms_oci_driver_check.c["x"]"#,
            r#"dms_oci_driver_check.c["y"]"#
        ]
    );
    let (_, err) = run(r#"["x"]"#, Mode::Plan);
    assert!(
        err.contains(
            "must be a map, or set of strings, and you have provided a value of type tuple"
        ),
        "{err}"
    );
    let (_, err) = run("toset([1])", Mode::Plan);
    assert!(
        err.contains("set containing type number") || err.contains("Invalid for_each"),
        "{err}"
    );
    let (_, err) = run("null", Mode::Plan);
    assert!(err.contains("is null"), "{err}");
    let (insts, err) = run("toset([var.u])", Mode::Validate);
    assert!(err.is_empty(), "{err}");
    assert_eq!(insts, ["dms_oci_driver_check.c"]);
}

#[test]
fn unknown_for_each_is_an_error_at_plan_time() {
    let main = format!(
        "resource \"dms_oci_driver_check\" \"a\" {{\n  {IDENT}  task_name = \"t\"\n}}\nresource \"dms_oci_driver_check\" \"b\" {{\n  for_each = toset([dms_oci_driver_check.a.id])\n  {IDENT}  task_name = each.key\n}}\n"
    );
    let dir = dir_with(&[("main.hcl", &main)]);
    let cfg = load_ok(dir.path(), &LoadOptions::default());
    let (_, d) = Evaluator::new(&cfg, &NoState, Mode::Plan).instances();
    let text = cfg.sources.render(&d, false);
    assert!(text.contains("Invalid for_each argument"), "{text}");
    assert!(text.contains("cannot be determined until apply"), "{text}");
}

#[test]
fn count_rules() {
    let mk = |c: &str| {
        format!(
            "resource \"dms_oci_driver_check\" \"c\" {{\n  count = {c}\n  {IDENT}  task_name = \"t${{count.index}}\"\n}}\n"
        )
    };
    for (c, needle) in [
        ("-1", "whole number"),
        ("1.5", "whole number"),
        ("\"x\"", "number required"),
        ("null", "is null"),
    ] {
        let dir = dir_with(&[("main.hcl", &mk(c))]);
        let cfg = load_ok(dir.path(), &LoadOptions::default());
        let (_, d) = Evaluator::new(&cfg, &NoState, Mode::Plan).instances();
        let text = cfg.sources.render(&d, false);
        assert!(text.contains(needle), "count = {c}: {text}");
    }
    let dir = dir_with(&[("main.hcl", &mk("\"2\""))]);
    let cfg = load_ok(dir.path(), &LoadOptions::default());
    let (insts, _) = Evaluator::new(&cfg, &NoState, Mode::Plan).instances();
    assert_eq!(insts.len(), 2);
    assert_eq!(
        insts[1].args.get_attr("task_name"),
        Some(Value::string("t1"))
    );
}

#[test]
fn provider_settings_are_evaluated() {
    let main = r#"
variable "ep" { default = "http://127.0.0.1:7070" }
provider "dms" {
  endpoint      = var.ep
  auth          = "none"
  poll_interval = "500ms"
  emulator {
    run_for    = "1m30s"
    share_root = { "host/share" = "./d" }
  }
}
"#;
    let dir = dir_with(&[("main.hcl", main)]);
    let cfg = load_ok(dir.path(), &LoadOptions::default());
    assert!(cfg.provider.is_emulator());
    assert_eq!(
        cfg.provider.poll_interval,
        std::time::Duration::from_millis(500)
    );
    let em = cfg.provider.emulator.as_ref().expect("emulator");
    assert_eq!(em.run_for, Some(std::time::Duration::from_secs(90)));
    assert_eq!(em.share_root["host/share"], "./d");
    assert!(!dmsform::config::is_emulator_endpoint("https://127.0.0.1"));
    assert!(dmsform::config::is_emulator_endpoint("http://localhost:1/"));
    assert!(dmsform::config::is_emulator_endpoint("http://[::1]:8080"));
    assert!(!dmsform::config::is_emulator_endpoint("http://example.com"));
}
