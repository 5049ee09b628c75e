//! The retry policy: a pure function from (method, failure, attempt, now, jitter) to
//! "retry in N" or "stop". The caller sleeps; this module never does.
//!
//! Rules (spec §7.4, the official SDK's behaviour):
//! - A response carrying `retry-after-ms`, `x-ms-retry-after-ms` or `Retry-After` (in that
//!   order of preference) on 408, 429 or any 5xx is retried whatever the method, after
//!   exactly the delay the service asked for.
//! - Without such a header, GET/PUT/DELETE are retried on 408, 429, 500, 502, 503, 504, and
//!   POST/PATCH only on 500, 503, 504 (a 502 on POST `/cancel` is not retried).
//! - A connection that could not be established never carried the request, so it is
//!   retried for every method. A connection that dropped or timed out after the request
//!   was written may have been applied: only idempotent methods (GET/PUT/DELETE) are
//!   retried, POST `/cancel` and PATCH surface the error so the caller can re-read the
//!   task instead of acting twice blindly.
//! - Backoff is exponential from `initial_backoff`, doubled per retry, capped at
//!   `max_backoff`, and jittered into [0.8, 1.2] of that value; attempts are capped at
//!   `max_attempts` and the sum of all delays at `max_total_delay`. A server-requested
//!   delay that would break the total budget ends the retries at once.

use reqwest::Method;
use reqwest::header::HeaderMap;
use std::time::{Duration, SystemTime};

/// Tunables of the retry policy.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included.
    pub max_attempts: u32,
    /// Backoff before the first retry.
    pub initial_backoff: Duration,
    /// Cap on a single computed backoff (not on a server-requested delay).
    pub max_backoff: Duration,
    /// Cap on the sum of all delays of one operation.
    pub max_total_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(800),
            max_backoff: Duration::from_secs(30),
            max_total_delay: Duration::from_secs(180),
        }
    }
}

/// What went wrong with one attempt.
#[derive(Debug, Clone, Copy)]
pub enum Failure<'a> {
    /// The service answered with this status and headers.
    Status { status: u16, headers: &'a HeaderMap },
    /// No connection could be made: the request was never sent.
    Connect,
    /// The connection dropped or timed out after the request may have been sent.
    Dropped,
}

/// Where an operation stands when a failure is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// Attempts made so far, the failed one included (1 after the first failure).
    pub number: u32,
    /// Sum of the delays already slept for this operation.
    pub delayed: Duration,
}

/// Why the policy stopped retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// This failure is not retryable for this method.
    NotRetryable,
    /// `max_attempts` reached.
    AttemptsExhausted,
    /// Waiting would exceed `max_total_delay`.
    BudgetExhausted,
}

/// The policy's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    RetryAfter(Duration),
    Stop(Stop),
}

fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::PUT | Method::DELETE | Method::HEAD | Method::OPTIONS
    )
}

impl RetryPolicy {
    /// Decides whether to retry after `failure`. `now` is used to read HTTP-date
    /// `Retry-After` values; `jitter` is a sample in `[0, 1)` supplied by the caller.
    pub fn decide(
        &self,
        method: &Method,
        failure: Failure<'_>,
        attempt: Attempt,
        now: SystemTime,
        jitter: f64,
    ) -> Decision {
        let server_delay = match failure {
            Failure::Status { status, headers } => {
                let requested = server_requested_delay(headers, now);
                let retryable = match requested {
                    Some(_) => status == 408 || status == 429 || (500..=599).contains(&status),
                    None if is_idempotent(method) => {
                        matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
                    }
                    None => matches!(status, 500 | 503 | 504),
                };
                if !retryable {
                    return Decision::Stop(Stop::NotRetryable);
                }
                requested
            }
            Failure::Connect => None,
            Failure::Dropped if is_idempotent(method) => None,
            Failure::Dropped => return Decision::Stop(Stop::NotRetryable),
        };
        if attempt.number >= self.max_attempts {
            return Decision::Stop(Stop::AttemptsExhausted);
        }
        let delay = server_delay.unwrap_or_else(|| self.backoff(attempt.number, jitter));
        if attempt.delayed.saturating_add(delay) > self.max_total_delay {
            return Decision::Stop(Stop::BudgetExhausted);
        }
        Decision::RetryAfter(delay)
    }

    /// The jittered backoff before retry number `retry` (1-based).
    pub fn backoff(&self, retry: u32, jitter: f64) -> Duration {
        let exp = retry.saturating_sub(1).min(30);
        let base = self
            .initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        let factor = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
        base.mul_f64(factor)
    }
}

/// The delay the service asked for, from `retry-after-ms`, `x-ms-retry-after-ms` or
/// `Retry-After` (seconds or an HTTP date, relative to `now`). Unparsable values are
/// ignored; a date in the past means "now".
pub fn server_requested_delay(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|ms| ms.is_finite() && *ms >= 0.0)
        {
            return Some(Duration::from_secs_f64(ms / 1000.0));
        }
    }
    let raw = headers.get("retry-after")?.to_str().ok()?.trim();
    parse_retry_after(raw, now)
}

