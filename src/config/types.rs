//! Type constraints (`string`, `list(T)`, `object({…})`, …) and the conversions Terraform
//! applies to make a value fit one: numbers and bools to strings and back, tuples to lists,
//! lists to sets, maps to objects (missing optional attributes become null).

use crate::value::{Value, format_number};
use hcl::edit::Span as _;
use hcl::edit::expr::{Expression, ObjectKey};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

/// A type constraint.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    Any,
    String,
    Number,
    Bool,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    /// Attribute types; the flag marks `optional(…)` attributes, with an optional default.
    Object(BTreeMap<String, ObjectAttr>),
    Tuple(Vec<Type>),
}

/// One attribute of an object type.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectAttr {
    pub ty: Type,
    pub optional: bool,
    pub default: Option<Value>,
}

impl Type {
    /// True for `string`, `number` and `bool`: values from `-var` and the environment are
    /// taken as raw strings for these, parsed as expressions otherwise.
    pub fn is_primitive(&self) -> bool {
        matches!(self, Type::String | Type::Number | Type::Bool)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Any => f.write_str("any"),
            Type::String => f.write_str("string"),
            Type::Number => f.write_str("number"),
            Type::Bool => f.write_str("bool"),
            Type::List(t) => write!(f, "list({t})"),
            Type::Set(t) => write!(f, "set({t})"),
            Type::Map(t) => write!(f, "map({t})"),
            Type::Object(attrs) => {
                f.write_str("object({")?;
                for (i, (k, a)) in attrs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    if a.optional {
                        write!(f, " {k} = optional({})", a.ty)?;
                    } else {
                        write!(f, " {k} = {}", a.ty)?;
                    }
                }
                f.write_str(if attrs.is_empty() { "})" } else { " })" })
            }
            Type::Tuple(ts) => {
                f.write_str("tuple([")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str("])")
            }
        }
    }
}

/// A type expression that is not one: message and the byte range at fault.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeError {
    pub detail: String,
    pub range: Option<Range<usize>>,
}

const KEYWORD_DETAIL: &str = "A type specification is either a primitive type keyword (bool, number, string) or a complex type constructor call, like list(string).";

/// Parses a type constraint expression such as `map(object({ group = string }))`.
pub fn parse_type(expr: &Expression) -> Result<Type, TypeError> {
    parse_inner(expr, false).map(|(t, _, _)| t)
}

fn err(detail: impl Into<String>, expr: &Expression) -> TypeError {
    TypeError {
        detail: detail.into(),
        range: expr.span(),
    }
}

fn parse_inner(
    expr: &Expression,
    in_object: bool,
) -> Result<(Type, bool, Option<Value>), TypeError> {
    match expr {
        Expression::Variable(v) => match v.as_str() {
            "string" => Ok((Type::String, false, None)),
            "number" => Ok((Type::Number, false, None)),
            "bool" => Ok((Type::Bool, false, None)),
            "any" => Ok((Type::Any, false, None)),
            "list" => Ok((Type::List(Box::new(Type::Any)), false, None)),
            "map" => Ok((Type::Map(Box::new(Type::Any)), false, None)),
            "set" => Ok((Type::Set(Box::new(Type::Any)), false, None)),
            other => {
                let hint = crate::diag::did_you_mean(other, ["string", "number", "bool", "any"]);
                Err(err(
                    format!("The keyword \"{other}\" is not a valid type specification.{hint}"),
                    expr,
                ))
            }
        },
        Expression::Parenthesis(p) => parse_inner(p.inner(), in_object),
        Expression::FuncCall(call) => {
            let name = call.name.name.as_str();
            let args: Vec<&Expression> = call.args.iter().collect();
            let one = |what: &str| -> Result<&Expression, TypeError> {
                if args.len() == 1 {
                    Ok(args[0])
                } else {
                    Err(err(
                        format!(
                            "The {name} type constructor requires one argument specifying the {what}."
                        ),
                        expr,
                    ))
                }
            };
            match name {
                "list" => Ok((
                    Type::List(Box::new(parse_type(one("element type")?)?)),
                    false,
                    None,
                )),
                "set" => Ok((
                    Type::Set(Box::new(parse_type(one("element type")?)?)),
                    false,
                    None,
                )),
                "map" => Ok((
                    Type::Map(Box::new(parse_type(one("element type")?)?)),
                    false,
                    None,
                )),
                "tuple" => {
                    let arg = one("element types")?;
                    let Expression::Array(items) = arg else {
                        return Err(err(
                            "The tuple type constructor requires a list of element types.",
                            arg,
                        ));
                    };
                    let ts = items.iter().map(parse_type).collect::<Result<_, _>>()?;
                    Ok((Type::Tuple(ts), false, None))
                }
                "object" => {
                    let arg = one("attribute types")?;
                    let Expression::Object(obj) = arg else {
                        return Err(err(
                            "The object type constructor requires one argument specifying the attribute types as a map.",
                            arg,
                        ));
                    };
                    let mut attrs = BTreeMap::new();
                    for (k, v) in obj.iter() {
                        let key = match k {
                            ObjectKey::Ident(id) => id.as_str().to_string(),
                            ObjectKey::Expression(Expression::String(s)) => s.as_str().to_string(),
                            ObjectKey::Expression(e) => {
                                return Err(err(
                                    "Object constructor map keys must be attribute names.",
                                    e,
                                ));
                            }
                        };
                        let (ty, optional, default) = parse_inner(v.expr(), true)?;
                        attrs.insert(
                            key,
                            ObjectAttr {
                                ty,
                                optional,
                                default,
                            },
                        );
                    }
                    Ok((Type::Object(attrs), false, None))
                }
                "optional" if in_object => {
                    if args.is_empty() || args.len() > 2 {
                        return Err(err(
                            "The optional modifier requires the attribute type and an optional default value.",
                            expr,
                        ));
                    }
                    let ty = parse_type(args[0])?;
                    let default = match args.get(1) {
                        Some(d) => Some(super::eval::eval_constant(d).map_err(|m| {
                            err(format!("Invalid default for optional attribute: {m}"), d)
                        })?),
                        None => None,
                    };
                    Ok((ty, true, default))
                }
                "optional" => Err(err(
                    "Keyword \"optional\" is valid only as a modifier for object type attributes.",
                    expr,
                )),
                other => Err(err(
                    format!("Keyword \"{other}\" is not a valid type constructor."),
                    expr,
                )),
            }
        }
        _ => Err(err(KEYWORD_DETAIL, expr)),
    }
}

