//! The real driver work behind the three OCI task types (spec §10.3): Upload fetches an
//! archive from a mapped share, a local path or a blob container, checks it holds `oci.dll`
//! and records its version and checksums; Install makes an uploaded package the installed
//! one; Check reports the installed driver and judges a server version against it.

use super::blob;
use super::config::ShareRoot;
use super::store::{Effect, PackageMeta, ServicePackages, WorkResult};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use md5::Md5;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// HRESULTs the emulator reports in `validationErrors[].hResult`.
pub mod hresult {
    pub const FILE_NOT_FOUND: i64 = -2147024894;
    pub const ACCESS_DENIED: i64 = -2147024891;
    pub const BAD_NETPATH: i64 = -2147024843;
    pub const INVALID_DATA: i64 = -2147024883;
    pub const INVALID_ARG: i64 = -2147024809;
    pub const INVALID_OPERATION: i64 = -2146233079;
    pub const EXCEPTION: i64 = -2146233088;
}

/// Largest archive the emulator accepts (a real Instant Client is well under this).
const MAX_ARCHIVE: u64 = 512 * 1024 * 1024;

/// A task that could not do its work: its final state and one validation error.
#[derive(Debug, Clone)]
pub struct Failure {
    pub state: &'static str,
    pub message: String,
    pub actionable: String,
    pub hresult: i64,
}

impl Failure {
    pub fn input(message: String, actionable: &str, hresult: i64) -> Failure {
        Failure {
            state: "FailedInputValidation",
            message,
            actionable: actionable.into(),
            hresult,
        }
    }
    pub fn failed(message: String, actionable: &str, hresult: i64) -> Failure {
        Failure {
            state: "Failed",
            message,
            actionable: actionable.into(),
            hresult,
        }
    }
    fn to_json(&self) -> Value {
        validation_error(&self.message, &self.actionable, self.hresult)
    }
}

fn validation_error(message: &str, actionable: &str, hresult: i64) -> Value {
    json!({"message": message, "actionableMessage": actionable, "hResult": hresult})
}

/// Everything one task's work may read, snapshotted under the store's lock.
pub struct WorkInput {
    pub task_type: String,
    /// Input with secure fields in clear text (never persisted or logged).
    pub input: Value,
    pub packages: ServicePackages,
    pub staging_dir: PathBuf,
    pub share_roots: Vec<ShareRoot>,
    /// Another install task of the same service is running.
    pub other_install_running: bool,
}

/// Runs the work of one task.
pub async fn run(w: WorkInput, http: &reqwest::Client) -> WorkResult {
    match w.task_type.as_str() {
        "Service.Upload.OCI" => match upload(&w, http).await {
            Ok((name, meta, staged)) => WorkResult {
                state: "Succeeded".into(),
                output: vec![json!({"driverPackageName": name, "validationErrors": []})],
                errors: vec![],
                effect: Effect::StorePackage { staged, meta },
            },
            Err(f) => failed(f),
        },
        "Service.Install.OCI" => match install(&w) {
            Ok(package) => WorkResult {
                state: "Succeeded".into(),
                output: vec![json!({"validationErrors": []})],
                errors: vec![],
                effect: Effect::Install { package },
            },
            Err(f) => failed(f),
        },
        "Service.Check.OCI" => check(&w),
        // Other task types are accepted as opaque tasks (spec §12.11).
        _ => WorkResult {
            state: "Succeeded".into(),
            output: vec![],
            errors: vec![],
            effect: Effect::None,
        },
    }
}

