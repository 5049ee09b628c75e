//! Schemas of the three resource types of provider `dms` and of the meta-arguments every
//! resource accepts. Pure data: what argument exists, its type, whether it is required,
//! sensitive or forces replacement.

use super::types::Type;

/// The resource types this engine manages, one per DMS service task type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceKind {
    /// `dms_oci_driver_check` (`Service.Check.OCI`).
    DriverCheck,
    /// `dms_oci_driver_upload` (`Service.Upload.OCI`).
    DriverUpload,
    /// `dms_oci_driver_install` (`Service.Install.OCI`).
    DriverInstall,
}

/// All resource type names, in a stable order.
pub const RESOURCE_TYPES: [&str; 3] = [
    "dms_oci_driver_check",
    "dms_oci_driver_upload",
    "dms_oci_driver_install",
];

impl ResourceKind {
    /// Looks a resource type up by its configuration name.
    pub fn from_type_name(name: &str) -> Option<ResourceKind> {
        match name {
            "dms_oci_driver_check" => Some(ResourceKind::DriverCheck),
            "dms_oci_driver_upload" => Some(ResourceKind::DriverUpload),
            "dms_oci_driver_install" => Some(ResourceKind::DriverInstall),
            _ => None,
        }
    }

    /// The configuration name (`dms_oci_driver_check`, …).
    pub fn type_name(self) -> &'static str {
        match self {
            ResourceKind::DriverCheck => RESOURCE_TYPES[0],
            ResourceKind::DriverUpload => RESOURCE_TYPES[1],
            ResourceKind::DriverInstall => RESOURCE_TYPES[2],
        }
    }

    /// The service's `taskType` for this resource.
    pub fn task_type(self) -> &'static str {
        match self {
            ResourceKind::DriverCheck => "Service.Check.OCI",
            ResourceKind::DriverUpload => "Service.Upload.OCI",
            ResourceKind::DriverInstall => "Service.Install.OCI",
        }
    }

    /// The top-level arguments of this type (identity, input and common ones).
    pub fn arguments(self) -> Vec<ArgSchema> {
        let mut args = COMMON_ARGS.to_vec();
        match self {
            ResourceKind::DriverCheck => args.push(ArgSchema {
                name: "server_version",
                ty: ArgType::String,
                required: false,
                sensitive: false,
                forces_replacement: true,
            }),
            ResourceKind::DriverUpload => {}
            ResourceKind::DriverInstall => args.push(ArgSchema {
                name: "driver_package_name",
                ty: ArgType::String,
                required: true,
                sensitive: false,
                forces_replacement: true,
            }),
        }
        args
    }

    /// Names of nested blocks this type takes besides the meta-argument blocks.
    pub fn nested_blocks(self) -> &'static [&'static str] {
        match self {
            ResourceKind::DriverUpload => &["driver_share"],
            _ => &[],
        }
    }
}

/// The value type of a schema argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    String,
    Bool,
    MapOfString,
}

impl ArgType {
    /// The language type used for conversion.
    pub fn to_type(self) -> Type {
        match self {
            ArgType::String => Type::String,
            ArgType::Bool => Type::Bool,
            ArgType::MapOfString => Type::Map(Box::new(Type::String)),
        }
    }
}

/// One argument of a resource schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgSchema {
    pub name: &'static str,
    pub ty: ArgType,
    pub required: bool,
    pub sensitive: bool,
    pub forces_replacement: bool,
}

const fn arg(name: &'static str, ty: ArgType, required: bool, forces: bool) -> ArgSchema {
    ArgSchema {
        name,
        ty,
        required,
        sensitive: false,
        forces_replacement: forces,
    }
}

/// Arguments every resource type has.
pub const COMMON_ARGS: [ArgSchema; 5] = [
    arg("group_name", ArgType::String, true, true),
    arg("service_name", ArgType::String, true, true),
    arg("task_name", ArgType::String, true, true),
    arg("client_data", ArgType::MapOfString, false, false),
    arg("delete_running", ArgType::Bool, false, false),
];

/// Attributes of the `driver_share` block in its file-share form.
pub const FILE_SHARE_ARGS: [ArgSchema; 3] = [
    arg("path", ArgType::String, true, true),
    arg("user_name", ArgType::String, false, true),
    ArgSchema {
        name: "password",
        ty: ArgType::String,
        required: false,
        sensitive: true,
        forces_replacement: true,
    },
];

/// The attribute of the `driver_share` block in its blob form.
pub const BLOB_SHARE_ARG: ArgSchema = ArgSchema {
    name: "sas_uri",
    ty: ArgType::String,
    required: true,
    sensitive: true,
    forces_replacement: true,
};

/// Read-only attributes every resource exports, known once the task has run.
pub const COMPUTED_ATTRS: [&str; 4] = ["id", "state", "errors", "output"];

/// Meta-arguments (attributes) accepted on every resource.
pub const META_ARGS: [&str; 3] = ["count", "for_each", "depends_on"];

/// Meta-argument blocks accepted on every resource.
pub const META_BLOCKS: [&str; 3] = ["lifecycle", "timeouts", "postcondition"];

/// Whether an attribute path (as `a.b`) inside a resource is always sensitive.
pub fn is_sensitive_path(path: &str) -> bool {
    matches!(path, "driver_share.password" | "driver_share.sas_uri")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_names() {
        for name in RESOURCE_TYPES {
            let k = ResourceKind::from_type_name(name).expect("known type");
            assert_eq!(k.type_name(), name);
        }
        assert_eq!(ResourceKind::from_type_name("dms_other"), None);
        assert_eq!(ResourceKind::DriverUpload.task_type(), "Service.Upload.OCI");
    }

    #[test]
    fn schemas_have_identity_and_inputs() {
        let install = ResourceKind::DriverInstall.arguments();
        assert!(
            install
                .iter()
                .any(|a| a.name == "driver_package_name" && a.required)
        );
        assert!(
            install
                .iter()
                .any(|a| a.name == "group_name" && a.forces_replacement)
        );
        let check = ResourceKind::DriverCheck.arguments();
        assert!(
            check
                .iter()
                .any(|a| a.name == "server_version" && !a.required)
        );
        assert!(
            !ResourceKind::DriverUpload
                .arguments()
                .iter()
                .any(|a| a.sensitive)
        );
        assert!(
            FILE_SHARE_ARGS
                .iter()
                .any(|a| a.name == "password" && a.sensitive)
        );
        assert!(is_sensitive_path("driver_share.sas_uri"));
    }
}