/// Converts `value` to type `ty` as Terraform does, or says why it cannot.
/// Unknown values stay unknown; sensitivity marks are kept.
pub fn convert(value: &Value, ty: &Type) -> Result<Value, String> {
    convert_at(value, ty, "")
}

fn at(path: &str, msg: String) -> String {
    if path.is_empty() {
        msg
    } else {
        format!("{path}: {msg}")
    }
}

fn convert_at(value: &Value, ty: &Type, path: &str) -> Result<Value, String> {
    match value {
        Value::Sensitive(inner) => return Ok(convert_at(inner, ty, path)?.mark_sensitive()),
        Value::Unknown | Value::Null => return Ok(value.clone()),
        _ => {}
    }
    match ty {
        Type::Any => Ok(value.clone()),
        Type::String => match value {
            Value::String(_) => Ok(value.clone()),
            Value::Number(n) => Ok(Value::String(format_number(*n))),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            _ => Err(at(path, "string required".into())),
        },
        Type::Number => match value {
            Value::Number(_) => Ok(value.clone()),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && !s.trim().is_empty())
                .map(Value::Number)
                .ok_or_else(|| at(path, "a number is required".into())),
            _ => Err(at(path, "number required".into())),
        },
        Type::Bool => match value {
            Value::Bool(_) => Ok(value.clone()),
            Value::String(s) if s == "true" => Ok(Value::Bool(true)),
            Value::String(s) if s == "false" => Ok(Value::Bool(false)),
            Value::String(_) => Err(at(path, "a bool is required".into())),
            _ => Err(at(path, "bool required".into())),
        },
        Type::List(elem) | Type::Set(elem) => {
            let items = match value {
                Value::List(items) | Value::Set(items) => items,
                _ => return Err(at(path, format!("{ty} required"))),
            };
            let converted = items
                .iter()
                .enumerate()
                .map(|(i, v)| convert_at(v, elem, &format!("{}element {i}", prefix(path))))
                .collect::<Result<Vec<_>, _>>()?;
            if matches!(ty, Type::Set(_)) {
                Ok(Value::set(converted))
            } else {
                Ok(Value::List(converted))
            }
        }
        Type::Map(elem) => match value {
            Value::Map(m) => Ok(Value::Map(
                m.iter()
                    .map(|(k, v)| {
                        Ok((
                            k.clone(),
                            convert_at(v, elem, &format!("{}element {k:?}", prefix(path)))?,
                        ))
                    })
                    .collect::<Result<_, String>>()?,
            )),
            _ => Err(at(path, format!("{ty} required"))),
        },
        Type::Object(attrs) => match value {
            Value::Map(m) => {
                let mut out = BTreeMap::new();
                for (k, a) in attrs {
                    let sub = format!("{path}.{k}");
                    let v = match m.get(k) {
                        Some(v) if !v.is_null() => convert_at(v, &a.ty, &sub)?,
                        Some(_) | None if a.optional => match &a.default {
                            Some(d) => convert_at(d, &a.ty, &sub)?,
                            None => Value::Null,
                        },
                        Some(v) => v.clone(),
                        None => return Err(at(path, format!("attribute \"{k}\" is required"))),
                    };
                    out.insert(k.clone(), v);
                }
                Ok(Value::Map(out))
            }
            _ => Err(at(path, "object required".into())),
        },
        Type::Tuple(types) => match value {
            Value::List(items) | Value::Set(items) if items.len() == types.len() => {
                Ok(Value::List(
                    items
                        .iter()
                        .zip(types)
                        .enumerate()
                        .map(|(i, (v, t))| {
                            convert_at(v, t, &format!("{}element {i}", prefix(path)))
                        })
                        .collect::<Result<_, _>>()?,
                ))
            }
            _ => Err(at(
                path,
                format!("tuple required with {} elements", types.len()),
            )),
        },
    }
}

