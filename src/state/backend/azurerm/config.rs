//! The azurerm backend's settings, checked: names, endpoint, lease duration and the
//! credential, resolved from the `backend "azurerm"` block and the environment
//! (`ARM_ACCESS_KEY`, `ARM_SAS_TOKEN`). Nothing here talks to the service.

use super::rest::Auth;
use super::sign;
use crate::config::Backend;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Lease duration when the configuration names none.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// The shortest and longest finite lease the Blob service grants.
pub const MIN_LEASE: Duration = Duration::from_secs(15);
pub const MAX_LEASE: Duration = Duration::from_secs(60);

/// Environment variable holding the storage account key.
pub const ACCESS_KEY_ENV: &str = "ARM_ACCESS_KEY";
/// Environment variable holding a SAS token.
pub const SAS_TOKEN_ENV: &str = "ARM_SAS_TOKEN";

/// Checked settings of one azurerm backend.
#[derive(Clone)]
pub struct AzureRmConfig {
    pub account: String,
    pub container: String,
    pub key: String,
    /// The account's blob endpoint, without credentials.
    pub endpoint: Url,
    pub lease_duration: Duration,
    pub(super) auth: Auth,
}

impl fmt::Debug for AzureRmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureRmConfig")
            .field("account", &self.account)
            .field("container", &self.container)
            .field("key", &self.key)
            .field("endpoint", &self.endpoint.as_str())
            .field("lease_duration", &self.lease_duration)
            .field("auth", &self.auth)
            .finish()
    }
}

impl AzureRmConfig {
    /// Checks the settings of a `backend "azurerm"` block, reading credentials that the
    /// block leaves out from `env`. Errors name the offending setting, never a secret.
    pub fn from_settings(
        backend: &Backend,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<AzureRmConfig, String> {
        let Backend::AzureRm {
            storage_account_name,
            container_name,
            key,
            endpoint,
            use_azuread_auth,
            sas_token,
            access_key,
            lease_duration,
        } = backend
        else {
            return Err("the backend is not \"azurerm\"".into());
        };
        check_account(storage_account_name)?;
        check_container(container_name)?;
        if key.trim().is_empty() || key.len() > 1024 || key.ends_with('/') {
            return Err(format!(
                "key {key:?} is not a valid blob name (1 to 1024 characters, not ending with \"/\")"
            ));
        }
        let endpoint = match endpoint.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => {
                let u =
                    Url::parse(e).map_err(|err| format!("endpoint {e:?} is not a URL: {err}"))?;
                if !matches!(u.scheme(), "http" | "https") || u.cannot_be_a_base() {
                    return Err(format!("endpoint {e:?} must be an http or https URL"));
                }
                if u.query().is_some() {
                    return Err(
                        "endpoint must not carry a query string; give a SAS with sas_token or ARM_SAS_TOKEN".into(),
                    );
                }
                u
            }
            None => Url::parse(&format!(
                "https://{storage_account_name}.blob.core.windows.net"
            ))
            .map_err(|e| format!("storage_account_name gives no valid endpoint: {e}"))?,
        };
        let lease_duration = lease_duration.unwrap_or(DEFAULT_LEASE);
        if lease_duration < MIN_LEASE
            || lease_duration > MAX_LEASE
            || lease_duration.subsec_nanos() != 0
        {
            return Err(format!(
                "lease_duration must be a whole number of seconds from 15s to 60s (the finite leases the Blob service grants); got {lease_duration:?}"
            ));
        }
        let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        let auth = if *use_azuread_auth {
            if endpoint.scheme() != "https" {
                return Err(format!(
                    "use_azuread_auth needs an https endpoint (Entra ID tokens are never sent over plain http); the endpoint is {}",
                    endpoint.as_str()
                ));
            }
            Auth::Entra(Arc::new(super::rest::EntraTokens::new(entra_credential()?)))
        } else if let Some(k) =
            nonempty(access_key).or_else(|| env(ACCESS_KEY_ENV).filter(|s| !s.trim().is_empty()))
        {
            Auth::SharedKey(sign::decode_key(&k)?)
        } else if let Some(s) =
            nonempty(sas_token).or_else(|| env(SAS_TOKEN_ENV).filter(|s| !s.trim().is_empty()))
        {
            let s = s.trim().trim_start_matches('?').to_string();
            if !s.contains("sig=") {
                return Err(
                    "the SAS token has no signature (sig=); give the whole query string".into(),
                );
            }
            Auth::Sas(s)
        } else {
            return Err(format!(
                "no credentials: set {ACCESS_KEY_ENV} (the storage account key) or {SAS_TOKEN_ENV}, or set use_azuread_auth = true to sign in with Entra ID"
            ));
        };
        Ok(AzureRmConfig {
            account: storage_account_name.clone(),
            container: container_name.clone(),
            key: key.clone(),
            endpoint,
            lease_duration,
            auth,
        })
    }

    /// Which credential is used, for messages.
    pub fn auth_name(&self) -> &'static str {
        self.auth.name()
    }
}

fn check_account(name: &str) -> Result<(), String> {
    let ok = (3..=24).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "storage_account_name {name:?} is not a storage account name (3 to 24 lowercase letters and digits)"
        ))
    }
}

fn check_container(name: &str) -> Result<(), String> {
    let ok = (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "container_name {name:?} is not a container name (3 to 63 lowercase letters, digits and single hyphens)"
        ))
    }
}

