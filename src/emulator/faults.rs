//! Fault injection: rules chosen by operation, task name, count or seeded probability,
//! set by `--fault` flags or at run time through `/_emulator/faults`.

use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};

/// The operation a request performs, as fault rules and the request log name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Put,
    Get,
    Patch,
    Delete,
    Cancel,
    List,
    Any,
}

impl Op {
    fn parse(s: &str) -> Result<Op, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "put" | "create" => Op::Put,
            "get" => Op::Get,
            "patch" | "update" => Op::Patch,
            "delete" => Op::Delete,
            "cancel" => Op::Cancel,
            "list" => Op::List,
            "any" | "*" => Op::Any,
            other => {
                return Err(format!(
                    "unknown operation {other:?} (put, get, patch, delete, cancel, list, any)"
                ));
            }
        })
    }
}

/// What a matching rule does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with this HTTP status and an ARM error envelope.
    Status,
    /// Drop the connection before a complete response is sent.
    Drop,
    /// Delay the response by `ms` milliseconds, then serve it normally.
    Latency,
    /// The created task ends `Failed` with task-level errors.
    TaskFail,
    /// The created task ends `Faulted` with task-level errors.
    TaskFault,
}

/// One fault rule. Unset selectors match everything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    pub kind: FaultKind,
    #[serde(default = "any_op")]
    pub op: Op,
    /// Task name (case-insensitive); matches only requests naming that task.
    #[serde(default)]
    pub task: Option<String>,
    /// Fire at most this many times.
    #[serde(default)]
    pub count: Option<u64>,
    /// Fire with this probability (0..=1), drawn from the emulator's seeded generator.
    #[serde(default)]
    pub probability: Option<f64>,
    /// HTTP status for `status` (default 503).
    #[serde(default)]
    pub status: Option<u16>,
    /// ARM error code for `status` (defaults by status).
    #[serde(default)]
    pub code: Option<String>,
    /// ARM error message for `status`.
    #[serde(default)]
    pub message: Option<String>,
    /// `Retry-After` seconds to send with `status`.
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// Delay for `latency`.
    #[serde(default)]
    pub ms: Option<u64>,
}

fn any_op() -> Op {
    Op::Any
}

impl FaultRule {
    /// Parses the flag form: `kind=status,status=429,retry_after=1,op=put,task=t1,count=2`.
    pub fn parse(spec: &str) -> Result<FaultRule, String> {
        let mut rule = FaultRule {
            kind: FaultKind::Status,
            op: Op::Any,
            task: None,
            count: None,
            probability: None,
            status: None,
            code: None,
            message: None,
            retry_after: None,
            ms: None,
        };
        let mut kind_seen = false;
        for part in spec.split(',').filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("fault option {part:?} must be key=value"))?;
            let num = |v: &str| {
                v.parse::<u64>()
                    .map_err(|_| format!("{k}={v}: not a whole number"))
            };
            match k {
                "kind" => {
                    kind_seen = true;
                    rule.kind = match v {
                        "status" => FaultKind::Status,
                        "drop" => FaultKind::Drop,
                        "latency" => FaultKind::Latency,
                        "task_fail" => FaultKind::TaskFail,
                        "task_fault" => FaultKind::TaskFault,
                        _ => {
                            return Err(format!(
                                "unknown fault kind {v:?} (status, drop, latency, task_fail, task_fault)"
                            ));
                        }
                    }
                }
                "op" => rule.op = Op::parse(v)?,
                "task" => rule.task = Some(v.to_string()),
                "count" => rule.count = Some(num(v)?),
                "probability" => {
                    let p: f64 = v
                        .parse()
                        .map_err(|_| format!("probability={v}: not a number"))?;
                    if !(0.0..=1.0).contains(&p) {
                        return Err(format!("probability={v}: must be between 0 and 1"));
                    }
                    rule.probability = Some(p)
                }
                "status" => {
                    let s = num(v)?;
                    if !(400..=599).contains(&s) {
                        return Err(format!(
                            "status={v}: must be an HTTP error status (400-599)"
                        ));
                    }
                    rule.status = Some(s as u16)
                }
                "code" => rule.code = Some(v.to_string()),
                "message" => rule.message = Some(v.to_string()),
                "retry_after" => rule.retry_after = Some(num(v)?),
                "ms" => rule.ms = Some(num(v)?),
                _ => return Err(format!("unknown fault option {k:?}")),
            }
        }
        if !kind_seen {
            return Err(format!(
                "fault {spec:?} names no kind= (status, drop, latency, task_fail, task_fault)"
            ));
        }
        Ok(rule)
    }

    /// The ARM error code sent with a `status` fault.
    pub fn error_code(&self) -> String {
        if let Some(c) = &self.code {
            return c.clone();
        }
        match self.status.unwrap_or(503) {
            401 => "ExpiredAuthenticationToken",
            403 => "AuthorizationFailed",
            409 => "Conflict",
            429 => "SubscriptionRequestsThrottled",
            500 => "InternalServerError",
            502 => "BadGateway",
            503 => "ServiceUnavailable",
            504 => "GatewayTimeout",
            _ => "InjectedFault",
        }
        .to_string()
    }
}