fn failed(f: Failure) -> WorkResult {
    WorkResult {
        state: f.state.into(),
        output: vec![json!({"validationErrors": [f.to_json()]})],
        errors: vec![],
        effect: Effect::None,
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

async fn upload(
    w: &WorkInput,
    http: &reqwest::Client,
) -> Result<(String, PackageMeta, PathBuf), Failure> {
    let share = w.input.get("driverShare").filter(|s| s.is_object()).ok_or_else(|| {
        Failure::input(
            "The input 'driverShare' is required.".into(),
            "Set driverShare.path to the share folder or .zip file that holds the Oracle Instant Client (OCI) driver.",
            hresult::INVALID_ARG,
        )
    })?;
    let (name, bytes) = if let Some(sas) = str_field(share, "sasUri") {
        blob::fetch_zip(http, sas).await?
    } else if let Some(path) = str_field(share, "path") {
        let local = resolve_path(
            path,
            str_field(share, "userName"),
            str_field(share, "password"),
            &w.share_roots,
        )?;
        read_archive(path, &local)?
    } else {
        return Err(Failure::input(
            "The input 'driverShare.path' is required.".into(),
            "Set driverShare.path to the share folder or .zip file that holds the Oracle Instant Client (OCI) driver.",
            hresult::INVALID_ARG,
        ));
    };
    let meta = inspect(&name, &bytes)?;
    if let Some(existing) = w.packages.packages.get(&name.to_lowercase())
        && existing.archive_checksum != meta.archive_checksum
    {
        return Err(Failure::failed(
            format!(
                "A driver package named '{name}' already exists on this service with a different checksum ({} here, {} stored).",
                meta.archive_checksum, existing.archive_checksum
            ),
            "Give the new archive a different file name, or install the package that is already uploaded.",
            hresult::INVALID_OPERATION,
        ));
    }
    std::fs::create_dir_all(&w.staging_dir)
        .and_then(|_| {
            let staged = w
                .staging_dir
                .join(format!("staged-{}", uuid::Uuid::new_v4()));
            std::fs::write(&staged, &bytes).map(|_| staged)
        })
        .map(|staged| (name, meta, staged))
        .map_err(|e| {
            Failure::failed(
                format!("The service could not store the driver package: {e}."),
                "Retry the upload.",
                hresult::EXCEPTION,
            )
        })
}

/// Maps `driverShare.path` to a local file or folder: a UNC path through the configured
/// share roots (checking credentials when the root has them), a `file://` URL, or an
/// absolute local path.
pub fn resolve_path(
    path: &str,
    user: Option<&str>,
    password: Option<&str>,
    roots: &[ShareRoot],
) -> Result<PathBuf, Failure> {
    if path.starts_with("\\\\") || path.starts_with("//") {
        let mut parts = path.split(['\\', '/']).filter(|p| !p.is_empty());
        let (Some(host), Some(share)) = (parts.next(), parts.next()) else {
            return Err(Failure::input(
                format!("'{path}' is not a valid share path."),
                "Use a UNC path like \\\\server\\share\\folder\\instantclient.zip.",
                hresult::INVALID_ARG,
            ));
        };
        let rest: Vec<&str> = parts.collect();
        let root = roots
            .iter()
            .find(|r| r.host.eq_ignore_ascii_case(host) && r.share.eq_ignore_ascii_case(share))
            .ok_or_else(|| {
                Failure::failed(
                    format!("The network path '\\\\{host}\\{share}' was not found."),
                    "Check the server and share names in driverShare.path, and that the share is reachable from the Data Migration Service.",
                    hresult::BAD_NETPATH,
                )
            })?;
        if let Some(want_user) = &root.user {
            let user_ok = user.is_some_and(|u| u.eq_ignore_ascii_case(want_user));
            let pass_ok = root.password.as_deref().is_none_or(|p| Some(p) == password);
            if !(user_ok && pass_ok) {
                return Err(Failure::failed(
                    format!(
                        "Access to '\\\\{host}\\{share}' was denied for user '{}': the user name or password is incorrect.",
                        user.unwrap_or("")
                    ),
                    "Check driverShare.userName and driverShare.password; the account needs read access to the share.",
                    hresult::ACCESS_DENIED,
                ));
            }
        }
        if rest.iter().any(|p| *p == ".." || *p == ".") {
            return Err(Failure::input(
                format!("The share path '{path}' may not contain '.' or '..' segments."),
                "Name the driver folder or archive directly below the share.",
                hresult::INVALID_ARG,
            ));
        }
        return Ok(rest.iter().fold(root.dir.clone(), |p, seg| p.join(seg)));
    }
    if let Some(stripped) = path.strip_prefix("file://") {
        return url::Url::parse(path)
            .ok()
            .and_then(|u| u.to_file_path().ok())
            .or_else(|| Some(PathBuf::from(stripped)).filter(|p| p.is_absolute()))
            .ok_or_else(|| {
                Failure::input(
                    format!("'{path}' is not a valid file URL."),
                    "Use file:///absolute/path/to/folder-or-archive.zip.",
                    hresult::INVALID_ARG,
                )
            });
    }
    let p = PathBuf::from(path);
    if p.is_absolute() {
        return Ok(p);
    }
    Err(Failure::input(
        format!("'{path}' is not a share path."),
        "Use a UNC path like \\\\server\\share\\folder (or, with the emulator, an absolute local path or file:// URL).",
        hresult::INVALID_ARG,
    ))
}

/// Picks the archive (the file itself, or the single `.zip` of a folder) and reads it.
fn read_archive(shown: &str, local: &Path) -> Result<(String, Vec<u8>), Failure> {
    let not_found = || {
        Failure::failed(
            format!("The driver archive path '{shown}' could not be found."),
            "Check driverShare.path: it must name the folder holding the driver .zip, or the .zip itself.",
            hresult::FILE_NOT_FOUND,
        )
    };
    let meta = std::fs::metadata(local).map_err(|_| not_found())?;
    let file = if meta.is_dir() {
        let mut zips: Vec<String> = std::fs::read_dir(local)
            .map_err(|_| not_found())?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.to_ascii_lowercase().ends_with(".zip"))
            .collect();
        zips.sort();
        pick_single_zip(shown, zips).map(|z| local.join(z))?
    } else {
        local.to_path_buf()
    };
    if std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) > MAX_ARCHIVE {
        return Err(Failure::input(
            format!(
                "The driver archive '{shown}' is larger than {} MiB.",
                MAX_ARCHIVE >> 20
            ),
            "Use the Oracle Instant Client Basic or Basic Lite package.",
            hresult::INVALID_DATA,
        ));
    }
    let bytes = std::fs::read(&file).map_err(|_| not_found())?;
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("driver.zip")
        .to_string();
    Ok((name, bytes))
}

