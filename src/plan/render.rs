//! The human plan, laid out as Terraform lays it out: symbols `+ ~ - -/+ <=`, nested
//! blocks, `(known after apply)`, `(sensitive value)`, `# forces replacement`, map and
//! multi-line string diffs, the drift section, and the `Plan: …` summary.

use super::action::{Action, Reason};
use super::change::{OutputChange, Plan, ResourceChange};
use serde_json::Value;
use std::fmt::Write;

/// ANSI colours, or none.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn sym(&self, sym: &str) -> String {
        let code = match sym.trim() {
            "+" => "32",
            "-" => "31",
            "~" => "33",
            "-/+" => "31",
            "<=" => "36",
            _ => return sym.to_string(),
        };
        self.paint(code, sym)
    }
}

const UNKNOWN: &str = "(known after apply)";
const SENSITIVE: &str = "(sensitive value)";

fn sub<'a>(mask: &'a Value, key: &str) -> &'a Value {
    match mask {
        Value::Object(m) => m.get(key).unwrap_or(&Value::Null),
        Value::Bool(true) => mask,
        _ => &Value::Null,
    }
}

fn sub_i(mask: &Value, i: usize) -> &Value {
    match mask {
        Value::Array(a) => a.get(i).unwrap_or(&Value::Null),
        Value::Bool(true) => mask,
        _ => &Value::Null,
    }
}

fn is_true(m: &Value) -> bool {
    m == &Value::Bool(true)
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// A value in HCL-ish notation; nested lines are indented by `indent` spaces.
fn fmt_value(v: &Value, unknown: &Value, sensitive: &Value, indent: usize) -> String {
    if is_true(sensitive) {
        return SENSITIVE.into();
    }
    if is_true(unknown) {
        return UNKNOWN.into();
    }
    let pad = " ".repeat(indent);
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote(s),
        Value::Array(items) if items.is_empty() => "[]".into(),
        Value::Array(items) => {
            let mut out = "[\n".to_string();
            for (i, item) in items.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "{pad}    {},",
                    fmt_value(item, sub_i(unknown, i), sub_i(sensitive, i), indent + 4)
                );
            }
            out + &pad + "]"
        }
        Value::Object(m) if m.is_empty() => "{}".into(),
        Value::Object(m) => {
            let width = m.keys().map(|k| quote(k).len()).max().unwrap_or(0);
            let mut out = "{\n".to_string();
            for (k, item) in m {
                let _ = writeln!(
                    out,
                    "{pad}    {:width$} = {}",
                    quote(k),
                    fmt_value(item, sub(unknown, k), sub(sensitive, k), indent + 4)
                );
            }
            out + &pad + "}"
        }
    }
}

/// One line of a block body before alignment: symbol, name, rest.
struct Line {
    sym: &'static str,
    name: String,
    rest: String,
}

struct Body {
    attrs: Vec<Line>,
    blocks: Vec<String>,
    hidden: usize,
}

fn obj(v: &Option<Value>) -> serde_json::Map<String, Value> {
    match v {
        Some(Value::Object(m)) => m.clone(),
        _ => serde_json::Map::new(),
    }
}

fn keys_union(
    a: &serde_json::Map<String, Value>,
    b: &serde_json::Map<String, Value>,
) -> Vec<String> {
    let mut k: Vec<String> = a.keys().chain(b.keys()).cloned().collect();
    k.sort();
    k.dedup();
    k
}

/// Renders one resource change.
pub fn resource(c: &ResourceChange, style: Style, drift: bool) -> String {
    let mut out = String::new();
    let phrase = if drift {
        match c.action {
            Action::Delete => "has been deleted",
            _ => "has changed",
        }
    } else {
        c.action.phrase()
    };
    let _ = writeln!(
        out,
        "{}",
        style.bold(&format!("  # {} {phrase}", c.address))
    );
    for r in &c.reasons {
        if !matches!(r, Reason::NotInState) {
            let _ = writeln!(out, "  # (because {})", r.describe());
        }
    }
    let sym = match c.action {
        Action::Replace => "-/+",
        Action::Adopt => "  ",
        a => a.symbol(),
    };
    let sym_col = format!("{sym:>3}");
    let keyword = if c.mode == "data" { "data" } else { "resource" };
    let _ = writeln!(
        out,
        "{} {keyword} {} {} {{",
        style.sym(&sym_col),
        quote(&c.kind),
        quote(&c.name)
    );
    let body = body(c, 6);
    out.push_str(&render_body(&body, 6, style));
    out.push_str("    }\n");
    out
}

