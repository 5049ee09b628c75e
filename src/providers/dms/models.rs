//! Wire models of the DMS service-task API (`ProjectTask` and the three OCI task types).
//!
//! Owns how task JSON is read and which parts of it are ever written back. Reading is
//! tolerant, as the service is never trusted to match the schema exactly: unknown fields
//! are kept in `extra`, unknown `state` and `taskType` strings are kept verbatim, absent or
//! `null` arrays read as empty, and `installedDriver` is accepted both as one object and
//! as the old map-of-arrays shape. Writing goes only through [`TaskRequest`], which carries
//! nothing but `taskType`, `input` and `clientData`. This module does no I/O.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

pub use super::secret::SecretString;

/// ARM resource type of a service task.
pub const SERVICE_TASK_RESOURCE_TYPE: &str = "Microsoft.DataMigration/services/serviceTasks";

/// `properties.taskType`, an open enum: unknown values are kept as [`TaskType::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaskType {
    CheckOci,
    UploadOci,
    InstallOci,
    Other(String),
}

impl TaskType {
    pub const CHECK_OCI: &'static str = "Service.Check.OCI";
    pub const UPLOAD_OCI: &'static str = "Service.Upload.OCI";
    pub const INSTALL_OCI: &'static str = "Service.Install.OCI";

    /// The exact wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            TaskType::CheckOci => Self::CHECK_OCI,
            TaskType::UploadOci => Self::UPLOAD_OCI,
            TaskType::InstallOci => Self::INSTALL_OCI,
            TaskType::Other(s) => s,
        }
    }

    /// Maps a wire string to a task type; never fails.
    pub fn parse(s: &str) -> TaskType {
        match s {
            Self::CHECK_OCI => TaskType::CheckOci,
            Self::UPLOAD_OCI => TaskType::UploadOci,
            Self::INSTALL_OCI => TaskType::InstallOci,
            other => TaskType::Other(other.to_string()),
        }
    }
}

impl fmt::Display for TaskType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `properties.state`, an open enum. `Canceling` is not in the published enum but is
/// reported by the real service after a cancel.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaskState {
    Unknown,
    Queued,
    Running,
    Canceling,
    Canceled,
    Succeeded,
    Failed,
    FailedInputValidation,
    Faulted,
    Other(String),
}

impl TaskState {
    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            TaskState::Unknown => "Unknown",
            TaskState::Queued => "Queued",
            TaskState::Running => "Running",
            TaskState::Canceling => "Canceling",
            TaskState::Canceled => "Canceled",
            TaskState::Succeeded => "Succeeded",
            TaskState::Failed => "Failed",
            TaskState::FailedInputValidation => "FailedInputValidation",
            TaskState::Faulted => "Faulted",
            TaskState::Other(s) => s,
        }
    }

    /// Maps a wire string to a state; never fails. Matching is exact, as the service
    /// emits exact casing; anything else is kept as [`TaskState::Other`].
    pub fn parse(s: &str) -> TaskState {
        match s {
            "Unknown" => TaskState::Unknown,
            "Queued" => TaskState::Queued,
            "Running" => TaskState::Running,
            "Canceling" => TaskState::Canceling,
            "Canceled" => TaskState::Canceled,
            "Succeeded" => TaskState::Succeeded,
            "Failed" => TaskState::Failed,
            "FailedInputValidation" => TaskState::FailedInputValidation,
            "Faulted" => TaskState::Faulted,
            other => TaskState::Other(other.to_string()),
        }
    }

    /// Terminal states: the task will not change any more. Everything else, including
    /// `Canceling`, `Unknown` and states this client does not know, is still in progress.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            TaskState::Canceled
                | TaskState::Succeeded
                | TaskState::Failed
                | TaskState::FailedInputValidation
                | TaskState::Faulted
        )
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! string_enum_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok(<$t>::parse(&s))
            }
        }
    };
}
string_enum_serde!(TaskType);
string_enum_serde!(TaskState);

/// Reads an absent or `null` array as empty.
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Reads a string field that some producers send as a number (`driverSize`, `lineNumber`).
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        Some(other) => Some(other.to_string()),
    })
}

