//! The dynamic value of the configuration language.
//!
//! A [`Value`] is what an expression evaluates to: null, bool, number, string, list (also
//! tuples), set, map (also objects), or [`Value::Unknown`] — a value only known once a task
//! has run, which the plan prints as `(known after apply)`. Any value can carry a
//! sensitivity mark ([`Value::Sensitive`]), which operations propagate so secrets are
//! printed as `(sensitive value)` and never persisted.
//!
//! This module owns the data type only; it evaluates nothing and does no I/O.

use serde_json::Value as Json;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

/// A configuration value. Sets are kept sorted and without duplicates.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    /// A list or tuple.
    List(Vec<Value>),
    /// A set: sorted, no duplicates (build with [`Value::set`]).
    Set(Vec<Value>),
    /// A map or object.
    Map(BTreeMap<String, Value>),
    /// A value known only after apply.
    Unknown,
    /// A sensitive value; never nested directly inside another `Sensitive`.
    Sensitive(Box<Value>),
}

impl Value {
    /// Builds a string value.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// Builds a set: sorts and removes duplicates.
    pub fn set(mut items: Vec<Value>) -> Value {
        items.sort_by(compare);
        items.dedup();
        Value::Set(items)
    }

    /// Builds a map from pairs.
    pub fn map<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// Marks this value sensitive (idempotent).
    pub fn mark_sensitive(self) -> Value {
        match self {
            Value::Sensitive(_) => self,
            other => Value::Sensitive(Box::new(other)),
        }
    }

    /// Marks the value sensitive when `yes`.
    pub fn mark_if(self, yes: bool) -> Value {
        if yes { self.mark_sensitive() } else { self }
    }

    /// Removes a top-level mark, returning the inner value and whether it was marked.
    pub fn unmark(self) -> (Value, bool) {
        match self {
            Value::Sensitive(inner) => (*inner, true),
            other => (other, false),
        }
    }

    /// Borrowing form of [`Value::unmark`].
    pub fn unmarked(&self) -> (&Value, bool) {
        match self {
            Value::Sensitive(inner) => (inner, true),
            other => (other, false),
        }
    }

    /// Removes every mark at any depth; the flag says whether any was found.
    pub fn unmark_deep(&self) -> (Value, bool) {
        let mut found = false;
        let v = self.strip(&mut found);
        (v, found)
    }

    fn strip(&self, found: &mut bool) -> Value {
        match self {
            Value::Sensitive(inner) => {
                *found = true;
                inner.strip(found)
            }
            Value::List(items) => Value::List(items.iter().map(|v| v.strip(found)).collect()),
            Value::Set(items) => Value::set(items.iter().map(|v| v.strip(found)).collect()),
            Value::Map(m) => {
                Value::Map(m.iter().map(|(k, v)| (k.clone(), v.strip(found))).collect())
            }
            other => other.clone(),
        }
    }

    /// True if this value or anything inside it is marked sensitive.
    pub fn contains_sensitive(&self) -> bool {
        match self {
            Value::Sensitive(_) => true,
            Value::List(items) | Value::Set(items) => items.iter().any(Value::contains_sensitive),
            Value::Map(m) => m.values().any(Value::contains_sensitive),
            _ => false,
        }
    }

    /// True if the value itself (ignoring marks) is known; elements may still be unknown.
    pub fn is_known(&self) -> bool {
        !matches!(self.unmarked().0, Value::Unknown)
    }

    /// True if no part of the value is unknown.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::Sensitive(inner) => inner.is_wholly_known(),
            Value::List(items) | Value::Set(items) => items.iter().all(Value::is_wholly_known),
            Value::Map(m) => m.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    /// True for `null` (ignoring marks).
    pub fn is_null(&self) -> bool {
        matches!(self.unmarked().0, Value::Null)
    }