/// Parses a `Retry-After` value: delta-seconds or an HTTP date.
pub fn parse_retry_after(raw: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(secs) = raw.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(raw, &format)
        .ok()?
        .assume_utc();
    let at = SystemTime::from(at);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn first() -> Attempt {
        Attempt {
            number: 1,
            delayed: Duration::ZERO,
        }
    }

    const NOW: u64 = 1_700_000_000;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(NOW)
    }

    #[test]
    fn decision_table() {
        let p = RetryPolicy::default();
        let none = headers(&[]);
        let ra5 = headers(&[("retry-after", "5")]);
        let ra_ms = headers(&[("retry-after-ms", "250"), ("retry-after", "9")]);
        let x_ms = headers(&[("x-ms-retry-after-ms", "1500")]);
        let ra_date = headers(&[("retry-after", "Tue, 14 Nov 2023 22:13:30 GMT")]);
        let ms = Duration::from_millis;
        let st = |status, h| Failure::Status { status, headers: h };
        use Decision::*;
        #[rustfmt::skip]
        let table: Vec<(Method, Failure<'_>, f64, Decision)> = vec![
            // idempotent methods without Retry-After
            (Method::GET, st(429, &none), 0.5, RetryAfter(ms(800))),
            (Method::GET, st(408, &none), 0.5, RetryAfter(ms(800))),
            (Method::PUT, st(500, &none), 0.0, RetryAfter(ms(640))),
            (Method::DELETE, st(502, &none), 1.0, RetryAfter(ms(960))),
            (Method::GET, st(503, &none), 0.5, RetryAfter(ms(800))),
            (Method::GET, st(504, &none), 0.5, RetryAfter(ms(800))),
            (Method::GET, st(501, &none), 0.5, Stop(super::Stop::NotRetryable)),
            (Method::GET, st(400, &none), 0.5, Stop(super::Stop::NotRetryable)),
            (Method::GET, st(404, &none), 0.5, Stop(super::Stop::NotRetryable)),
            (Method::PUT, st(409, &none), 0.5, Stop(super::Stop::NotRetryable)),
            // non-idempotent methods without Retry-After
            (Method::POST, st(502, &none), 0.5, Stop(super::Stop::NotRetryable)),
            (Method::POST, st(429, &none), 0.5, Stop(super::Stop::NotRetryable)),
            (Method::PATCH, st(408, &none), 0.5, Stop(super::Stop::NotRetryable)),
            (Method::POST, st(500, &none), 0.5, RetryAfter(ms(800))),
            (Method::PATCH, st(503, &none), 0.5, RetryAfter(ms(800))),
            (Method::POST, st(504, &none), 0.5, RetryAfter(ms(800))),
            // a server-requested delay: any method, exact delay, no jitter
            (Method::POST, st(429, &ra5), 0.9, RetryAfter(ms(5000))),
            (Method::PATCH, st(502, &ra5), 0.9, RetryAfter(ms(5000))),
            (Method::GET, st(503, &ra_ms), 0.9, RetryAfter(ms(250))),
            (Method::GET, st(429, &x_ms), 0.9, RetryAfter(ms(1500))),
            (Method::GET, st(429, &ra_date), 0.9, RetryAfter(ms(10_000))),
            (Method::POST, st(400, &ra5), 0.5, Stop(super::Stop::NotRetryable)),
            // transport failures
            (Method::POST, Failure::Connect, 0.5, RetryAfter(ms(800))),
            (Method::GET, Failure::Dropped, 0.5, RetryAfter(ms(800))),
            (Method::PUT, Failure::Dropped, 0.5, RetryAfter(ms(800))),
            (Method::POST, Failure::Dropped, 0.5, Stop(super::Stop::NotRetryable)),
            (Method::PATCH, Failure::Dropped, 0.5, Stop(super::Stop::NotRetryable)),
        ];
        for (i, (m, f, j, want)) in table.into_iter().enumerate() {
            assert_eq!(
                p.decide(&m, f, first(), now(), j),
                want,
                "row {i}: {m} {f:?}"
            );
        }
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy::default();
        let got: Vec<u128> = (1..=8).map(|n| p.backoff(n, 0.5).as_millis()).collect();
        assert_eq!(got, [800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
        assert_eq!(p.backoff(1, 0.0).as_millis(), 640);
        assert_eq!(p.backoff(1, 1.0).as_millis(), 960);
        assert_eq!(p.backoff(u32::MAX, 0.5), Duration::from_secs(30));
    }

    #[test]
    fn attempts_and_budget_are_capped() {
        let p = RetryPolicy::default();
        let h = HeaderMap::new();
        let f = Failure::Status {
            status: 503,
            headers: &h,
        };
        let at = |number, secs| Attempt {
            number,
            delayed: Duration::from_secs(secs),
        };
        assert_eq!(
            p.decide(&Method::GET, f, at(5, 0), now(), 0.5),
            Decision::RetryAfter(Duration::from_millis(12800))
        );
        assert_eq!(
            p.decide(&Method::GET, f, at(6, 0), now(), 0.5),
            Decision::Stop(Stop::AttemptsExhausted)
        );
        assert_eq!(
            p.decide(&Method::GET, f, at(2, 179), now(), 0.5),
            Decision::Stop(Stop::BudgetExhausted)
        );
        let long = headers(&[("retry-after", "3600")]);
        let f = Failure::Status {
            status: 429,
            headers: &long,
        };
        assert_eq!(
            p.decide(&Method::GET, f, first(), now(), 0.5),
            Decision::Stop(Stop::BudgetExhausted)
        );
    }

    #[test]
    fn retry_after_parsing() {
        assert_eq!(parse_retry_after("3", now()), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("0.5", now()),
            Some(Duration::from_millis(500))
        );
        assert_eq!(parse_retry_after("-1", now()), None);
        assert_eq!(parse_retry_after("soon", now()), None);
        // 2023-11-14T22:13:20Z is NOW; a date in the past means no wait
        assert_eq!(
            parse_retry_after("Tue, 14 Nov 2023 22:13:20 GMT", now()),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
        let garbage_ms = headers(&[("retry-after-ms", "x"), ("retry-after", "2")]);
        assert_eq!(
            server_requested_delay(&garbage_ms, now()),
            Some(Duration::from_secs(2))
        );
        assert_eq!(server_requested_delay(&HeaderMap::new(), now()), None);
    }
}