/// Reads an integer field that may arrive as a string (`hResult`).
fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// Error payload of the API (`ODataError`), recursive through `details`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ODataError {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub details: Vec<ODataError>,
    /// Fields outside the schema (ARM's `target`, `additionalInfo`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `ApiError`, the envelope of every error body: `{"error": ODataError}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ApiErrorBody {
    #[serde(default)]
    pub error: Option<ODataError>,
}

/// A validation error reported by a task (`ReportableException`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportableException {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actionable_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_path: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub line_number: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub h_result: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_trace: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Description of an Oracle OCI driver package (`OracleOCIDriverInfo`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OracleOciDriverInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_name: Option<String>,
    /// Size in bytes, as a decimal string on the wire.
    #[serde(
        default,
        deserialize_with = "lenient_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub driver_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_checksum: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oracle_checksum: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assembly_version: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub supported_oracle_versions: Vec<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

const DRIVER_INFO_KEYS: [&str; 6] = [
    "driverName",
    "driverSize",
    "archiveChecksum",
    "oracleChecksum",
    "assemblyVersion",
    "supportedOracleVersions",
];

/// Accepts `installedDriver` as a single object (2021-06-30 and later) or as a map of
/// string → array of driver infos (the 2018-07-15-preview shape); of the
/// map form the first driver is taken.
fn installed_driver<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<OracleOciDriverInfo>, D::Error> {
    let Some(value) = Option::<Value>::deserialize(d)? else {
        return Ok(None);
    };
    let Value::Object(map) = value else {
        return match value {
            Value::Null => Ok(None),
            _ => Err(de::Error::custom(
                "installedDriver is neither an object nor a map",
            )),
        };
    };
    let looks_like_object = map.is_empty()
        || map.keys().any(|k| DRIVER_INFO_KEYS.contains(&k.as_str()))
        || !map.values().all(|v| v.is_array() || v.is_null());
    if looks_like_object {
        return serde_json::from_value(Value::Object(map))
            .map(Some)
            .map_err(de::Error::custom);
    }
    for v in map.into_values() {
        if let Value::Array(items) = v
            && let Some(first) = items.into_iter().next()
        {
            return serde_json::from_value(first)
                .map(Some)
                .map_err(de::Error::custom);
        }
    }
    Ok(None)
}

/// A file share (`FileShare`): the driver source of an upload task.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileShare {
    /// Required by the schema; optional here so a malformed echo still reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretString>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for FileShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileShare")
            .field("path", &self.path)
            .field("user_name", &self.user_name)
            .field("password", &self.password)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A blob container reached through a SAS URI (`BlobShare`). Not used by the published
/// OCI task types; the emulator accepts it as an upload source.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobShare {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sas_uri: Option<SecretString>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for BlobShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobShare")
            .field("sas_uri", &self.sas_uri)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Upload's `driverShare`: the file-share form of the published API, or the blob form
/// the emulator also accepts. Told apart by the presence of `sasUri` without `path`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum DriverShare {
    File(FileShare),
    Blob(BlobShare),
}

impl<'de> Deserialize<'de> for DriverShare {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        let blob = map.contains_key("sasUri") && !map.contains_key("path");
        let value = Value::Object(map);
        if blob {
            serde_json::from_value(value)
                .map(DriverShare::Blob)
                .map_err(de::Error::custom)
        } else {
            serde_json::from_value(value)
                .map(DriverShare::File)
                .map_err(de::Error::custom)
        }
    }
}

/// Input of `Service.Check.OCI`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckOciDriverInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Input of `Service.Upload.OCI`.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadOciDriverInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_share: Option<DriverShare>,
    /// Fields the service adds, e.g. `encryptedKeyForSecureFields`.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for UploadOciDriverInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadOciDriverInput")
            .field("driver_share", &self.driver_share)
            .field("extra", &redact_secrets(Value::Object(self.extra.clone())))
            .finish()
    }
}