fn body(c: &ResourceChange, indent: usize) -> Body {
    let before = obj(&c.before);
    let after = obj(&c.after);
    let empty = Value::Null;
    let mut b = Body {
        attrs: vec![],
        blocks: vec![],
        hidden: 0,
    };
    for k in keys_union(&before, &after) {
        let bv = before.get(&k);
        let av = after.get(&k);
        let (bs, as_, au) = (
            sub(&c.before_sensitive, &k),
            sub(&c.after_sensitive, &k),
            sub(&c.after_unknown, &k),
        );
        let forces = c.replace_paths.iter().any(|p| p == &k);
        if c.blocks.contains(&k) {
            let bb = bv.filter(|v| !v.is_null()).cloned();
            let ab = av.filter(|v| !v.is_null()).cloned();
            if bb.is_none() && ab.is_none() {
                continue;
            }
            b.blocks
                .push(block(&k, bb, ab, bs, as_, au, c.action, forces, indent));
            continue;
        }
        match c.action {
            Action::Create | Action::Read => {
                let v = av.unwrap_or(&empty);
                if v.is_null() && !is_true(au) && !is_true(as_) {
                    continue;
                }
                b.attrs.push(Line {
                    sym: "+",
                    name: k.clone(),
                    rest: added_value(v, au, as_, indent + 2),
                });
            }
            Action::Delete => {
                let v = bv.unwrap_or(&empty);
                // A secret is null in state (only its digest is kept) but was set.
                if v.is_null() && !is_true(bs) {
                    continue;
                }
                b.attrs.push(Line {
                    sym: "-",
                    name: k.clone(),
                    rest: format!("{} -> null", fmt_value(v, &empty, bs, indent + 2)),
                });
            }
            Action::NoOp | Action::Adopt => {
                let v = av.or(bv).unwrap_or(&empty);
                if v.is_null() && !is_true(as_) {
                    continue;
                }
                b.attrs.push(Line {
                    sym: " ",
                    name: k.clone(),
                    rest: fmt_value(v, au, as_, indent + 2),
                });
            }
            Action::Update | Action::Replace => {
                let bval = bv.unwrap_or(&empty);
                let aval = av.unwrap_or(&empty);
                let same = bval == aval && !is_true(au) && bs == as_;
                if same {
                    if k == "id" && !aval.is_null() {
                        b.attrs.push(Line {
                            sym: " ",
                            name: k.clone(),
                            rest: fmt_value(aval, au, as_, indent + 2),
                        });
                    } else if !aval.is_null() {
                        b.hidden += 1;
                    }
                    continue;
                }
                let marker = if forces { " # forces replacement" } else { "" };
                if bval.is_null() {
                    b.attrs.push(Line {
                        sym: "+",
                        name: k.clone(),
                        rest: format!("{}{marker}", added_value(aval, au, as_, indent + 2)),
                    });
                } else if aval.is_null() && !is_true(au) {
                    b.attrs.push(Line {
                        sym: "-",
                        name: k.clone(),
                        rest: format!(
                            "{} -> null{marker}",
                            fmt_value(bval, &empty, bs, indent + 2)
                        ),
                    });
                } else if let (Value::Object(bm), Value::Object(am)) = (bval, aval)
                    && !is_true(au)
                    && !is_true(as_)
                    && !is_true(bs)
                {
                    b.attrs.push(Line {
                        sym: "~",
                        name: k.clone(),
                        rest: format!("{}{marker}", map_diff(bm, am, indent + 2)),
                    });
                } else if let (Value::String(x), Value::String(y)) = (bval, aval)
                    && (x.contains('\n') || y.contains('\n'))
                    && !is_true(as_)
                    && !is_true(bs)
                {
                    b.attrs.push(Line {
                        sym: "~",
                        name: k.clone(),
                        rest: format!("{}{marker}", text_diff(x, y, indent + 2)),
                    });
                } else {
                    b.attrs.push(Line {
                        sym: "~",
                        name: k.clone(),
                        rest: format!(
                            "{} -> {}{marker}",
                            fmt_value(bval, &empty, bs, indent + 2),
                            fmt_value(aval, au, as_, indent + 2)
                        ),
                    });
                }
            }
        }
    }
    b
}

