//! The built-in functions (design §3), as plain functions over [`Value`]s.
//!
//! [`invoke`] applies the shared rules before calling one: arity, unknown arguments give an
//! unknown result, and sensitive arguments give a sensitive result. `try` and `can` need
//! unevaluated arguments and live in the evaluator. `file()` is the only function with an
//! effect: it reads a file under the configuration directory.

use super::format::{format_list, sprintf};
use crate::value::{Value, format_number};
use std::collections::BTreeMap;
use std::path::Path;

/// A function failed; `arg` is the index of the argument at fault, if one is.
#[derive(Debug, Clone, PartialEq)]
pub struct FuncError {
    pub summary: &'static str,
    pub detail: String,
    pub arg: Option<usize>,
}

type Impl = fn(&[Value], &Path) -> Result<Value, String>;

/// One built-in function.
pub struct FuncDef {
    pub name: &'static str,
    /// Parameter names, for messages; the last repeats when `variadic`.
    params: &'static [&'static str],
    optional: usize,
    variadic: bool,
    /// The function only rearranges values, so unknown or sensitive elements may pass
    /// through; only top-level unknown/sensitive arguments affect the whole result.
    structural: bool,
    f: Impl,
}

macro_rules! func {
    ($name:literal, [$($p:literal),*], $opt:expr, $var:expr, $structural:expr, $f:expr) => {
        FuncDef { name: $name, params: &[$($p),*], optional: $opt, variadic: $var, structural: $structural, f: $f }
    };
}

static FUNCS: &[FuncDef] = &[
    func!("length", ["value"], 0, false, true, length),
    func!(
        "lookup",
        ["inputMap", "key", "default"],
        1,
        false,
        true,
        lookup_fn
    ),
    func!("merge", ["maps"], 1, true, true, merge),
    func!("keys", ["inputMap"], 0, false, true, keys),
    func!("values", ["mapping"], 0, false, true, values),
    func!("concat", ["seqs"], 1, true, true, concat),
    func!("contains", ["list", "value"], 0, false, false, contains),
    func!(
        "format",
        ["format", "args"],
        1,
        true,
        false,
        |a, _| sprintf(str_arg(a, 0)?, &a[1..])
    ),
    func!("formatlist", ["format", "args"], 1, true, false, |a, _| {
        format_list(str_arg(a, 0)?, &a[1..])
    }),
    func!("join", ["separator", "lists"], 0, true, false, join),
    func!("split", ["separator", "str"], 0, false, false, split),
    func!("lower", ["str"], 0, false, false, |a, _| Ok(Value::string(
        str_arg(a, 0)?.to_lowercase()
    ))),
    func!("upper", ["str"], 0, false, false, |a, _| Ok(Value::string(
        str_arg(a, 0)?.to_uppercase()
    ))),
    func!(
        "replace",
        ["str", "substr", "replace"],
        0,
        false,
        false,
        |a, _| {
            let (s, from, to) = (str_arg(a, 0)?, str_arg(a, 1)?, str_arg(a, 2)?);
            Ok(Value::string(if from.is_empty() {
                s.to_string()
            } else {
                s.replace(from, to)
            }))
        }
    ),
    func!("startswith", ["str", "prefix"], 0, false, false, |a, _| Ok(
        Value::Bool(str_arg(a, 0)?.starts_with(str_arg(a, 1)?))
    )),
    func!("endswith", ["str", "suffix"], 0, false, false, |a, _| Ok(
        Value::Bool(str_arg(a, 0)?.ends_with(str_arg(a, 1)?))
    )),
    func!("trimspace", ["str"], 0, false, false, |a, _| Ok(
        Value::string(str_arg(a, 0)?.trim())
    )),
    func!("tostring", ["v"], 0, false, false, tostring),
    func!("tonumber", ["v"], 0, false, false, tonumber),
    func!("toset", ["v"], 0, false, false, toset),
    func!("tolist", ["v"], 0, false, true, tolist),
    func!("tomap", ["v"], 0, false, true, tomap),
    func!("file", ["path"], 0, false, false, file),
    func!("jsonencode", ["val"], 0, false, false, jsonencode),
    func!("jsondecode", ["str"], 0, false, false, jsondecode),
    func!("sha256", ["str"], 0, false, false, sha256),
    func!("coalesce", ["vals"], 1, true, true, coalesce),
    func!("range", ["params"], 1, true, false, range),
    func!("flatten", ["list"], 0, false, false, flatten_fn),
    func!("distinct", ["list"], 0, false, false, distinct),
    func!("element", ["list", "index"], 0, false, true, element),
    func!("zipmap", ["keys", "values"], 0, false, true, zipmap),
];