/// Input of `Service.Install.OCI`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallOciDriverInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_package_name: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One output item of `Service.Check.OCI`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckOciDriverOutput {
    #[serde(
        default,
        deserialize_with = "installed_driver",
        skip_serializing_if = "Option::is_none"
    )]
    pub installed_driver: Option<OracleOciDriverInfo>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub validation_errors: Vec<ReportableException>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One output item of `Service.Upload.OCI`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadOciDriverOutput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_package_name: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub validation_errors: Vec<ReportableException>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One output item of `Service.Install.OCI`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallOciDriverOutput {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub validation_errors: Vec<ReportableException>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The type-specific part of a task: input and output, by `taskType`.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskDetails {
    CheckOci {
        input: Option<CheckOciDriverInput>,
        output: Vec<CheckOciDriverOutput>,
    },
    UploadOci {
        input: Option<UploadOciDriverInput>,
        output: Vec<UploadOciDriverOutput>,
    },
    InstallOci {
        input: Option<InstallOciDriverInput>,
        output: Vec<InstallOciDriverOutput>,
    },
    /// A task type this client does not model; input and output kept as raw JSON.
    Other {
        task_type: String,
        input: Option<Value>,
        output: Vec<Value>,
    },
}

impl Default for TaskDetails {
    fn default() -> Self {
        TaskDetails::Other {
            task_type: String::new(),
            input: None,
            output: Vec::new(),
        }
    }
}

impl TaskDetails {
    pub fn task_type(&self) -> TaskType {
        match self {
            TaskDetails::CheckOci { .. } => TaskType::CheckOci,
            TaskDetails::UploadOci { .. } => TaskType::UploadOci,
            TaskDetails::InstallOci { .. } => TaskType::InstallOci,
            TaskDetails::Other { task_type, .. } => TaskType::parse(task_type),
        }
    }

    /// The input as JSON, exactly as it would be sent (secrets included).
    pub fn input_json(&self) -> Option<Value> {
        let v = match self {
            TaskDetails::CheckOci { input, .. } => input.as_ref().map(serde_json::to_value),
            TaskDetails::UploadOci { input, .. } => input.as_ref().map(serde_json::to_value),
            TaskDetails::InstallOci { input, .. } => input.as_ref().map(serde_json::to_value),
            TaskDetails::Other { input, .. } => input.clone().map(Ok),
        };
        v.and_then(Result::ok)
    }

    /// The output items as JSON.
    pub fn output_json(&self) -> Vec<Value> {
        fn all<T: Serialize>(items: &[T]) -> Vec<Value> {
            items
                .iter()
                .filter_map(|i| serde_json::to_value(i).ok())
                .collect()
        }
        match self {
            TaskDetails::CheckOci { output, .. } => all(output),
            TaskDetails::UploadOci { output, .. } => all(output),
            TaskDetails::InstallOci { output, .. } => all(output),
            TaskDetails::Other { output, .. } => output.clone(),
        }
    }

    /// Validation errors of every output item, in order.
    pub fn validation_errors(&self) -> Vec<&ReportableException> {
        match self {
            TaskDetails::CheckOci { output, .. } => {
                output.iter().flat_map(|o| &o.validation_errors).collect()
            }
            TaskDetails::UploadOci { output, .. } => {
                output.iter().flat_map(|o| &o.validation_errors).collect()
            }
            TaskDetails::InstallOci { output, .. } => {
                output.iter().flat_map(|o| &o.validation_errors).collect()
            }
            TaskDetails::Other { .. } => Vec::new(),
        }
    }

    /// Builds the type-specific part from `taskType` and raw input/output JSON.
    pub fn from_parts(
        task_type: &str,
        input: Option<Value>,
        output: Option<Value>,
    ) -> Result<TaskDetails, serde_json::Error> {
        fn typed_input<T: for<'a> Deserialize<'a>>(
            v: Option<Value>,
        ) -> Result<Option<T>, serde_json::Error> {
            match v {
                None | Some(Value::Null) => Ok(None),
                Some(v) => serde_json::from_value(v).map(Some),
            }
        }
        fn typed_output<T: for<'a> Deserialize<'a>>(
            v: Option<Value>,
        ) -> Result<Vec<T>, serde_json::Error> {
            match v {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(v) => serde_json::from_value(v),
            }
        }
        Ok(match TaskType::parse(task_type) {
            TaskType::CheckOci => TaskDetails::CheckOci {
                input: typed_input(input)?,
                output: typed_output(output)?,
            },
            TaskType::UploadOci => TaskDetails::UploadOci {
                input: typed_input(input)?,
                output: typed_output(output)?,
            },
            TaskType::InstallOci => TaskDetails::InstallOci {
                input: typed_input(input)?,
                output: typed_output(output)?,
            },
            TaskType::Other(t) => TaskDetails::Other {
                task_type: t,
                input: input.filter(|v| !v.is_null()),
                output: typed_output(output)?,
            },
        })
    }
}

/// `ProjectTaskProperties`, polymorphic on `taskType`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskProperties {
    pub details: TaskDetails,
    /// Read-only. `None` when the service sent no state.
    pub state: Option<TaskState>,
    /// Read-only task-level errors.
    pub errors: Vec<ODataError>,
    /// Read-only; not used by OCI tasks, kept raw.
    pub commands: Vec<Value>,
    pub client_data: Option<BTreeMap<String, String>>,
    /// Fields outside the schema.
    pub extra: Map<String, Value>,
}

