//! The five kinds of failure users of the service meet (design §7) — driver conflicts,
//! storage access, installation failures, permission issues, resource constraints — told
//! apart from what the service said: HTTP status, ARM error code, task type and state,
//! validation errors (their HRESULTs first, their wording as a fallback) and task errors.
//! Pure: it reads values and returns a category with a hint.

use serde::Serialize;

/// A failure category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    DriverConflict,
    StorageAccess,
    InstallationFailure,
    PermissionIssue,
    ResourceConstraint,
    Other,
}

impl Category {
    /// The words used in diagnostics' summaries.
    pub fn label(self) -> &'static str {
        match self {
            Category::DriverConflict => "Driver conflict",
            Category::StorageAccess => "Storage access",
            Category::InstallationFailure => "Installation failure",
            Category::PermissionIssue => "Permission issue",
            Category::ResourceConstraint => "Resource constraint",
            Category::Other => "Task failed",
        }
    }
}

/// Everything known about one failure.
#[derive(Debug, Clone, Default)]
pub struct Evidence<'a> {
    /// HTTP status of a refused request.
    pub status: Option<u16>,
    /// ARM error code of a refused request.
    pub code: Option<&'a str>,
    /// `Service.Upload.OCI`, … of the task, when it ran.
    pub task_type: Option<&'a str>,
    /// The task's final (or last seen) state.
    pub state: Option<&'a str>,
    /// Validation errors: (message, HRESULT).
    pub validation: Vec<(&'a str, Option<i64>)>,
    /// Task-level error codes.
    pub error_codes: Vec<&'a str>,
    /// The change gave up waiting (a timeout).
    pub timed_out: bool,
}

const ACCESS_DENIED: i64 = -2147024891;
const BAD_NETPATH: i64 = -2147024843;
const FILE_NOT_FOUND: i64 = -2147024894;

/// A category and the hint sentence that goes with it.
pub fn classify(e: &Evidence<'_>) -> (Category, String) {
    let cat = category(e);
    let hint = match cat {
        Category::PermissionIssue if e.status == Some(401) => {
            "The access token is expired or invalid: sign in again (az login) or check the credentials dmsform uses (AZURE_CLIENT_ID/AZURE_CLIENT_SECRET, the federated token file, or DMSFORM_ACCESS_TOKEN), then run the command again.".to_string()
        }
        Category::PermissionIssue => {
            "The identity dmsform runs as lacks a permission on the DMS service: grant it a role that allows Microsoft.DataMigration/services/serviceTasks/* (read, write, delete, cancel/action) on the service or its resource group — for example Contributor — then run apply again.".to_string()
        }
        Category::ResourceConstraint if e.timed_out => {
            "The task waited for a free slot on the service longer than its timeout: the service runs only a few tasks at once. Lower -parallelism, raise timeouts { create }, or run again later.".to_string()
        }
        Category::ResourceConstraint => {
            "The service is throttling requests or is out of capacity: lower -parallelism or run again later; dmsform already retried with back-off honouring Retry-After.".to_string()
        }
        Category::DriverConflict => {
            "Another driver operation holds the same service or package name: make the install tasks depend on each other (depends_on) so they run one at a time, or give the driver archive a new file name, then apply again.".to_string()
        }
        Category::StorageAccess => {
            "The service could not read the driver archive: check driver_share — the path must be reachable from the DMS service, the user name and password must grant read access, and a SAS URI must be unexpired with read and list permissions.".to_string()
        }
        Category::InstallationFailure => {
            "The driver could not be installed: upload the driver package again (dmsform apply -replace on the upload), then install it; if it keeps failing, check the service's health.".to_string()
        }
        Category::Other => "See the service's messages above.".to_string(),
    };
    (cat, hint)
}