/// Exactly one `.zip` must be offered; zero or several is an input error.
pub fn pick_single_zip(shown: &str, zips: Vec<String>) -> Result<String, Failure> {
    match zips.len() {
        1 => Ok(zips.into_iter().next().unwrap_or_default()),
        0 => Err(Failure::input(
            format!("'{shown}' holds no .zip driver archive."),
            "Put the Oracle Instant Client .zip archive in the folder, or name the archive itself in the path.",
            hresult::FILE_NOT_FOUND,
        )),
        n => Err(Failure::input(
            format!(
                "'{shown}' holds {n} .zip archives ({}); exactly one is expected.",
                zips.join(", ")
            ),
            "Leave only the driver archive in the folder, or name the archive itself in the path.",
            hresult::INVALID_ARG,
        )),
    }
}

/// Opens the archive, requires `oci.dll`, and describes the package.
pub fn inspect(name: &str, bytes: &[u8]) -> Result<PackageMeta, Failure> {
    let damaged = |why: String| {
        Failure::failed(
            format!("'{name}' is not a valid zip archive: {why}."),
            "Download the Oracle Instant Client archive again; the file appears damaged.",
            hresult::INVALID_DATA,
        )
    };
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| damaged(e.to_string()))?;
    let dll_index = (0..zip.len()).find(|i| {
        zip.name_for_index(*i)
            .and_then(|n| n.ok())
            .is_some_and(|n| {
                n.rsplit(['/', '\\'])
                    .next()
                    .is_some_and(|b| b.eq_ignore_ascii_case("oci.dll"))
            })
    });
    let Some(dll_index) = dll_index else {
        return Err(Failure::failed(
            format!("The archive '{name}' does not contain oci.dll."),
            "Use the Windows x64 Oracle Instant Client (Basic or Basic Lite) package, which contains oci.dll.",
            hresult::FILE_NOT_FOUND,
        ));
    };
    let mut dll = Vec::new();
    zip.by_index(dll_index)
        .map_err(|e| damaged(e.to_string()))?
        .take(MAX_ARCHIVE)
        .read_to_end(&mut dll)
        .map_err(|e| damaged(e.to_string()))?;
    let version = pe_file_version(&dll).or_else(|| version_from_name(name)).ok_or_else(|| {
        Failure::failed(
            format!("The version of oci.dll in '{name}' could not be determined."),
            "Use an unmodified Oracle Instant Client archive (its oci.dll carries a version resource).",
            hresult::INVALID_DATA,
        )
    })?;
    Ok(PackageMeta {
        driver_name: name.to_string(),
        driver_size: bytes.len() as u64,
        archive_checksum: B64.encode(Md5::digest(bytes)),
        oracle_checksum: Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        supported_oracle_versions: supported_versions(&version),
        assembly_version: version,
        file: PathBuf::new(),
    })
}

