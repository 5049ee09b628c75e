//! Every built-in function, through the evaluator, plus operators and type conversions.

use dmsform::config::{Config, Evaluator, Expr, Mode, NoState, Scope};
use dmsform::value::Value;
use serde_json::json;

fn eval_in(dir: &std::path::Path, src: &str) -> Result<Value, String> {
    let expr = hcl::edit::parser::parse_expr(src).map_err(|e| e.to_string())?;
    let cfg = Config {
        dir: dir.to_path_buf(),
        ..Config::default()
    };
    let ev = Evaluator::new(&cfg, &NoState, Mode::Plan);
    let e = Expr {
        file: "t.hcl".into(),
        expr,
        range: 0..src.len(),
    };
    ev.eval(&e, &Scope::default()).map_err(|d| {
        d.iter()
            .map(|d| format!("{}: {}", d.summary, d.detail))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

fn eval(src: &str) -> Result<Value, String> {
    eval_in(std::path::Path::new("."), src)
}

fn j(src: &str) -> serde_json::Value {
    match eval(src) {
        Ok(v) => v
            .to_json()
            .unwrap_or_else(|| panic!("{src} is not wholly known")),
        Err(e) => panic!("{src} failed: {e}"),
    }
}

fn fails(src: &str, needle: &str) {
    match eval(src) {
        Ok(v) => panic!("{src} should fail but gave {v}"),
        Err(e) => assert!(
            e.contains(needle),
            "{src}: {e:?} does not contain {needle:?}"
        ),
    }
}

#[test]
fn length_lookup_merge_keys_values() {
    assert_eq!(j(r#"length("héllo")"#), json!(5));
    assert_eq!(j("length([1, 2, 3])"), json!(3));
    assert_eq!(j("length({a = 1})"), json!(1));
    fails("length(5)", "Invalid value for \"value\" parameter");
    assert_eq!(j(r#"lookup({a = 1}, "a")"#), json!(1));
    assert_eq!(j(r#"lookup({a = 1}, "b", 2)"#), json!(2));
    fails(r#"lookup({a = 1}, "b")"#, "lookup failed to find key");
    assert_eq!(
        j("merge({a = 1, b = 2}, {b = 3}, null)"),
        json!({"a": 1, "b": 3})
    );
    fails("merge({a = 1}, [1])", "map or object required");
    assert_eq!(j("keys({b = 1, a = 2})"), json!(["a", "b"]));
    assert_eq!(j("values({b = 1, a = 2})"), json!([2, 1]));
}

#[test]
fn concat_contains_format_formatlist() {
    assert_eq!(j("concat([1], [], [2, 3])"), json!([1, 2, 3]));
    fails("concat([1], 2)", "list required");
    assert_eq!(j(r#"contains(["a", "b"], "b")"#), json!(true));
    assert_eq!(j(r#"contains(["a", "b"], "c")"#), json!(false));
    assert_eq!(
        j(r#"format("%s-%03d-%.2f-%t-%q-%v%%", "a", 7, 3.14159, true, "x", 5)"#),
        json!("a-007-3.14-true-\"x\"-5%")
    );
    assert_eq!(
        j(r#"format("%-4s|%4s|%+d", "ab", "cd", 3)"#),
        json!("ab  |  cd|+3")
    );
    fails(r#"format("%s %s", "a")"#, "not enough arguments");
    fails(r#"format("%d", 1.5)"#, "fractional part");
    fails(r#"format("%s", "a", "b")"#, "too many arguments");
    assert_eq!(
        j(r#"formatlist("%s=%s", ["a", "b"], "x")"#),
        json!(["a=x", "b=x"])
    );
    fails(r#"formatlist("%s%s", ["a"], ["b", "c"])"#, "inconsistent");
}

#[test]
fn string_functions() {
    assert_eq!(j(r#"join(",", ["a", "b"], ["c"])"#), json!("a,b,c"));
    assert_eq!(j(r#"join("-", [1, true])"#), json!("1-true"));
    assert_eq!(j(r#"split(",", "a,b,,c")"#), json!(["a", "b", "", "c"]));
    assert_eq!(j(r#"lower("AbC")"#), json!("abc"));
    assert_eq!(j(r#"upper("AbC")"#), json!("ABC"));
    assert_eq!(j(r#"replace("a-b-c", "-", "+")"#), json!("a+b+c"));
    assert_eq!(j(r#"startswith("hello", "he")"#), json!(true));
    assert_eq!(j(r#"endswith("hello", "he")"#), json!(false));
    assert_eq!(j(r#"trimspace("  x \n")"#), json!("x"));
    fails("upper([1])", "string required");
}

#[test]
fn conversion_functions() {
    assert_eq!(j("tostring(5)"), json!("5"));
    assert_eq!(j("tostring(true)"), json!("true"));
    fails("tostring([1])", "cannot convert tuple to string");
    assert_eq!(j(r#"tonumber("42")"#), json!(42));
    fails(r#"tonumber("x")"#, "cannot convert");
    assert_eq!(j("tonumber(null)"), json!(null));
    assert_eq!(
        eval(r#"toset(["b", "a", "b"])"#),
        Ok(Value::Set(vec![Value::string("a"), Value::string("b")]))
    );
    assert_eq!(j(r#"toset(["a", 1])"#), json!(["1", "a"]));
    assert_eq!(j(r#"tolist(toset(["b", "a"]))"#), json!(["a", "b"]));
    assert_eq!(j(r#"tomap({a = 1, b = "x"})"#), json!({"a": "1", "b": "x"}));
    fails("tomap([1])", "cannot convert");
}

#[test]
fn file_json_and_hash() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("f.txt"), "content\n").expect("write");
    assert_eq!(
        eval_in(dir.path(), r#"file("f.txt")"#),
        Ok(Value::string("content\n"))
    );
    let e = eval_in(dir.path(), r#"file("missing.txt")"#).unwrap_err();
    assert!(e.contains("no file exists"), "{e}");
    assert_eq!(
        j(r#"jsonencode({a = [1, "x", null]})"#),
        json!(r#"{"a":[1,"x",null]}"#)
    );
    assert_eq!(
        j(r#"jsondecode("{\"a\": [1, true]}")"#),
        json!({"a": [1, true]})
    );
    fails(r#"jsondecode("{")"#, "invalid JSON");
    assert_eq!(
        j(r#"sha256("abc")"#),
        json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
}

#[test]
fn coalesce_try_can() {
    assert_eq!(j(r#"coalesce(null, "", "x", "y")"#), json!("x"));
    fails("coalesce(null)", "no non-null");
    assert_eq!(j(r#"try({a = 1}.b, "fallback")"#), json!("fallback"));
    assert_eq!(j(r#"try({a = 1}.a, "fallback")"#), json!(1));
    fails(r#"try({}.x)"#, "no expression succeeded");
    assert_eq!(j("can([1][5])"), json!(false));
    assert_eq!(j("can([1][0])"), json!(true));
}

#[test]
fn collection_functions() {
    assert_eq!(j("range(3)"), json!([0, 1, 2]));
    assert_eq!(j("range(1, 4)"), json!([1, 2, 3]));
    assert_eq!(j("range(10, 0, -4)"), json!([10, 6, 2]));
    fails("range(0, 1, 0)", "step must not be zero");
    fails("range(5000)", "more than 1024");
    assert_eq!(j("flatten([[1, [2]], 3, []])"), json!([1, 2, 3]));
    assert_eq!(j("distinct([1, 2, 1, 3, 2])"), json!([1, 2, 3]));
    assert_eq!(j(r#"element(["a", "b"], 3)"#), json!("b"));
    fails("element([], 0)", "empty list");
    assert_eq!(j(r#"zipmap(["a", "b"], [1, 2])"#), json!({"a": 1, "b": 2}));
    fails(r#"zipmap(["a"], [1, 2])"#, "does not match");
}

#[test]
fn arity_and_unknown_function_errors() {
    fails("length()", "Not enough function arguments");
    fails("length(1, 2)", "Too many function arguments");
    fails("lenght([])", "Did you mean \"length\"?");
    assert_eq!(j("concat([1], [[2, 3]]...)"), json!([1, 2, 3]));
}

#[test]
fn operators_conditionals_templates_for_and_splat() {
    assert_eq!(j("1 + 2 * 3 - 4 / 2 % 3"), json!(5));
    assert_eq!(j(r#""2" + 1"#), json!(3));
    fails("1 / 0", "divide by zero");
    fails(r#"1 + "x""#, "a number is required");
    assert_eq!(j("1 < 2 && !false || false"), json!(true));
    assert_eq!(j(r#"[1, "a"] == [1, "a"]"#), json!(true));
    assert_eq!(j(r#"true ? "y" : "n""#), json!("y"));
    fails(r#"5 ? 1 : 2"#, "must be of type bool");
    assert_eq!(
        j(r#""a${1 + 1}b%{ if true }T%{ else }F%{ endif }%{ for x in [1, 2] }${x}%{ endfor }""#),
        json!("a2bT12")
    );
    fails(r#""${null}""#, "null value");
    assert_eq!(j(r#""a   ${~ "b" ~}   c""#), json!("abc"));
    assert_eq!(j("[for x in [1, 2, 3] : x * 2 if x != 2]"), json!([2, 6]));
    assert_eq!(
        j(r#"{for k, v in {a = 1, b = 2} : v => k}"#),
        json!({"1": "a", "2": "b"})
    );
    assert_eq!(
        j(r#"{for x in ["a", "b", "a"] : x => x...}"#),
        json!({"a": ["a", "a"], "b": ["b"]})
    );
    fails(r#"{for x in ["a", "a"] : x => x}"#, "Duplicate object key");
    assert_eq!(j("[{a = 1}, {a = 2}][*].a"), json!([1, 2]));
    assert_eq!(j("[{a = {b = 1}}].*.a.b"), json!([1]));
    assert_eq!(j("null[*]"), json!([]));
    fails("[1][3]", "out of range");
    fails("{a = 1}.b", "does not have an attribute named \"b\"");
    fails("toset([1])[0]", "set are identified only by their value");
}