/// The rule set with its counters and random generator.
pub struct Faults {
    rules: Vec<(FaultRule, u64)>,
    rng: StdRng,
}

impl Faults {
    pub fn new(rules: Vec<FaultRule>, seed: u64) -> Faults {
        Faults {
            rules: rules.into_iter().map(|r| (r, 0)).collect(),
            rng: StdRng::seed_from_u64(seed),
        }
    }

    pub fn add(&mut self, rule: FaultRule) {
        self.rules.push((rule, 0));
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn rules(&self) -> Vec<FaultRule> {
        self.rules.iter().map(|(r, _)| r.clone()).collect()
    }

    /// Every rule of the given kinds that fires for this request, in order; each firing
    /// uses up one of its count.
    pub fn fire(&mut self, op: Op, task: Option<&str>, kinds: &[FaultKind]) -> Vec<FaultRule> {
        let mut fired = Vec::new();
        for (rule, used) in &mut self.rules {
            if !kinds.contains(&rule.kind) {
                continue;
            }
            if rule.op != Op::Any && rule.op != op {
                continue;
            }
            if let Some(want) = &rule.task
                && !task.is_some_and(|t| t.eq_ignore_ascii_case(want))
            {
                continue;
            }
            if rule.count.is_some_and(|c| *used >= c) {
                continue;
            }
            if let Some(p) = rule.probability
                && self.rng.random::<f64>() >= p
            {
                continue;
            }
            *used += 1;
            fired.push(rule.clone());
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flag_form() {
        let r = FaultRule::parse("kind=status,status=429,retry_after=2,op=put,task=t1,count=3")
            .unwrap();
        assert_eq!(r.kind, FaultKind::Status);
        assert_eq!(r.status, Some(429));
        assert_eq!(r.op, Op::Put);
        assert_eq!(r.error_code(), "SubscriptionRequestsThrottled");
        assert!(FaultRule::parse("status=500").is_err());
        assert!(FaultRule::parse("kind=boom").is_err());
        assert!(FaultRule::parse("kind=status,status=200").is_err());
        assert!(FaultRule::parse("kind=drop,probability=2").is_err());
    }

    #[test]
    fn count_task_and_op_select() {
        let mut f = Faults::new(
            vec![FaultRule::parse("kind=drop,op=get,task=A,count=2").unwrap()],
            1,
        );
        let k = [FaultKind::Drop];
        assert!(f.fire(Op::Put, Some("a"), &k).is_empty());
        assert!(f.fire(Op::Get, Some("b"), &k).is_empty());
        assert_eq!(f.fire(Op::Get, Some("a"), &k).len(), 1);
        assert_eq!(f.fire(Op::Get, Some("a"), &k).len(), 1);
        assert!(f.fire(Op::Get, Some("a"), &k).is_empty());
    }

    #[test]
    fn probability_is_seeded() {
        let rule = FaultRule::parse("kind=latency,ms=1,probability=0.5").unwrap();
        let draw = |seed| {
            let mut f = Faults::new(vec![rule.clone()], seed);
            (0..64)
                .map(|_| !f.fire(Op::Get, None, &[FaultKind::Latency]).is_empty())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        let hits = draw(7).iter().filter(|h| **h).count();
        assert!((16..=48).contains(&hits), "{hits} of 64");
    }
}
