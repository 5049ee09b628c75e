//! Resource addresses in user syntax: `type.name`, `type.name[0]`, `type.name["key"]`.
//!
//! [`ResourceAddr`] is the identity of a resource (no key) or one of its instances (with a
//! [`InstanceKey`] from `count` or `for_each`). `Display` and `FromStr` use exactly the
//! syntax users write on the command line (`-target`, `-replace`) and see in plans; serde
//! goes through the same string form.

use crate::value::quote;
use std::fmt;
use std::str::FromStr;

/// The key of one instance of a resource with `count` (an index) or `for_each` (a string).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InstanceKey {
    Int(i64),
    Str(String),
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::Int(i) => write!(f, "[{i}]"),
            InstanceKey::Str(s) => write!(f, "[{}]", quote(s)),
        }
    }
}

/// A resource (`key == None`) or resource instance address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceAddr {
    pub resource_type: String,
    pub name: String,
    pub key: Option<InstanceKey>,
}

impl ResourceAddr {
    /// The address of a whole resource.
    pub fn new(resource_type: impl Into<String>, name: impl Into<String>) -> ResourceAddr {
        ResourceAddr {
            resource_type: resource_type.into(),
            name: name.into(),
            key: None,
        }
    }

    /// The address of one instance of this resource.
    pub fn instance(&self, key: Option<InstanceKey>) -> ResourceAddr {
        ResourceAddr {
            key,
            ..self.resource()
        }
    }

    /// The address of the whole resource this instance belongs to.
    pub fn resource(&self) -> ResourceAddr {
        ResourceAddr::new(self.resource_type.clone(), self.name.clone())
    }
}

impl fmt::Display for ResourceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.resource_type, self.name)?;
        if let Some(k) = &self.key {
            write!(f, "{k}")?;
        }
        Ok(())
    }
}

/// Why an address string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid resource address {input:?}: {reason}")]
pub struct AddrParseError {
    pub input: String,
    pub reason: &'static str,
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

impl FromStr for ResourceAddr {
    type Err = AddrParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| AddrParseError {
            input: input.to_string(),
            reason,
        };
        let (head, key_part) = match input.find('[') {
            Some(i) => (&input[..i], Some(&input[i..])),
            None => (input, None),
        };
        let (ty, name) = head
            .split_once('.')
            .ok_or_else(|| err("expected TYPE.NAME"))?;
        if !is_ident(ty) || !is_ident(name) {
            return Err(err("type and name must be identifiers"));
        }
        let key = match key_part {
            None => None,
            Some(k) => {
                let inner = k
                    .strip_prefix('[')
                    .and_then(|k| k.strip_suffix(']'))
                    .ok_or_else(|| err("an instance key must be in brackets"))?;
                if inner.starts_with('"') {
                    let s: String =
                        serde_json::from_str(inner).map_err(|_| err("invalid quoted key"))?;
                    Some(InstanceKey::Str(s))
                } else {
                    let i: i64 = inner
                        .parse()
                        .map_err(|_| err("a key is an integer or a quoted string"))?;
                    if i < 0 {
                        return Err(err("an index cannot be negative"));
                    }
                    Some(InstanceKey::Int(i))
                }
            }
        };
        Ok(ResourceAddr {
            resource_type: ty.to_string(),
            name: name.to_string(),
            key,
        })
    }
}

impl serde::Serialize for ResourceAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ResourceAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        for s in [
            "dms_oci_driver_check.before",
            "dms_oci_driver_check.before[0]",
            r#"dms_oci_driver_upload.driver["svc-a"]"#,
            r#"t.n["quote\"d"]"#,
        ] {
            let a: ResourceAddr = s.parse().expect("valid");
            assert_eq!(a.to_string(), s);
        }
        let a: ResourceAddr = r#"t.n["k"]"#.parse().expect("valid");
        assert_eq!(a.key, Some(InstanceKey::Str("k".into())));
        assert_eq!(a.resource().to_string(), "t.n");
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "t", "t.", ".n", "t.n[", "t.n[x]", "t.n[-1]", "1t.n", "t.n[\"a]",
        ] {
            assert!(s.parse::<ResourceAddr>().is_err(), "{s} should not parse");
        }
    }

    #[test]
    fn serde_uses_user_syntax() {
        let a = ResourceAddr::new("t", "n").instance(Some(InstanceKey::Int(2)));
        let j = serde_json::to_string(&a).expect("serializes");
        assert_eq!(j, "\"t.n[2]\"");
        let back: ResourceAddr = serde_json::from_str(&j).expect("deserializes");
        assert_eq!(back, a);
    }
}