/// Every function name, including `try` and `can` (for suggestions).
pub static NAMES: &[&str] = &[
    "length",
    "lookup",
    "merge",
    "keys",
    "values",
    "concat",
    "contains",
    "format",
    "formatlist",
    "join",
    "split",
    "lower",
    "upper",
    "replace",
    "startswith",
    "endswith",
    "trimspace",
    "tostring",
    "tonumber",
    "toset",
    "tolist",
    "tomap",
    "file",
    "jsonencode",
    "jsondecode",
    "sha256",
    "coalesce",
    "try",
    "can",
    "range",
    "flatten",
    "distinct",
    "element",
    "zipmap",
];

/// Finds a function by name (not `try` / `can`).
pub fn lookup(name: &str) -> Option<&'static FuncDef> {
    FUNCS.iter().find(|f| f.name == name)
}

/// Calls a function with evaluated arguments, applying the unknown and sensitivity rules.
pub fn invoke(def: &FuncDef, args: Vec<Value>, base: &Path) -> Result<Value, FuncError> {
    let required = def.params.len() - def.optional - usize::from(def.variadic && def.optional == 0);
    let max = if def.variadic {
        usize::MAX
    } else {
        def.params.len()
    };
    if args.len() < required {
        let missing = def.params.get(args.len()).copied().unwrap_or("value");
        return Err(FuncError {
            summary: "Not enough function arguments",
            detail: format!(
                "Function \"{}\" expects {} argument(s). Missing value for \"{missing}\".",
                def.name, required
            ),
            arg: None,
        });
    }
    if args.len() > max {
        return Err(FuncError {
            summary: "Too many function arguments",
            detail: format!(
                "Function \"{}\" expects only {} argument(s).",
                def.name, max
            ),
            arg: Some(max),
        });
    }
    let mut marked = false;
    let mut plain = Vec::with_capacity(args.len());
    for a in &args {
        let (v, m) = if def.structural {
            let (v, m) = a.unmarked();
            (v.clone(), m)
        } else {
            a.unmark_deep()
        };
        marked |= m;
        let unknown = if def.structural {
            !v.is_known()
        } else {
            !v.is_wholly_known()
        };
        if unknown {
            return Ok(Value::Unknown.mark_if(marked));
        }
        plain.push(v);
    }
    (def.f)(&plain, base)
        .map(|v| v.mark_if(marked))
        .map_err(|detail| {
            let arg = detail
                .strip_prefix("arg ")
                .and_then(|r| r.split(':').next())
                .and_then(|n| n.parse::<usize>().ok());
            let detail = match arg {
                Some(i) => {
                    let msg = detail.split_once(": ").map_or(detail.as_str(), |(_, m)| m);
                    let pname = def
                        .params
                        .get(i)
                        .or(def.params.last())
                        .copied()
                        .unwrap_or("value");
                    format!("Invalid value for \"{pname}\" parameter: {msg}.")
                }
                None => format!("Call to function \"{}\" failed: {detail}.", def.name),
            };
            FuncError {
                summary: if arg.is_some() {
                    "Invalid function argument"
                } else {
                    "Error in function call"
                },
                detail,
                arg,
            }
        })
}

/// An error about argument `i` (the prefix is parsed by [`invoke`]).
pub(crate) fn arg_err(i: usize, msg: impl std::fmt::Display) -> String {
    format!("arg {i}: {msg}")
}