fn prefix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}: ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(src: &str) -> Type {
        parse_type(&hcl::edit::parser::parse_expr(src).expect("parses")).expect("valid type")
    }

    #[test]
    fn parses_and_displays_types() {
        for s in [
            "string",
            "number",
            "bool",
            "any",
            "list(string)",
            "set(number)",
            "map(object({ group = string }))",
            "tuple([string, number])",
            "object({ a = optional(string), b = bool })",
        ] {
            assert_eq!(ty(s).to_string(), s);
        }
        assert_eq!(ty("list"), Type::List(Box::new(Type::Any)));
    }

    #[test]
    fn rejects_bad_types_with_suggestion() {
        let e = parse_type(&hcl::edit::parser::parse_expr("strng").expect("parses")).unwrap_err();
        assert!(
            e.detail.contains("Did you mean \"string\"?"),
            "{}",
            e.detail
        );
        assert!(e.range.is_some());
        for bad in [
            "list(string, number)",
            "\"string\"",
            "optional(string)",
            "foo(string)",
            "object(string)",
        ] {
            assert!(
                parse_type(&hcl::edit::parser::parse_expr(bad).expect("parses")).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn primitive_conversions_follow_terraform() {
        assert_eq!(
            convert(&Value::Number(5.0), &Type::String),
            Ok(Value::string("5"))
        );
        assert_eq!(
            convert(&Value::Bool(true), &Type::String),
            Ok(Value::string("true"))
        );
        assert_eq!(
            convert(&Value::string("1.5"), &Type::Number),
            Ok(Value::Number(1.5))
        );
        assert_eq!(
            convert(&Value::string("false"), &Type::Bool),
            Ok(Value::Bool(false))
        );
        assert_eq!(
            convert(&Value::string("abc"), &Type::Number),
            Err("a number is required".into())
        );
        assert_eq!(
            convert(&Value::string("yes"), &Type::Bool),
            Err("a bool is required".into())
        );
        assert_eq!(
            convert(&Value::List(vec![]), &Type::String),
            Err("string required".into())
        );
        assert_eq!(convert(&Value::Null, &Type::String), Ok(Value::Null));
        assert_eq!(convert(&Value::Unknown, &Type::Number), Ok(Value::Unknown));
    }

    #[test]
    fn collection_conversions() {
        let tuple = Value::List(vec![
            Value::string("b"),
            Value::Number(1.0),
            Value::string("b"),
        ]);
        assert_eq!(
            convert(&tuple, &ty("set(string)")),
            Ok(Value::Set(vec![Value::string("1"), Value::string("b")]))
        );
        assert_eq!(
            convert(&tuple, &ty("list(number)")),
            Err("element 0: a number is required".into())
        );
        let obj = Value::map([("a", Value::map([("group", Value::Number(1.0))]))]);
        assert_eq!(
            convert(
                &obj,
                &ty("map(object({ group = string, extra = optional(bool, true) }))")
            ),
            Ok(Value::map([(
                "a",
                Value::map([("group", Value::string("1")), ("extra", Value::Bool(true))])
            )]))
        );
        assert_eq!(
            convert(
                &Value::map([("x", Value::Null)]),
                &ty("object({ y = string })")
            ),
            Err("attribute \"y\" is required".into())
        );
        assert_eq!(
            convert(
                &Value::List(vec![Value::Number(1.0)]),
                &ty("tuple([string])")
            ),
            Ok(Value::List(vec![Value::string("1")]))
        );
        assert!(convert(&Value::List(vec![]), &ty("tuple([string])")).is_err());
        assert!(convert(&Value::string("x"), &ty("map(string)")).is_err());
    }

    #[test]
    fn conversion_keeps_marks_and_unknowns() {
        let v = Value::List(vec![Value::Number(1.0).mark_sensitive(), Value::Unknown]);
        let out = convert(&v, &ty("list(string)")).expect("converts");
        assert_eq!(
            out,
            Value::List(vec![Value::string("1").mark_sensitive(), Value::Unknown])
        );
    }
}