#[allow(clippy::too_many_arguments)]
fn block(
    name: &str,
    before: Option<Value>,
    after: Option<Value>,
    bs: &Value,
    as_: &Value,
    au: &Value,
    action: Action,
    forces: bool,
    indent: usize,
) -> String {
    let inner = ResourceChange {
        address: String::new(),
        mode: "managed".into(),
        kind: String::new(),
        name: String::new(),
        index: None,
        action: match (&before, &after) {
            (None, Some(_)) => Action::Create,
            (Some(_), None) => Action::Delete,
            _ if action == Action::Create
                || action == Action::Delete
                || action == Action::NoOp
                || action == Action::Adopt =>
            {
                action
            }
            _ => Action::Update,
        },
        reasons: vec![],
        before,
        before_sensitive: bs.clone(),
        after,
        after_unknown: au.clone(),
        after_sensitive: as_.clone(),
        replace_paths: vec![],
        blocks: vec![],
    };
    let body = body(&inner, indent + 4);
    let pad = " ".repeat(indent);
    let sym = match inner.action {
        Action::Create => "+",
        Action::Delete => "-",
        Action::Update if body.attrs.iter().any(|l| l.sym != " ") => "~",
        _ => " ",
    };
    let marker = if forces && sym != " " {
        " # forces replacement"
    } else {
        ""
    };
    let mut out = format!("{pad}{sym} {name} {{{marker}\n");
    out.push_str(&render_body(&body, indent + 4, Style { color: false }));
    out.push_str(&format!("{pad}  }}\n"));
    out
}

fn render_body(b: &Body, indent: usize, style: Style) -> String {
    let mut out = String::new();
    let width = b.attrs.iter().map(|l| l.name.len()).max().unwrap_or(0);
    let pad = " ".repeat(indent);
    for l in &b.attrs {
        let _ = writeln!(
            out,
            "{pad}{} {:width$} = {}",
            style.sym(l.sym),
            l.name,
            l.rest
        );
    }
    if b.hidden > 0 {
        let _ = writeln!(
            out,
            "{pad}  # ({} unchanged attribute{} hidden)",
            b.hidden,
            if b.hidden == 1 { "" } else { "s" }
        );
    }
    for blk in &b.blocks {
        if !b.attrs.is_empty() || b.hidden > 0 {
            out.push('\n');
        }
        out.push_str(blk);
    }
    out
}

/// A new value: maps show each entry as added, as Terraform does.
fn added_value(v: &Value, unknown: &Value, sensitive: &Value, indent: usize) -> String {
    match v {
        Value::Object(m) if !m.is_empty() && !is_true(unknown) && !is_true(sensitive) => {
            map_diff(&serde_json::Map::new(), m, indent)
        }
        _ => fmt_value(v, unknown, sensitive, indent),
    }
}

fn map_diff(
    before: &serde_json::Map<String, Value>,
    after: &serde_json::Map<String, Value>,
    indent: usize,
) -> String {
    let pad = " ".repeat(indent);
    let keys = keys_union(before, after);
    let width = keys.iter().map(|k| quote(k).len()).max().unwrap_or(0);
    let none = Value::Null;
    let mut out = "{\n".to_string();
    for k in keys {
        let line = match (before.get(&k), after.get(&k)) {
            (None, Some(a)) => format!(
                "+ {:width$} = {}",
                quote(&k),
                fmt_value(a, &none, &none, indent + 4)
            ),
            (Some(b), None) => format!(
                "- {:width$} = {} -> null",
                quote(&k),
                fmt_value(b, &none, &none, indent + 4)
            ),
            (Some(b), Some(a)) if a != b => format!(
                "~ {:width$} = {} -> {}",
                quote(&k),
                fmt_value(b, &none, &none, indent + 4),
                fmt_value(a, &none, &none, indent + 4)
            ),
            _ => format!(
                "  {:width$} = {}",
                quote(&k),
                fmt_value(after.get(&k).unwrap_or(&none), &none, &none, indent + 4)
            ),
        };
        let _ = writeln!(out, "{pad}  {line}");
    }
    out + &pad + "}"
}