    /// The string inside, if this is an unmarked-or-marked string.
    pub fn as_str(&self) -> Option<&str> {
        match self.unmarked().0 {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bool inside, if any.
    pub fn as_bool(&self) -> Option<bool> {
        match self.unmarked().0 {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number inside, if any.
    pub fn as_number(&self) -> Option<f64> {
        match self.unmarked().0 {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The map inside, if any.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self.unmarked().0 {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The elements of a list or set, if any.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self.unmarked().0 {
            Value::List(items) | Value::Set(items) => Some(items),
            _ => None,
        }
    }

    /// Looks up an attribute of an object value (marks of the object carry over).
    pub fn get_attr(&self, name: &str) -> Option<Value> {
        let (inner, marked) = self.unmarked();
        match inner {
            Value::Map(m) => m.get(name).map(|v| v.clone().mark_if(marked)),
            _ => None,
        }
    }

    /// A short type name for messages, as Terraform words them.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "tuple",
            Value::Set(_) => "set",
            Value::Map(_) => "object",
            Value::Unknown => "unknown",
            Value::Sensitive(inner) => inner.type_name(),
        }
    }

    /// Converts a wholly known value to JSON (marks are dropped; the caller decides what to
    /// redact). Returns `None` if any part is unknown.
    pub fn to_json(&self) -> Option<Json> {
        Some(match self {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => number_to_json(*n),
            Value::String(s) => Json::String(s.clone()),
            Value::List(items) | Value::Set(items) => {
                Json::Array(items.iter().map(Value::to_json).collect::<Option<_>>()?)
            }
            Value::Map(m) => Json::Object(
                m.iter()
                    .map(|(k, v)| Some((k.clone(), v.to_json()?)))
                    .collect::<Option<_>>()?,
            ),
            Value::Unknown => return None,
            Value::Sensitive(inner) => inner.to_json()?,
        })
    }

    /// Converts JSON into a value (arrays become lists, objects maps).
    pub fn from_json(json: &Json) -> Value {
        match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
            Json::String(s) => Value::String(s.clone()),
            Json::Array(items) => Value::List(items.iter().map(Value::from_json).collect()),
            Json::Object(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}

fn number_to_json(n: f64) -> Json {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Json::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number)
    }
}

/// Formats a number the way Terraform prints it: integers without a fraction.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// A total order over values, used to keep sets sorted (strings lexically, numbers
/// numerically, different kinds by a fixed rank).
pub fn compare(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            Value::List(_) => 4,
            Value::Set(_) => 5,
            Value::Map(_) => 6,
            Value::Unknown => 7,
            Value::Sensitive(_) => 8,
        }
    }
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => x.total_cmp(y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::List(x), Value::List(y)) | (Value::Set(x), Value::Set(y)) => {
            for (p, q) in x.iter().zip(y) {
                let o = compare(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Map(x), Value::Map(y)) => {
            for ((ka, va), (kb, vb)) in x.iter().zip(y) {
                let o = ka.cmp(kb).then_with(|| compare(va, vb));
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Sensitive(x), Value::Sensitive(y)) => compare(x, y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Quotes a string the way HCL writes string literals.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// HCL-like rendering, used in messages: sensitive parts show as `(sensitive value)` and
/// unknown parts as `(known after apply)`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => f.write_str(&format_number(*n)),
            Value::String(s) => f.write_str(&quote(s)),
            Value::List(items) | Value::Set(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(m) => {
                if m.is_empty() {
                    return f.write_str("{}");
                }
                f.write_str("{ ")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if hcl::edit::Ident::try_new(k.as_str()).is_ok() {
                        write!(f, "{k} = {v}")?;
                    } else {
                        write!(f, "{} = {v}", quote(k))?;
                    }
                }
                f.write_str(" }")
            }
            Value::Unknown => f.write_str("(known after apply)"),
            Value::Sensitive(_) => f.write_str("(sensitive value)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_sorted_and_deduplicated() {
        let s = Value::set(vec![
            Value::string("b"),
            Value::string("a"),
            Value::string("b"),
        ]);
        assert_eq!(s, Value::Set(vec![Value::string("a"), Value::string("b")]));
    }

    #[test]
    fn marks_are_idempotent_and_removable() {
        let v = Value::string("x").mark_sensitive().mark_sensitive();
        assert!(matches!(&v, Value::Sensitive(inner) if !matches!(**inner, Value::Sensitive(_))));
        let nested = Value::List(vec![Value::Number(1.0), v.clone()]);
        assert!(nested.contains_sensitive());
        let (plain, found) = nested.unmark_deep();
        assert!(found);
        assert!(!plain.contains_sensitive());
        assert_eq!(v.get_attr("a"), None);
    }

    #[test]
    fn unknown_is_tracked_at_depth() {
        let v = Value::map([("a", Value::List(vec![Value::Unknown]))]);
        assert!(v.is_known());
        assert!(!v.is_wholly_known());
        assert_eq!(v.to_json(), None);
        assert!(!Value::Unknown.mark_sensitive().is_known());
    }

    #[test]
    fn json_round_trip_of_known_values() {
        let j: Json = serde_json::json!({"a": [1, 2.5, "x", true, null], "b": {}});
        let v = Value::from_json(&j);
        assert_eq!(v.to_json(), Some(j));
        assert_eq!(
            Value::string("s").mark_sensitive().to_json(),
            Some(Json::String("s".into()))
        );
    }

    #[test]
    fn display_hides_secrets_and_unknowns() {
        let v = Value::map([
            ("p", Value::string("hunter2").mark_sensitive()),
            ("id", Value::Unknown),
            ("n", Value::Number(3.0)),
            ("bad key", Value::Number(0.5)),
        ]);
        assert_eq!(
            v.to_string(),
            r#"{ "bad key" = 0.5, id = (known after apply), n = 3, p = (sensitive value) }"#
        );
    }

    #[test]
    fn quoting_escapes() {
        assert_eq!(quote("a\"b\\c\n"), r#""a\"b\\c\n""#);
    }
}