/// The Entra ID credential for the backend, chosen from the environment the way the
/// azurerm backend users know: a service principal secret, workload identity, managed
/// identity, else the developer tools (Azure CLI, azd).
fn entra_credential() -> Result<Arc<dyn azure_core::credentials::TokenCredential>, String> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
    fn err(what: &'static str) -> impl Fn(azure_core::Error) -> String {
        move |e| format!("cannot set up the {what} credential: {e}")
    }
    if let (Some(tenant), Some(client), Some(secret)) = (
        var("AZURE_TENANT_ID").or_else(|| var("ARM_TENANT_ID")),
        var("AZURE_CLIENT_ID").or_else(|| var("ARM_CLIENT_ID")),
        var("AZURE_CLIENT_SECRET").or_else(|| var("ARM_CLIENT_SECRET")),
    ) {
        let c = azure_identity::ClientSecretCredential::new(
            &tenant,
            client,
            azure_core::credentials::Secret::new(secret),
            None,
        )
        .map_err(err("client secret"))?;
        return Ok(c);
    }
    if var("AZURE_FEDERATED_TOKEN_FILE").is_some() {
        return Ok(azure_identity::WorkloadIdentityCredential::new(None)
            .map_err(err("workload identity"))?);
    }
    if var("IDENTITY_ENDPOINT").is_some() || var("MSI_ENDPOINT").is_some() {
        return Ok(azure_identity::ManagedIdentityCredential::new(None)
            .map_err(err("managed identity"))?);
    }
    Ok(azure_identity::DeveloperToolsCredential::new(None).map_err(err("developer tools"))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// Settings that differ from a valid Azurite backend by what `f` changes.
    #[derive(Clone)]
    struct S {
        account: &'static str,
        container: &'static str,
        endpoint: Option<&'static str>,
        azuread: bool,
        sas: Option<&'static str>,
        access_key: Option<&'static str>,
        lease: Option<u64>,
    }

    const OK: S = S {
        account: "devstoreaccount1",
        container: "tfstate",
        endpoint: Some("http://127.0.0.1:10000/devstoreaccount1"),
        azuread: false,
        sas: None,
        access_key: None,
        lease: None,
    };

    fn backend(s: S) -> Backend {
        Backend::AzureRm {
            storage_account_name: s.account.into(),
            container_name: s.container.into(),
            key: "prod/dmsform.state.json".into(),
            endpoint: s.endpoint.map(Into::into),
            use_azuread_auth: s.azuread,
            sas_token: s.sas.map(Into::into),
            access_key: s.access_key.map(Into::into),
            lease_duration: s.lease.map(Duration::from_secs),
        }
    }

    fn env_key(n: &str) -> Option<String> {
        (n == ACCESS_KEY_ENV).then(|| KEY.to_string())
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn resolves_key_from_env_and_defaults() {
        let c = AzureRmConfig::from_settings(&backend(OK), &env_key).unwrap();
        assert_eq!(c.lease_duration, DEFAULT_LEASE);
        assert_eq!(c.auth_name(), "access key");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("Eby8") && dbg.contains("redacted"), "{dbg}");
        let b = backend(S {
            endpoint: None,
            ..OK
        });
        let c = AzureRmConfig::from_settings(&b, &env_key).unwrap();
        assert_eq!(
            c.endpoint.as_str(),
            "https://devstoreaccount1.blob.core.windows.net/"
        );
    }

    #[test]
    fn sas_from_config_or_env() {
        let b = backend(S {
            sas: Some("?sv=1&sig=abc"),
            ..OK
        });
        let c = AzureRmConfig::from_settings(&b, &no_env).unwrap();
        assert_eq!(c.auth_name(), "SAS token");
        let env = |n: &str| (n == SAS_TOKEN_ENV).then(|| "sv=1&sp=r".to_string());
        let err = AzureRmConfig::from_settings(&backend(OK), &env).unwrap_err();
        assert!(err.contains("sig="), "{err}");
    }

    #[test]
    fn rejects_bad_settings_without_quoting_secrets() {
        let err = AzureRmConfig::from_settings(&backend(OK), &no_env).unwrap_err();
        assert!(err.contains("ARM_ACCESS_KEY"), "{err}");
        let b = backend(S {
            access_key: Some("secret-not-base64!"),
            ..OK
        });
        let err = AzureRmConfig::from_settings(&b, &no_env).unwrap_err();
        assert!(!err.contains("secret-not-base64"), "{err}");
        let cases = [
            (
                S {
                    account: "Bad_Name",
                    ..OK
                },
                "storage_account_name",
            ),
            (
                S {
                    container: "x",
                    ..OK
                },
                "container_name",
            ),
            (
                S {
                    endpoint: Some("ftp://x"),
                    ..OK
                },
                "endpoint",
            ),
            (
                S {
                    endpoint: Some("http://h/a?sig=zzz"),
                    ..OK
                },
                "query",
            ),
            (
                S {
                    lease: Some(5),
                    ..OK
                },
                "lease_duration",
            ),
            (
                S {
                    lease: Some(120),
                    ..OK
                },
                "lease_duration",
            ),
            (
                S {
                    azuread: true,
                    ..OK
                },
                "https",
            ),
        ];
        for (s, needle) in cases {
            let err = AzureRmConfig::from_settings(&backend(s), &env_key).unwrap_err();
            assert!(err.contains(needle), "{needle}: {err}");
            assert!(!err.contains("zzz"), "{err}");
        }
    }
}
