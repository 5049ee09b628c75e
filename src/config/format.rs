//! `format` and `formatlist`: printf-style formatting with Terraform's verbs
//! (`%v %s %q %d %f %e %g %t %x %X %o %b %%`, flags `-+0 `, width and precision).

use super::funcs::{arg_err, primitive_string};
use crate::value::{Value, format_number};

struct Spec {
    left: bool,
    plus: bool,
    zero: bool,
    space: bool,
    width: Option<usize>,
    precision: Option<usize>,
    verb: char,
}

/// Formats `args` according to `fmt`.
pub fn sprintf(fmt: &str, args: &[Value]) -> Result<Value, String> {
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    let mut next = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec {
            left: false,
            plus: false,
            zero: false,
            space: false,
            width: None,
            precision: None,
            verb: 'v',
        };
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.left = true,
                '+' => spec.plus = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                '#' => {}
                _ => break,
            }
            chars.next();
        }
        let mut digits = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(d);
            chars.next();
        }
        spec.width = digits.parse().ok().filter(|w: &usize| *w <= 1024);
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut digits = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(d);
                chars.next();
            }
            spec.precision = Some(digits.parse().unwrap_or(0).min(64));
        }
        let Some(verb) = chars.next() else {
            return Err("format string ends with an incomplete verb".into());
        };
        spec.verb = verb;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            return Err(format!(
                "not enough arguments for \"%{verb}\" at {}: need index {} but have {} total",
                out.chars().count(),
                next + 1,
                args.len()
            ));
        };
        let text = render(&spec, arg).map_err(|m| arg_err(next + 1, m))?;
        next += 1;
        out.push_str(&pad(&spec, text));
    }
    if next < args.len() {
        return Err(format!(
            "too many arguments; only {next} used by format string"
        ));
    }
    Ok(Value::String(out))
}

fn pad(spec: &Spec, text: String) -> String {
    let Some(w) = spec.width else { return text };
    let len = text.chars().count();
    if len >= w {
        return text;
    }
    let fill = w - len;
    if spec.left {
        format!("{text}{}", " ".repeat(fill))
    } else if spec.zero && matches!(spec.verb, 'd' | 'f' | 'e' | 'g' | 'x' | 'X' | 'o' | 'b') {
        let (sign, digits) = match text.strip_prefix(['-', '+']) {
            Some(rest) => (&text[..1], rest),
            None => ("", text.as_str()),
        };
        format!("{sign}{}{digits}", "0".repeat(fill))
    } else {
        format!("{}{text}", " ".repeat(fill))
    }
}

fn signed(spec: &Spec, n: f64, body: String) -> String {
    if n >= 0.0 && spec.plus {
        format!("+{body}")
    } else if n >= 0.0 && spec.space {
        format!(" {body}")
    } else {
        body
    }
}

fn number(arg: &Value) -> Result<f64, String> {
    match arg {
        Value::Number(n) => Ok(*n),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| "a number is required".to_string()),
        other => Err(format!("number required, not {}", other.type_name())),
    }
}

fn integer(arg: &Value, verb: char) -> Result<i64, String> {
    let n = number(arg)?;
    if n.fract() != 0.0 {
        return Err(format!(
            "unsupported value for \"%{verb}\": number has a fractional part"
        ));
    }
    Ok(n as i64)
}

fn render(spec: &Spec, arg: &Value) -> Result<String, String> {
    Ok(match spec.verb {
        'v' => match arg {
            Value::String(s) => s.clone(),
            Value::Null => "null".into(),
            Value::List(_) | Value::Set(_) | Value::Map(_) => {
                arg.to_json().map(|j| j.to_string()).unwrap_or_default()
            }
            other => primitive_string(other).unwrap_or_default(),
        },
        's' => {
            let s = primitive_string(arg)
                .ok_or_else(|| format!("string required, not {}", arg.type_name()))?;
            match spec.precision {
                Some(p) => s.chars().take(p).collect(),
                None => s,
            }
        }
        'q' => {
            let s = primitive_string(arg)
                .ok_or_else(|| format!("string required, not {}", arg.type_name()))?;
            serde_json::Value::String(s).to_string()
        }
        't' => match arg {
            Value::Bool(b) => b.to_string(),
            Value::String(s) if s == "true" || s == "false" => s.clone(),
            other => return Err(format!("bool required, not {}", other.type_name())),
        },
        'd' => {
            let n = integer(arg, 'd')?;
            signed(spec, n as f64, n.to_string())
        }
        'x' => format!("{:x}", integer(arg, 'x')?),
        'X' => format!("{:X}", integer(arg, 'X')?),
        'o' => format!("{:o}", integer(arg, 'o')?),
        'b' => format!("{:b}", integer(arg, 'b')?),
        'f' => {
            let n = number(arg)?;
            signed(spec, n, format!("{:.*}", spec.precision.unwrap_or(6), n))
        }
        'e' => {
            let n = number(arg)?;
            signed(spec, n, format!("{:.*e}", spec.precision.unwrap_or(6), n))
        }
        'g' => {
            let n = number(arg)?;
            signed(spec, n, format_number(n))
        }
        other => return Err(format!("unrecognized format verb \"%{other}\"")),
    })
}

/// `formatlist`: list arguments are iterated together (all of the same length), other
/// arguments repeat.
pub fn format_list(fmt: &str, args: &[Value]) -> Result<Value, String> {
    let mut len: Option<usize> = None;
    for (i, a) in args.iter().enumerate() {
        if let Value::List(items) | Value::Set(items) = a {
            match len {
                Some(l) if l != items.len() => {
                    return Err(arg_err(
                        i + 1,
                        format!(
                            "argument {} has length {}, which is inconsistent with {l}",
                            i + 1,
                            items.len()
                        ),
                    ));
                }
                _ => len = Some(items.len()),
            }
        }
    }
    let n = len.unwrap_or(1);
    let mut out = Vec::with_capacity(n);
    for row in 0..n {
        let row_args: Vec<Value> = args
            .iter()
            .map(|a| match a {
                Value::List(items) | Value::Set(items) => items[row].clone(),
                other => other.clone(),
            })
            .collect();
        out.push(sprintf(fmt, &row_args)?);
    }
    Ok(Value::List(out))
}