fn category(e: &Evidence<'_>) -> Category {
    let code = e.code.unwrap_or("");
    match e.status {
        Some(401) | Some(403) => return Category::PermissionIssue,
        Some(429) => return Category::ResourceConstraint,
        Some(503) if code.contains("Throttl") || code.contains("Capacity") => {
            return Category::ResourceConstraint;
        }
        _ => {}
    }
    if code.contains("Throttled") || code == "TooManyRequests" {
        return Category::ResourceConstraint;
    }
    if code.starts_with("Authorization")
        || code.ends_with("AuthenticationToken")
        || code == "AuthenticationFailed"
    {
        return Category::PermissionIssue;
    }
    if e.timed_out && e.state == Some("Queued") {
        return Category::ResourceConstraint;
    }
    let text = |needles: &[&str]| {
        e.validation.iter().any(|(m, _)| {
            let m = m.to_ascii_lowercase();
            needles.iter().any(|n| m.contains(n))
        })
    };
    let hresult = |h: i64| e.validation.iter().any(|(_, x)| *x == Some(h));
    let task = e.task_type.unwrap_or("");
    if text(&[
        "in progress",
        "already exists",
        "different checksum",
        "conflict",
    ]) {
        return Category::DriverConflict;
    }
    if task.eq_ignore_ascii_case("Service.Upload.OCI") {
        if hresult(ACCESS_DENIED) || hresult(BAD_NETPATH) || hresult(FILE_NOT_FOUND) {
            return Category::StorageAccess;
        }
        if text(&[
            "sas",
            "storage",
            "share",
            "network path",
            "denied",
            "could not be found",
            "unreachable",
            "could not be reached",
        ]) {
            return Category::StorageAccess;
        }
    }
    if task.eq_ignore_ascii_case("Service.Install.OCI")
        && (e.state.is_some() || !e.error_codes.is_empty())
    {
        return Category::InstallationFailure;
    }
    Category::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev<'a>(task: &'a str, state: &'a str, msgs: Vec<(&'a str, Option<i64>)>) -> Evidence<'a> {
        Evidence {
            task_type: Some(task),
            state: Some(state),
            validation: msgs,
            ..Evidence::default()
        }
    }

    #[test]
    fn categories_from_what_the_service_said() {
        let cases: Vec<(Evidence, Category)> = vec![
            (
                Evidence {
                    status: Some(403),
                    code: Some("AuthorizationFailed"),
                    ..Default::default()
                },
                Category::PermissionIssue,
            ),
            (
                Evidence {
                    status: Some(401),
                    code: Some("ExpiredAuthenticationToken"),
                    ..Default::default()
                },
                Category::PermissionIssue,
            ),
            (
                Evidence {
                    status: Some(429),
                    code: Some("SubscriptionRequestsThrottled"),
                    ..Default::default()
                },
                Category::ResourceConstraint,
            ),
            (
                Evidence {
                    state: Some("Queued"),
                    timed_out: true,
                    ..Default::default()
                },
                Category::ResourceConstraint,
            ),
            (
                ev(
                    "Service.Install.OCI",
                    "Failed",
                    vec![(
                        "Another driver installation is in progress on this service.",
                        None,
                    )],
                ),
                Category::DriverConflict,
            ),
            (
                ev(
                    "Service.Upload.OCI",
                    "Failed",
                    vec![(
                        "A driver package named 'x' already exists on this service with a different checksum",
                        None,
                    )],
                ),
                Category::DriverConflict,
            ),
            (
                ev(
                    "Service.Upload.OCI",
                    "Failed",
                    vec![("Access to '\\\\fs\\s' was denied", Some(ACCESS_DENIED))],
                ),
                Category::StorageAccess,
            ),
            (
                ev(
                    "Service.Upload.OCI",
                    "Failed",
                    vec![("The SAS token has expired.", None)],
                ),
                Category::StorageAccess,
            ),
            (
                ev(
                    "Service.Upload.OCI",
                    "Failed",
                    vec![("whatever", Some(BAD_NETPATH))],
                ),
                Category::StorageAccess,
            ),
            (
                ev(
                    "Service.Install.OCI",
                    "Failed",
                    vec![("The stored driver package 'x' is damaged", None)],
                ),
                Category::InstallationFailure,
            ),
            (
                Evidence {
                    task_type: Some("Service.Install.OCI"),
                    state: Some("Failed"),
                    error_codes: vec!["TaskFailed"],
                    ..Default::default()
                },
                Category::InstallationFailure,
            ),
            (ev("Service.Check.OCI", "Faulted", vec![]), Category::Other),
        ];
        for (e, want) in cases {
            let (got, hint) = classify(&e);
            assert_eq!(got, want, "{e:?}");
            assert!(!hint.is_empty());
        }
        let (_, hint) = classify(&Evidence {
            status: Some(403),
            ..Default::default()
        });
        assert!(
            hint.contains("Microsoft.DataMigration/services/serviceTasks"),
            "{hint}"
        );
    }
}