/// The file version of a Windows PE image, read from its `VS_FIXEDFILEINFO`.
pub fn pe_file_version(dll: &[u8]) -> Option<String> {
    const SIGNATURE: [u8; 4] = 0xFEEF04BDu32.to_le_bytes();
    let at = dll.windows(4).position(|w| w == SIGNATURE)?;
    let word = |off: usize| -> Option<u32> {
        let b = dll.get(at + off..at + off + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (ms, ls) = (word(8)?, word(12)?);
    Some(format!(
        "{}.{}.{}.{}.0",
        ms >> 16,
        ms & 0xffff,
        ls >> 16,
        ls & 0xffff
    ))
}

/// The version in an Instant Client file name: `instantclient-…-windows.x64-19.19.0.0.0dbru.zip`.
pub fn version_from_name(name: &str) -> Option<String> {
    let stem = name
        .strip_suffix(".zip")
        .or_else(|| name.strip_suffix(".ZIP"))?;
    let last = stem.rsplit('-').next()?;
    let digits = last.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let parts: Vec<&str> = digits.split('.').collect();
    (parts.len() >= 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())))
    .then(|| digits.to_string())
}

/// Oracle database versions a client of this version talks to — the emulator's model of
/// Oracle's client/server interoperability matrix, `major.minor` only.
pub fn supported_versions(version: &str) -> Vec<String> {
    let mut it = version.split('.');
    let major = it.next().unwrap_or("");
    let minor = it.next().unwrap_or("0");
    let list: &[&str] = match major {
        "11" => &["10.1", "10.2", "11.1", "11.2"],
        "12" => &["10.2", "11.1", "11.2", "12.1", "12.2"],
        "18" => &["11.2", "12.1", "12.2", "18.0"],
        "19" => &["11.2", "12.1", "12.2", "18.0", "19.0"],
        "21" => &["12.1", "12.2", "18.0", "19.0", "21.0"],
        "23" => &["19.0", "21.0", "23.0"],
        _ => return vec![format!("{major}.{minor}")],
    };
    list.iter().map(|s| s.to_string()).collect()
}

/// `major.minor` of an Oracle server version, with 18c and later reduced to `major.0`.
pub fn server_major_minor(v: &str) -> Option<String> {
    let mut it = v.trim().trim_end_matches(['c', 'C']).split('.');
    let major: u32 = it.next()?.parse().ok()?;
    let minor: u32 = match it.next() {
        Some(m) => m.parse().ok()?,
        None => 0,
    };
    Some(if major >= 18 {
        format!("{major}.0")
    } else {
        format!("{major}.{minor}")
    })
}

fn install(w: &WorkInput) -> Result<String, Failure> {
    let Some(name) = str_field(&w.input, "driverPackageName") else {
        return Err(Failure::input(
            "The input 'driverPackageName' is required.".into(),
            "Set it to the driverPackageName output of a Service.Upload.OCI task.",
            hresult::INVALID_ARG,
        ));
    };
    if w.other_install_running {
        return Err(Failure::failed(
            "Another driver installation is in progress on this service.".into(),
            "Wait for the other installation to finish (or make one install depend on the other), then install again.",
            hresult::INVALID_OPERATION,
        ));
    }
    let meta = w
        .packages
        .packages
        .get(&name.to_lowercase())
        .ok_or_else(|| {
            Failure::input(
                format!("Driver package '{name}' has not been uploaded to this service."),
                "Run a Service.Upload.OCI task first and pass its driverPackageName output.",
                hresult::FILE_NOT_FOUND,
            )
        })?;
    let intact = std::fs::read(&meta.file)
        .map(|b| B64.encode(Md5::digest(&b)) == meta.archive_checksum)
        .unwrap_or(false);
    if !intact {
        return Err(Failure::failed(
            format!(
                "The stored driver package '{name}' is damaged: its checksum no longer matches {}.",
                meta.archive_checksum
            ),
            "Upload the driver package again, then install it.",
            hresult::INVALID_DATA,
        ));
    }
    Ok(meta.driver_name.clone())
}

/// The wire form of an uploaded package (`OracleOCIDriverInfo`).
pub fn driver_info(meta: &PackageMeta) -> Value {
    json!({
        "driverName": meta.driver_name,
        "driverSize": meta.driver_size.to_string(),
        "archiveChecksum": meta.archive_checksum,
        "oracleChecksum": meta.oracle_checksum,
        "assemblyVersion": meta.assembly_version,
        "supportedOracleVersions": meta.supported_oracle_versions,
    })
}