fn text_diff(before: &str, after: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = "<<-EOT\n".to_string();
    for change in similar::TextDiff::from_lines(before, after).iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => "-",
            similar::ChangeTag::Insert => "+",
            similar::ChangeTag::Equal => " ",
        };
        let _ = writeln!(
            out,
            "{pad}  {sign} {}",
            change.value().trim_end_matches('\n')
        );
    }
    out + &pad + "  EOT"
}

fn output_line(name: &str, o: &OutputChange, width: usize) -> String {
    let none = Value::Null;
    let show = |v: &Option<Value>, unknown: bool| -> String {
        if o.sensitive {
            return SENSITIVE.into();
        }
        if unknown {
            return UNKNOWN.into();
        }
        fmt_value(v.as_ref().unwrap_or(&none), &none, &none, 2)
    };
    match o.action {
        Action::Create => format!("  + {name:width$} = {}", show(&o.after, o.after_unknown)),
        Action::Delete => format!("  - {name:width$} = {} -> null", show(&o.before, false)),
        _ => format!(
            "  ~ {name:width$} = {} -> {}",
            show(&o.before, false),
            show(&o.after, o.after_unknown)
        ),
    }
}

/// The whole human plan.
pub fn plan(p: &Plan, style: Style) -> String {
    let mut out = String::new();
    if !p.drift.is_empty() {
        let _ = writeln!(
            out,
            "\n{}\n",
            style.bold("Note: Objects have changed outside of dmsform")
        );
        let _ = writeln!(
            out,
            "dmsform detected the following changes made outside of dmsform since the last\n\"dmsform apply\" which may have affected this plan:\n"
        );
        for c in &p.drift {
            out.push_str(&resource(c, style, true));
            out.push('\n');
        }
        if p.refresh_only {
            let _ = writeln!(
                out,
                "This is a refresh-only plan, so dmsform will not take any actions to undo these.\nIf you were expecting these changes then you can apply this plan to record the\nupdated values in the dmsform state without changing any remote objects."
            );
            return out;
        }
        let _ = writeln!(out, "{}\n", "─".repeat(77));
    }
    let changes: Vec<&ResourceChange> = p.changes.iter().filter(|c| c.is_change()).collect();
    let outputs: Vec<(&String, &OutputChange)> = p
        .outputs
        .iter()
        .filter(|(_, o)| o.action != Action::NoOp)
        .collect();
    if p.refresh_only || (changes.is_empty() && outputs.is_empty()) {
        let _ = writeln!(
            out,
            "\n{}",
            style.bold("No changes. Your infrastructure matches the configuration.")
        );
        let _ = writeln!(
            out,
            "\ndmsform has compared your real infrastructure against your configuration and\nfound no differences, so no changes are needed."
        );
        return out;
    }
    if !changes.is_empty() {
        let mut legend = vec![];
        for (a, text) in [
            (Action::Create, "create"),
            (Action::Update, "update in-place"),
            (Action::Delete, "destroy"),
            (Action::Replace, "destroy and then create replacement"),
            (Action::Adopt, "adopt (record an existing task in state)"),
        ] {
            if changes.iter().any(|c| c.action == a) {
                legend.push(format!(
                    "{} {text}",
                    style.sym(&format!("{:>3}", a.symbol()))
                ));
            }
        }
        let _ = writeln!(
            out,
            "\ndmsform used the selected providers to generate the following execution\nplan. Resource actions are indicated with the following symbols:"
        );
        for l in legend {
            let _ = writeln!(out, "{l}");
        }
        let _ = writeln!(out, "\ndmsform will perform the following actions:\n");
        for c in &changes {
            out.push_str(&resource(c, style, false));
            out.push('\n');
        }
    }
    let s = p.summary();
    let adopt = if s.adopt > 0 {
        format!("{} to adopt, ", s.adopt)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{} {adopt}{} to add, {} to change, {} to destroy.",
        style.bold("Plan:"),
        s.add,
        s.change,
        s.destroy
    );
    if !outputs.is_empty() {
        let width = outputs.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        let _ = writeln!(out, "\nChanges to Outputs:");
        for (n, o) in outputs {
            let _ = writeln!(out, "{}", output_line(n, o, width));
        }
    }
    out
}