pub(crate) fn str_arg(a: &[Value], i: usize) -> Result<&str, String> {
    match a.get(i) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(arg_err(
            i,
            format!("string required, not {}", other.type_name()),
        )),
        None => Err(arg_err(i, "missing argument")),
    }
}

fn num_arg(a: &[Value], i: usize) -> Result<f64, String> {
    match a.get(i) {
        Some(Value::Number(n)) => Ok(*n),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| arg_err(i, "a number is required")),
        Some(other) => Err(arg_err(
            i,
            format!("number required, not {}", other.type_name()),
        )),
        None => Err(arg_err(i, "missing argument")),
    }
}

fn list_arg(a: &[Value], i: usize) -> Result<&[Value], String> {
    match a.get(i) {
        Some(Value::List(items) | Value::Set(items)) => Ok(items),
        Some(other) => Err(arg_err(
            i,
            format!("list required, not {}", other.type_name()),
        )),
        None => Err(arg_err(i, "missing argument")),
    }
}

fn map_arg(a: &[Value], i: usize) -> Result<&BTreeMap<String, Value>, String> {
    match a.get(i) {
        Some(Value::Map(m)) => Ok(m),
        Some(other) => Err(arg_err(
            i,
            format!("map required, not {}", other.type_name()),
        )),
        None => Err(arg_err(i, "missing argument")),
    }
}

/// A primitive as a string, as Terraform converts it.
pub(crate) fn primitive_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(format_number(*n)),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn length(a: &[Value], _: &Path) -> Result<Value, String> {
    let n = match &a[0] {
        Value::String(s) => s.chars().count(),
        Value::List(items) | Value::Set(items) => items.len(),
        Value::Map(m) => m.len(),
        _ => {
            return Err(arg_err(
                0,
                "argument must be a string, a collection type, or a structural type",
            ));
        }
    };
    Ok(Value::Number(n as f64))
}

fn lookup_fn(a: &[Value], _: &Path) -> Result<Value, String> {
    let m = map_arg(a, 0)?;
    let key = primitive_string(&a[1]).ok_or_else(|| arg_err(1, "string required"))?;
    match (m.get(&key), a.get(2)) {
        (Some(v), _) => Ok(v.clone()),
        (None, Some(d)) => Ok(d.clone()),
        (None, None) => Err(format!("lookup failed to find key {key:?}")),
    }
}

fn merge(a: &[Value], _: &Path) -> Result<Value, String> {
    let mut out = BTreeMap::new();
    for (i, v) in a.iter().enumerate() {
        match v {
            Value::Null => {}
            Value::Map(m) => out.extend(m.iter().map(|(k, v)| (k.clone(), v.clone()))),
            other => {
                return Err(arg_err(
                    i,
                    format!("map or object required, not {}", other.type_name()),
                ));
            }
        }
    }
    Ok(Value::Map(out))
}

fn keys(a: &[Value], _: &Path) -> Result<Value, String> {
    Ok(Value::List(
        map_arg(a, 0)?
            .keys()
            .map(|k| Value::string(k.as_str()))
            .collect(),
    ))
}

fn values(a: &[Value], _: &Path) -> Result<Value, String> {
    Ok(Value::List(map_arg(a, 0)?.values().cloned().collect()))
}

fn concat(a: &[Value], _: &Path) -> Result<Value, String> {
    let mut out = Vec::new();
    for i in 0..a.len() {
        out.extend(list_arg(a, i)?.iter().cloned());
    }
    Ok(Value::List(out))
}

fn contains(a: &[Value], _: &Path) -> Result<Value, String> {
    Ok(Value::Bool(list_arg(a, 0)?.contains(&a[1])))
}

