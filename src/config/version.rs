//! `required_version` constraints: comma-separated `op version` terms with the operators
//! Terraform accepts (`=`, `!=`, `>`, `>=`, `<`, `<=`, `~>`).

fn parse(v: &str) -> Option<Vec<u64>> {
    let v = v.trim().trim_start_matches('v');
    let core = v.split(['-', '+']).next()?;
    core.split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<Vec<u64>>>()
        .filter(|p| !p.is_empty() && p.len() <= 3)
}

fn padded(v: &[u64]) -> [u64; 3] {
    [
        v.first().copied().unwrap_or(0),
        v.get(1).copied().unwrap_or(0),
        v.get(2).copied().unwrap_or(0),
    ]
}

/// Whether `version` satisfies every term of `constraint`.
pub fn satisfies(version: &str, constraint: &str) -> Result<bool, String> {
    let have = padded(&parse(version).ok_or_else(|| format!("invalid version {version:?}"))?);
    for term in constraint.split(',') {
        let term = term.trim();
        let (op, rest) = ["~>", ">=", "<=", "!=", ">", "<", "="]
            .iter()
            .find_map(|op| term.strip_prefix(op).map(|r| (*op, r)))
            .unwrap_or(("=", term));
        let want_parts = parse(rest).ok_or_else(|| {
            format!("The constraint {constraint:?} is not valid: each term is an operator (=, !=, >, >=, <, <=, ~>) followed by a version such as 0.1.0.")
        })?;
        let want = padded(&want_parts);
        let ok = match op {
            "=" => have == want,
            "!=" => have != want,
            ">" => have > want,
            ">=" => have >= want,
            "<" => have < want,
            "<=" => have <= want,
            _ => {
                // ~> allows the rightmost given component to increase.
                let n = want_parts.len().max(2) - 1;
                have >= want && have[..n] == want[..n]
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::satisfies;

    #[test]
    fn constraints() {
        assert_eq!(satisfies("0.1.0", ">= 0.1"), Ok(true));
        assert_eq!(satisfies("0.1.0", "> 0.1"), Ok(false));
        assert_eq!(satisfies("0.1.5", "~> 0.1.2"), Ok(true));
        assert_eq!(satisfies("0.2.0", "~> 0.1.2"), Ok(false));
        assert_eq!(satisfies("0.9.0", "~> 0.1"), Ok(true));
        assert_eq!(satisfies("1.0.0", "~> 0.1"), Ok(false));
        assert_eq!(satisfies("0.1.0", ">= 0.1, < 1.0, != 0.1.1"), Ok(true));
        assert!(satisfies("0.1.0", ">= banana").is_err());
    }
}
