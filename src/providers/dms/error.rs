//! Typed errors of the DMS client.
//!
//! Owns the error vocabulary callers match on: the service's own answer (status, ARM
//! code, message, details, `x-ms-request-id`), protocol violations, transport failures,
//! credential failures and interruption. Messages never carry tokens, request bodies or
//! other secrets: they are built only from status lines, ARM error fields, URLs without
//! credentials and transport error kinds.

use super::models::{ApiErrorBody, ODataError};
use std::fmt;
use std::time::Duration;

/// A non-success answer of the service.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// ARM error code (`error.code`), when the body carried one.
    pub code: Option<String>,
    /// Human-readable message (`error.message`).
    pub message: Option<String>,
    /// Inner errors (`error.details`).
    pub details: Vec<ODataError>,
    /// The service's `x-ms-request-id`, to quote to support.
    pub request_id: Option<String>,
    /// The operation, e.g. `GET serviceTasks/t1`.
    pub operation: String,
    /// How many attempts were made, retries included.
    pub attempts: u32,
}

impl ApiError {
    /// Builds the error from a status and a (possibly empty, possibly non-JSON) body.
    pub fn from_response(
        status: u16,
        body: &[u8],
        request_id: Option<String>,
        operation: String,
        attempts: u32,
    ) -> ApiError {
        let parsed = if body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            serde_json::from_slice::<ApiErrorBody>(body)
                .ok()
                .and_then(|b| b.error)
        };
        let (code, message, details) = match parsed {
            Some(e) => (e.code, e.message, e.details),
            None => (None, None, Vec::new()),
        };
        ApiError {
            status,
            code,
            message,
            details,
            request_id,
            operation,
            attempts,
        }
    }
}

fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} failed: HTTP {} {}",
            self.operation,
            self.status,
            reason(self.status)
        )?;
        match (&self.code, &self.message) {
            (Some(c), Some(m)) => write!(f, ": ({c}) {m}")?,
            (Some(c), None) => write!(f, ": ({c})")?,
            (None, Some(m)) => write!(f, ": {m}")?,
            (None, None) if self.status == 404 => write!(f, ": the task does not exist")?,
            (None, None) => {}
        }
        for d in &self.details {
            write!(
                f,
                "; ({}) {}",
                d.code.as_deref().unwrap_or("?"),
                d.message.as_deref().unwrap_or("")
            )?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [x-ms-request-id: {id}]")?;
        }
        if self.attempts > 1 {
            write!(f, " after {} attempts", self.attempts)?;
        }
        Ok(())
    }
}

/// Everything the DMS client can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DmsError {
    /// The service answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The service answered in a way the protocol does not allow (a 202 on PUT, a body
    /// that is not a task, a foreign `nextLink`, …).
    #[error("{operation}: unexpected response{}: {message}{}",
        status.map(|s| format!(" (HTTP {s})")).unwrap_or_default(),
        request_id.as_ref().map(|r| format!(" [x-ms-request-id: {r}]")).unwrap_or_default())]
    Protocol {
        operation: String,
        status: Option<u16>,
        message: String,
        request_id: Option<String>,
    },
    /// The request could not be completed (connection refused or dropped, timeout).
    /// `maybe_applied` is true when the request may have reached the service.
    #[error("{operation}: cannot reach the service after {attempts} attempt(s): {message}")]
    Transport {
        operation: String,
        message: String,
        maybe_applied: bool,
        attempts: u32,
    },
    /// No access token could be obtained.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The caller cancelled the operation.
    #[error("interrupted")]
    Interrupted,
    /// The caller passed something unusable (bad endpoint URL, empty name, …).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl DmsError {
    /// HTTP status of the service's answer, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            DmsError::Api(e) => Some(e.status),
            DmsError::Protocol { status, .. } => *status,
            _ => None,
        }
    }

    /// True for a 404 from the service.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// The service's `x-ms-request-id`, if known.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            DmsError::Api(e) => e.request_id.as_deref(),
            DmsError::Protocol { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// The ARM error code, if the service sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            DmsError::Api(e) => e.code.as_deref(),
            _ => None,
        }
    }
}

/// A short human description of a transport error, without any request content.
pub(crate) fn describe_transport(e: &reqwest::Error, elapsed: Duration) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "connection dropped while reading the response"
    } else {
        "connection dropped"
    };
    let mut msg = format!("{kind} after {} ms", elapsed.as_millis());
    if let Some(s) = std::error::Error::source(e) {
        msg.push_str(&format!(" ({s})"));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_display_carries_code_message_details_and_request_id() {
        let body = br#"{"error":{"code":"InvalidRequestContent","message":"taskType is required","details":[{"code":"Inner","message":"m"}]}}"#;
        let e = ApiError::from_response(400, body, Some("rid-1".into()), "PUT t1".into(), 1);
        let s = e.to_string();
        assert!(s.contains("HTTP 400 Bad Request"), "{s}");
        assert!(
            s.contains("(InvalidRequestContent) taskType is required"),
            "{s}"
        );
        assert!(s.contains("(Inner) m"), "{s}");
        assert!(s.contains("rid-1"), "{s}");
    }

    #[test]
    fn empty_and_garbage_bodies_are_understood() {
        let e = ApiError::from_response(404, b"", None, "GET t".into(), 1);
        assert_eq!(e.code, None);
        assert!(e.to_string().contains("does not exist"));
        let e = ApiError::from_response(502, b"<html>bad gateway</html>", None, "GET t".into(), 3);
        assert_eq!(e.message, None);
        assert!(e.to_string().contains("after 3 attempts"));
        let err = DmsError::Api(Box::new(e));
        assert_eq!(err.status(), Some(502));
        assert!(!err.is_not_found());
    }
}