fn join(a: &[Value], _: &Path) -> Result<Value, String> {
    let sep = str_arg(a, 0)?;
    if a.len() < 2 {
        return Err(arg_err(1, "at least one list is required"));
    }
    let mut parts = Vec::new();
    for i in 1..a.len() {
        for v in list_arg(a, i)? {
            match v {
                Value::Null => {
                    return Err(arg_err(
                        i,
                        "element is null; cannot concatenate null values",
                    ));
                }
                v => parts.push(
                    primitive_string(v).ok_or_else(|| arg_err(i, "elements must be strings"))?,
                ),
            }
        }
    }
    Ok(Value::string(parts.join(sep)))
}

fn split(a: &[Value], _: &Path) -> Result<Value, String> {
    let (sep, s) = (str_arg(a, 0)?, str_arg(a, 1)?);
    let parts: Vec<Value> = if sep.is_empty() {
        s.chars().map(|c| Value::string(c.to_string())).collect()
    } else {
        s.split(sep).map(Value::string).collect()
    };
    Ok(Value::List(parts))
}

fn tostring(a: &[Value], _: &Path) -> Result<Value, String> {
    match &a[0] {
        Value::Null => Ok(Value::Null),
        v => primitive_string(v)
            .map(Value::String)
            .ok_or_else(|| arg_err(0, format!("cannot convert {} to string", v.type_name()))),
    }
}

fn tonumber(a: &[Value], _: &Path) -> Result<Value, String> {
    match &a[0] {
        Value::Null => Ok(Value::Null),
        Value::Number(n) => Ok(Value::Number(*n)),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Value::Number)
            .ok_or_else(|| arg_err(0, format!("cannot convert {s:?} to number; given string must be a decimal representation of a number"))),
        v => Err(arg_err(0, format!("cannot convert {} to number", v.type_name()))),
    }
}

/// Unifies primitive elements the way Terraform does when building a collection: if any
/// is a string, numbers and bools become strings.
fn unify(items: &[Value]) -> Vec<Value> {
    let any_string = items.iter().any(|v| matches!(v, Value::String(_)));
    let mixed = items
        .iter()
        .any(|v| matches!(v, Value::Number(_) | Value::Bool(_)));
    if any_string && mixed {
        items
            .iter()
            .map(|v| primitive_string(v).map_or_else(|| v.clone(), Value::String))
            .collect()
    } else {
        items.to_vec()
    }
}

fn toset(a: &[Value], _: &Path) -> Result<Value, String> {
    match &a[0] {
        Value::Null => Ok(Value::Null),
        Value::List(items) | Value::Set(items) => Ok(Value::set(unify(items))),
        v => Err(arg_err(
            0,
            format!("cannot convert {} to set", v.type_name()),
        )),
    }
}

fn tolist(a: &[Value], _: &Path) -> Result<Value, String> {
    match &a[0] {
        Value::Null => Ok(Value::Null),
        Value::List(items) | Value::Set(items) => Ok(Value::List(unify(items))),
        v => Err(arg_err(
            0,
            format!("cannot convert {} to list", v.type_name()),
        )),
    }
}

fn tomap(a: &[Value], _: &Path) -> Result<Value, String> {
    match &a[0] {
        Value::Null => Ok(Value::Null),
        Value::Map(m) => {
            let vals: Vec<Value> = m.values().cloned().collect();
            Ok(Value::Map(m.keys().cloned().zip(unify(&vals)).collect()))
        }
        v => Err(arg_err(
            0,
            format!("cannot convert {} to map", v.type_name()),
        )),
    }
}

fn file(a: &[Value], base: &Path) -> Result<Value, String> {
    let p = str_arg(a, 0)?;
    let path = base.join(p);
    let bytes = std::fs::read(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            arg_err(0, format!("no file exists at {p:?}; this function works only with files that are distributed as part of the configuration source code"))
        } else {
            arg_err(0, format!("cannot read {p:?}: {e}"))
        }
    })?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| arg_err(0, format!("contents of {p:?} are not valid UTF-8")))
}

fn jsonencode(a: &[Value], _: &Path) -> Result<Value, String> {
    let j = a[0]
        .to_json()
        .ok_or_else(|| arg_err(0, "value is not known"))?;
    Ok(Value::String(j.to_string()))
}