fn check(w: &WorkInput) -> WorkResult {
    let wanted = str_field(&w.input, "serverVersion").filter(|v| !v.eq_ignore_ascii_case("NA"));
    let wanted_mm = match wanted.map(server_major_minor) {
        Some(None) => {
            return failed(Failure::input(
                format!(
                    "serverVersion '{}' is not an Oracle version.",
                    wanted.unwrap_or_default()
                ),
                "Give the Oracle server version as major.minor, for example 19.0, or leave it empty to list the supported versions.",
                hresult::INVALID_ARG,
            ));
        }
        Some(Some(mm)) => Some(mm),
        None => None,
    };
    let installed = w
        .packages
        .installed
        .as_ref()
        .and_then(|n| w.packages.packages.get(n));
    let Some(meta) = installed else {
        return WorkResult {
            state: "Succeeded".into(),
            output: vec![json!({"validationErrors": [validation_error(
                "No Oracle OCI driver is installed on the service.",
                "Run a Service.Upload.OCI task, then Service.Install.OCI.",
                hresult::EXCEPTION,
            )]})],
            errors: vec![],
            effect: Effect::None,
        };
    };
    let mut errors = Vec::new();
    if let Some(mm) = wanted_mm
        && !meta.supported_oracle_versions.contains(&mm)
    {
        errors.push(validation_error(
            &format!(
                "The installed driver {} (version {}) does not support Oracle {mm}; it supports {}.",
                meta.driver_name,
                meta.assembly_version,
                meta.supported_oracle_versions.join(", ")
            ),
            &format!("Upload and install an Oracle Instant Client that supports Oracle {mm}."),
            hresult::INVALID_OPERATION,
        ));
    }
    WorkResult {
        state: "Succeeded".into(),
        output: vec![json!({"installedDriver": driver_info(meta), "validationErrors": errors})],
        errors: vec![],
        effect: Effect::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_names_and_pe() {
        assert_eq!(
            version_from_name("instantclient-basiclite-windows.x64-19.19.0.0.0dbru.zip").as_deref(),
            Some("19.19.0.0.0")
        );
        assert_eq!(
            version_from_name("instantclient-basic-windows.x64-12.2.0.1.0.zip").as_deref(),
            Some("12.2.0.1.0")
        );
        assert_eq!(version_from_name("driver.zip"), None);
        let mut dll = b"MZ....".to_vec();
        dll.extend_from_slice(&0xFEEF04BDu32.to_le_bytes());
        dll.extend_from_slice(&0x0001_0000u32.to_le_bytes());
        dll.extend_from_slice(&((19u32 << 16) | 19).to_le_bytes());
        dll.extend_from_slice(&0u32.to_le_bytes());
        assert_eq!(pe_file_version(&dll).as_deref(), Some("19.19.0.0.0"));
        assert_eq!(pe_file_version(b"no resource"), None);
    }

    #[test]
    fn server_versions() {
        assert_eq!(server_major_minor("19.3.0.0").as_deref(), Some("19.0"));
        assert_eq!(server_major_minor("12.2").as_deref(), Some("12.2"));
        assert_eq!(server_major_minor("19c").as_deref(), Some("19.0"));
        assert_eq!(server_major_minor("abc"), None);
        assert!(supported_versions("19.19.0.0.0").contains(&"12.2".to_string()));
    }

    #[test]
    fn unc_paths_map_through_share_roots() {
        let roots = vec![
            ShareRoot::parse("FileServer/Drivers=/srv/d,user=CONTOSO\\dms,password=pw").unwrap(),
        ];
        let ok = resolve_path(
            "\\\\fileserver\\drivers\\x\\a.zip",
            Some("contoso\\DMS"),
            Some("pw"),
            &roots,
        )
        .unwrap();
        assert_eq!(ok, PathBuf::from("/srv/d/x/a.zip"));
        let denied = resolve_path(
            "\\\\fileserver\\drivers\\a.zip",
            Some("contoso\\dms"),
            Some("nope"),
            &roots,
        )
        .unwrap_err();
        assert_eq!(denied.hresult, hresult::ACCESS_DENIED);
        assert!(!denied.message.contains("nope"));
        let missing = resolve_path("\\\\other\\share\\a.zip", None, None, &roots).unwrap_err();
        assert_eq!(missing.hresult, hresult::BAD_NETPATH);
        let dots = resolve_path(
            "\\\\fileserver\\drivers\\..\\etc",
            Some("contoso\\dms"),
            Some("pw"),
            &roots,
        )
        .unwrap_err();
        assert_eq!(dots.state, "FailedInputValidation");
        assert_eq!(
            resolve_path("file:///tmp/x.zip", None, None, &[]).unwrap(),
            PathBuf::from("/tmp/x.zip")
        );
        assert_eq!(
            resolve_path("relative/x.zip", None, None, &[])
                .unwrap_err()
                .state,
            "FailedInputValidation"
        );
    }
}