impl TaskProperties {
    pub fn task_type(&self) -> TaskType {
        self.details.task_type()
    }

    /// The state, `Unknown` when absent.
    pub fn state_or_unknown(&self) -> TaskState {
        self.state.clone().unwrap_or(TaskState::Unknown)
    }
}

impl<'de> Deserialize<'de> for TaskProperties {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut map = Map::<String, Value>::deserialize(d)?;
        let task_type = match map.remove("taskType") {
            Some(Value::String(s)) => s,
            None | Some(Value::Null) => String::new(),
            Some(_) => return Err(de::Error::custom("taskType is not a string")),
        };
        let input = map.remove("input");
        let output = map.remove("output");
        let details = TaskDetails::from_parts(&task_type, input, output)
            .map_err(|e| de::Error::custom(format_args!("task of type '{task_type}': {e}")))?;
        let state = match map.remove("state") {
            Some(Value::String(s)) => Some(TaskState::parse(&s)),
            _ => None,
        };
        let errors = match map.remove("errors") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => serde_json::from_value(v).map_err(de::Error::custom)?,
        };
        let commands = match map.remove("commands") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        };
        let client_data = match map.remove("clientData") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(
                m.into_iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => (k, s),
                        other => (k, other.to_string()),
                    })
                    .collect(),
            ),
            Some(_) => return Err(de::Error::custom("clientData is not an object")),
        };
        Ok(TaskProperties {
            details,
            state,
            errors,
            commands,
            client_data,
            extra: map,
        })
    }
}

/// `SystemData` (read-only). Timestamps kept as strings: an odd format must not break a read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_at: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The task resource (`ProjectTask`) as read from the service.
///
/// Deliberately not `Serialize`: what goes back on the wire is a [`TaskRequest`], and what
/// is shown to people is [`ProjectTask::to_redacted_json`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectTask {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "type")]
    pub resource_type: Option<String>,
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub properties: TaskProperties,
    #[serde(default)]
    pub system_data: Option<SystemData>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ProjectTask {
    pub fn task_type(&self) -> TaskType {
        self.properties.task_type()
    }

    pub fn state(&self) -> TaskState {
        self.properties.state_or_unknown()
    }

    /// The body to send back for this task (PUT/PATCH): writable fields only.
    pub fn to_request(&self) -> TaskRequest {
        TaskRequest {
            task_type: self.task_type().as_str().to_string(),
            input: self.properties.details.input_json(),
            client_data: self.properties.client_data.clone(),
        }
    }

    /// The whole task as JSON for display, with secret input fields (`password`,
    /// `sasUri`) replaced by a marker.
    pub fn to_redacted_json(&self) -> Value {
        let mut props = Map::new();
        props.insert(
            "taskType".into(),
            Value::String(self.task_type().as_str().into()),
        );
        if let Some(state) = &self.properties.state {
            props.insert("state".into(), Value::String(state.as_str().into()));
        }
        if let Some(input) = self.properties.details.input_json() {
            props.insert("input".into(), redact_secrets(input));
        }
        if let Some(cd) = &self.properties.client_data {
            props.insert("clientData".into(), serde_json::json!(cd));
        }
        let output = self.properties.details.output_json();
        if !output.is_empty() {
            props.insert("output".into(), redact_secrets(Value::Array(output)));
        }
        if !self.properties.errors.is_empty() {
            props.insert("errors".into(), serde_json::json!(self.properties.errors));
        }
        if !self.properties.commands.is_empty() {
            props.insert(
                "commands".into(),
                Value::Array(self.properties.commands.clone()),
            );
        }
        for (k, v) in &self.properties.extra {
            props.insert(k.clone(), redact_secrets(v.clone()));
        }
        let mut top = Map::new();
        for (key, val) in [
            ("id", &self.id),
            ("name", &self.name),
            ("type", &self.resource_type),
            ("etag", &self.etag),
        ] {
            if let Some(v) = val {
                top.insert(key.into(), Value::String(v.clone()));
            }
        }
        top.insert("properties".into(), Value::Object(props));
        if let Some(sd) = &self.system_data {
            top.insert("systemData".into(), serde_json::json!(sd));
        }
        for (k, v) in &self.extra {
            top.insert(k.clone(), redact_secrets(v.clone()));
        }
        Value::Object(top)
    }
}