fn jsondecode(a: &[Value], _: &Path) -> Result<Value, String> {
    let s = str_arg(a, 0)?;
    let j: serde_json::Value =
        serde_json::from_str(s).map_err(|e| arg_err(0, format!("invalid JSON: {e}")))?;
    Ok(Value::from_json(&j))
}

fn sha256(a: &[Value], _: &Path) -> Result<Value, String> {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(str_arg(a, 0)?.as_bytes());
    Ok(Value::String(
        digest.iter().map(|b| format!("{b:02x}")).collect(),
    ))
}

fn coalesce(a: &[Value], _: &Path) -> Result<Value, String> {
    a.iter()
        .find(|v| match v.unmarked().0 {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            _ => true,
        })
        .cloned()
        .ok_or_else(|| "no non-null, non-empty-string arguments".to_string())
}

fn range(a: &[Value], _: &Path) -> Result<Value, String> {
    let (start, limit, step) = match a.len() {
        1 => (0.0, num_arg(a, 0)?, 1.0),
        2 => (num_arg(a, 0)?, num_arg(a, 1)?, 1.0),
        3 => (num_arg(a, 0)?, num_arg(a, 1)?, num_arg(a, 2)?),
        _ => return Err("must have one, two, or three arguments".into()),
    };
    if step == 0.0 {
        return Err(arg_err(2, "step must not be zero"));
    }
    if (step > 0.0 && start > limit) || (step < 0.0 && start < limit) {
        return Err(format!(
            "start {} cannot be {} limit {}",
            format_number(start),
            if step > 0.0 {
                "greater than"
            } else {
                "less than"
            },
            format_number(limit)
        ));
    }
    let mut out = Vec::new();
    let mut x = start;
    while (step > 0.0 && x < limit) || (step < 0.0 && x > limit) {
        if out.len() >= 1024 {
            return Err("more than 1024 values were generated; either decrease the difference between start and limit or use a smaller step".into());
        }
        out.push(Value::Number(x));
        x += step;
    }
    Ok(Value::List(out))
}

fn flatten(items: &[Value], out: &mut Vec<Value>) {
    for v in items {
        match v {
            Value::List(inner) | Value::Set(inner) => flatten(inner, out),
            other => out.push(other.clone()),
        }
    }
}

fn flatten_fn(a: &[Value], _: &Path) -> Result<Value, String> {
    let mut out = Vec::new();
    flatten(list_arg(a, 0)?, &mut out);
    Ok(Value::List(out))
}

fn distinct(a: &[Value], _: &Path) -> Result<Value, String> {
    let mut out: Vec<Value> = Vec::new();
    for v in list_arg(a, 0)? {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    Ok(Value::List(out))
}

fn element(a: &[Value], _: &Path) -> Result<Value, String> {
    let list = list_arg(a, 0)?;
    let i = num_arg(a, 1)?;
    if list.is_empty() {
        return Err("cannot use element function with an empty list".into());
    }
    if i < 0.0 || i.fract() != 0.0 {
        return Err(arg_err(
            1,
            "cannot use element function with a negative or fractional index",
        ));
    }
    Ok(list[(i as usize) % list.len()].clone())
}

fn zipmap(a: &[Value], _: &Path) -> Result<Value, String> {
    let (ks, vs) = (list_arg(a, 0)?, list_arg(a, 1)?);
    if ks.len() != vs.len() {
        return Err(format!(
            "number of keys ({}) does not match number of values ({})",
            ks.len(),
            vs.len()
        ));
    }
    let mut out = BTreeMap::new();
    for (k, v) in ks.iter().zip(vs) {
        let k = match k.unmarked().0 {
            Value::Unknown => return Ok(Value::Unknown),
            k => primitive_string(k).ok_or_else(|| arg_err(0, "keys must be strings"))?,
        };
        out.insert(k, v.clone());
    }
    Ok(Value::Map(out))
}