/// The marker that replaces secret values in displayed JSON.
pub const REDACTED: &str = "(sensitive value)";

/// Field names whose values are secrets wherever they appear.
const SECRET_KEYS: [&str; 5] = [
    "password",
    "sasUri",
    "encryptedKeyForSecureFields",
    "connectionString",
    "accountKey",
];

/// Replaces the values of secret-named fields, at any depth.
pub fn redact_secrets(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    if SECRET_KEYS.iter().any(|s| s.eq_ignore_ascii_case(&k)) && !v.is_null() {
                        (k, Value::String(REDACTED.into()))
                    } else {
                        (k, redact_secrets(v))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact_secrets).collect()),
        other => other,
    }
}

/// A page of the list operation (`TaskList`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskList {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub value: Vec<ProjectTask>,
    #[serde(default)]
    pub next_link: Option<String>,
}

/// The body of PUT and PATCH: `{"properties": {"taskType", "input", "clientData"}}` and
/// nothing else; read-only fields cannot be expressed in it.
#[derive(Clone, PartialEq, Default)]
pub struct TaskRequest {
    pub task_type: String,
    /// Input JSON, may hold secrets: this type's `Debug` does not print it.
    pub input: Option<Value>,
    pub client_data: Option<BTreeMap<String, String>>,
}

impl fmt::Debug for TaskRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskRequest")
            .field("task_type", &self.task_type)
            .field("input", &self.input.clone().map(redact_secrets))
            .field("client_data", &self.client_data)
            .finish()
    }
}

impl TaskRequest {
    /// A request for a check task.
    pub fn check(input: CheckOciDriverInput) -> TaskRequest {
        Self::typed(TaskType::CheckOci, &input)
    }

    /// A request for an upload task.
    pub fn upload(input: UploadOciDriverInput) -> TaskRequest {
        Self::typed(TaskType::UploadOci, &input)
    }

    /// A request for an install task.
    pub fn install(input: InstallOciDriverInput) -> TaskRequest {
        Self::typed(TaskType::InstallOci, &input)
    }

    fn typed<T: Serialize>(t: TaskType, input: &T) -> TaskRequest {
        TaskRequest {
            task_type: t.as_str().to_string(),
            input: serde_json::to_value(input).ok(),
            client_data: None,
        }
    }

    pub fn with_client_data(mut self, client_data: BTreeMap<String, String>) -> TaskRequest {
        self.client_data = Some(client_data);
        self
    }

    /// Reads a request from JSON: either `{"properties": {...}}` (a task as returned by
    /// GET is accepted, its read-only fields dropped) or the bare properties object.
    pub fn from_json(v: Value) -> Result<TaskRequest, serde_json::Error> {
        let has_props = v.get("properties").is_some_and(Value::is_object);
        let task: ProjectTask = if has_props {
            serde_json::from_value(v)?
        } else {
            ProjectTask {
                properties: serde_json::from_value(v)?,
                ..ProjectTask::default()
            }
        };
        if task.task_type().as_str().is_empty() {
            return Err(de::Error::custom("properties.taskType is required"));
        }
        Ok(task.to_request())
    }
}

impl Serialize for TaskRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Props<'a> {
            task_type: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            input: Option<&'a Value>,
            #[serde(skip_serializing_if = "Option::is_none")]
            client_data: Option<&'a BTreeMap<String, String>>,
        }
        #[derive(Serialize)]
        struct Body<'a> {
            properties: Props<'a>,
        }
        Body {
            properties: Props {
                task_type: &self.task_type,
                input: self.input.as_ref().filter(|v| !v.is_null()),
                client_data: self.client_data.as_ref(),
            },
        }
        .serialize(s)
    }
}

#[cfg(test)]
#[path = "models_tests.rs"]
mod tests;
