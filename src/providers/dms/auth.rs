//! Credentials for Azure Resource Manager: where bearer tokens come from.
//!
//! Owns the credential chain (like azurerm's: client secret, workload identity, managed
//! identity, then Azure CLI / developer tools), the `token_env` and `none` modes, and the
//! token cache that refreshes before expiry. Tokens are held as [`SecretString`] and never
//! logged; every type here implements `Debug` without printing one. Built on
//! `azure_identity`, which has no default chain of its own.

use super::error::DmsError;
use super::secret::SecretString;
use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// OAuth scope of Azure Resource Manager, whatever endpoint the client talks to.
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";

/// Environment variable read by [`AuthMode::TokenEnv`].
pub const TOKEN_ENV: &str = "DMSFORM_ACCESS_TOKEN";

/// Placeholder bearer token sent in [`AuthMode::None`] (the emulator wants a non-empty one).
pub const PLACEHOLDER_TOKEN: &str = "dmsform-emulator";

/// Refresh a cached token this long before it expires.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// Source of bearer tokens for requests.
#[async_trait]
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// A valid bearer token (without the `Bearer ` prefix).
    async fn token(&self) -> Result<SecretString, DmsError>;
}

/// How to authenticate, as named in configuration and on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// The chain: client secret, workload identity, managed identity, developer tools.
    Default,
    /// Azure CLI only.
    Cli,
    /// Client secret from `AZURE_TENANT_ID` / `AZURE_CLIENT_ID` / `AZURE_CLIENT_SECRET`.
    Env,
    ManagedIdentity,
    WorkloadIdentity,
    /// A ready token in `DMSFORM_ACCESS_TOKEN`.
    TokenEnv,
    /// No credentials: a fixed placeholder token (for the emulator).
    None,
}

impl AuthMode {
    pub const NAMES: [&'static str; 7] = [
        "default",
        "cli",
        "env",
        "managed_identity",
        "workload_identity",
        "token_env",
        "none",
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            AuthMode::Default => "default",
            AuthMode::Cli => "cli",
            AuthMode::Env => "env",
            AuthMode::ManagedIdentity => "managed_identity",
            AuthMode::WorkloadIdentity => "workload_identity",
            AuthMode::TokenEnv => "token_env",
            AuthMode::None => "none",
        }
    }
}

impl FromStr for AuthMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "default" => AuthMode::Default,
            "cli" => AuthMode::Cli,
            "env" => AuthMode::Env,
            "managed_identity" => AuthMode::ManagedIdentity,
            "workload_identity" => AuthMode::WorkloadIdentity,
            "token_env" => AuthMode::TokenEnv,
            "none" => AuthMode::None,
            other => {
                return Err(format!(
                    "unknown auth mode '{other}'; expected one of {}",
                    Self::NAMES.join(", ")
                ));
            }
        })
    }
}

/// A fixed token: `token_env`, `none`, and tests.
pub struct StaticToken(SecretString);

impl StaticToken {
    pub fn new(token: SecretString) -> StaticToken {
        StaticToken(token)
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken(<redacted>)")
    }
}

#[async_trait]
impl TokenSource for StaticToken {
    async fn token(&self) -> Result<SecretString, DmsError> {
        Ok(self.0.clone())
    }
}

/// Whether a token expiring at `expires_on` must be replaced at `now`.
pub fn needs_refresh(expires_on: OffsetDateTime, now: OffsetDateTime, margin: Duration) -> bool {
    expires_on - now <= time::Duration::try_from(margin).unwrap_or(time::Duration::ZERO)
}

struct Cached {
    token: SecretString,
    expires_on: OffsetDateTime,
}

/// An `azure_identity` credential behind an expiry-aware cache (the CLI credentials do
/// not cache on their own), refreshed [`REFRESH_MARGIN`] before expiry.
pub struct CachedCredential {
    name: &'static str,
    inner: Arc<dyn TokenCredential>,
    cache: tokio::sync::Mutex<Option<Cached>>,
}

impl CachedCredential {
    pub fn new(name: &'static str, inner: Arc<dyn TokenCredential>) -> CachedCredential {
        CachedCredential {
            name,
            inner,
            cache: tokio::sync::Mutex::new(None),
        }
    }
}

impl fmt::Debug for CachedCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedCredential")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl TokenSource for CachedCredential {
    async fn token(&self) -> Result<SecretString, DmsError> {
        let mut cache = self.cache.lock().await;
        let now = OffsetDateTime::now_utc();
        if let Some(c) = cache.as_ref()
            && !needs_refresh(c.expires_on, now, REFRESH_MARGIN)
        {
            return Ok(c.token.clone());
        }
        tracing::debug!(credential = self.name, "acquiring an access token");
        let t = self
            .inner
            .get_token(&[ARM_SCOPE], None)
            .await
            .map_err(|e| DmsError::Auth(format!("{}: {}", self.name, sanitize(&e.to_string()))))?;
        let token = SecretString::new(t.token.secret());
        *cache = Some(Cached {
            token: token.clone(),
            expires_on: t.expires_on,
        });
        Ok(token)
    }
}

/// Credential error texts come from identity endpoints and tools; cut anything that looks
/// like a JWT in case one is ever echoed.
fn sanitize(msg: &str) -> String {
    msg.split_whitespace()
        .map(|w| {
            if w.starts_with("eyJ") && w.len() > 20 {
                "<redacted>"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Tries credentials in order; the first one that yields a token is used from then on.
pub struct ChainCredential {
    links: Vec<CachedCredential>,
    chosen: tokio::sync::Mutex<Option<usize>>,
}

impl fmt::Debug for ChainCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.links.iter().map(|l| l.name).collect();
        f.debug_struct("ChainCredential")
            .field("links", &names)
            .finish_non_exhaustive()
    }
}

/// How long a probing managed-identity attempt may take inside the chain before the
/// chain moves on (off Azure the IMDS address does not answer).
const MANAGED_IDENTITY_PROBE: Duration = Duration::from_secs(3);

#[async_trait]
impl TokenSource for ChainCredential {
    async fn token(&self) -> Result<SecretString, DmsError> {
        let mut chosen = self.chosen.lock().await;
        if let Some(i) = *chosen
            && let Some(link) = self.links.get(i)
        {
            return link.token().await;
        }
        let mut failures = Vec::new();
        for (i, link) in self.links.iter().enumerate() {
            let attempt = if link.name == "managed identity" {
                match tokio::time::timeout(MANAGED_IDENTITY_PROBE, link.token()).await {
                    Ok(r) => r,
                    Err(_) => Err(DmsError::Auth("managed identity: no answer".into())),
                }
            } else {
                link.token().await
            };
            match attempt {
                Ok(t) => {
                    tracing::debug!(credential = link.name, "credential chain settled");
                    *chosen = Some(i);
                    return Ok(t);
                }
                Err(DmsError::Auth(m)) => failures.push(m),
                Err(e) => failures.push(e.to_string()),
            }
        }
        Err(DmsError::Auth(format!(
            "no credential in the chain worked: {}",
            failures.join("; ")
        )))
    }
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn identity_err(what: &str, e: azure_core::Error) -> DmsError {
    DmsError::Auth(format!("{what}: {}", sanitize(&e.to_string())))
}

fn client_secret() -> Result<Option<CachedCredential>, DmsError> {
    let (Some(tenant), Some(client), Some(secret)) = (
        env_nonempty("AZURE_TENANT_ID"),
        env_nonempty("AZURE_CLIENT_ID"),
        env_nonempty("AZURE_CLIENT_SECRET"),
    ) else {
        return Ok(None);
    };
    let cred = azure_identity::ClientSecretCredential::new(
        &tenant,
        client,
        azure_core::credentials::Secret::new(secret),
        None,
    )
    .map_err(|e| identity_err("client secret", e))?;
    Ok(Some(CachedCredential::new("client secret", cred)))
}

fn workload_identity() -> Result<Option<CachedCredential>, DmsError> {
    if env_nonempty("AZURE_FEDERATED_TOKEN_FILE").is_none() {
        return Ok(None);
    }
    let cred = azure_identity::WorkloadIdentityCredential::new(None)
        .map_err(|e| identity_err("workload identity", e))?;
    Ok(Some(CachedCredential::new("workload identity", cred)))
}

fn managed_identity() -> Result<CachedCredential, DmsError> {
    let cred = azure_identity::ManagedIdentityCredential::new(None)
        .map_err(|e| identity_err("managed identity", e))?;
    Ok(CachedCredential::new("managed identity", cred))
}

fn developer_tools() -> Result<CachedCredential, DmsError> {
    let cred = azure_identity::DeveloperToolsCredential::new(None)
        .map_err(|e| identity_err("developer tools", e))?;
    Ok(CachedCredential::new("developer tools", cred))
}

/// Builds the token source for `mode`, reading the environment now.
pub fn token_source(mode: AuthMode) -> Result<Arc<dyn TokenSource>, DmsError> {
    Ok(match mode {
        AuthMode::None => Arc::new(StaticToken::new(SecretString::new(PLACEHOLDER_TOKEN))),
        AuthMode::TokenEnv => {
            let t = env_nonempty(TOKEN_ENV).ok_or_else(|| {
                DmsError::Auth(format!("auth mode token_env: {TOKEN_ENV} is not set"))
            })?;
            Arc::new(StaticToken::new(SecretString::new(t.trim())))
        }
        AuthMode::Env => Arc::new(client_secret()?.ok_or_else(|| {
            DmsError::Auth(
                "auth mode env: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET"
                    .into(),
            )
        })?),
        AuthMode::WorkloadIdentity => Arc::new(workload_identity()?.ok_or_else(|| {
            DmsError::Auth(
                "auth mode workload_identity: AZURE_FEDERATED_TOKEN_FILE is not set".into(),
            )
        })?),
        AuthMode::ManagedIdentity => Arc::new(managed_identity()?),
        AuthMode::Cli => {
            let cred = azure_identity::AzureCliCredential::new(None)
                .map_err(|e| identity_err("azure cli", e))?;
            Arc::new(CachedCredential::new("azure cli", cred))
        }
        AuthMode::Default => {
            let mut links = Vec::new();
            links.extend(client_secret()?);
            links.extend(workload_identity()?);
            links.push(managed_identity()?);
            links.push(developer_tools()?);
            Arc::new(ChainCredential {
                links,
                chosen: tokio::sync::Mutex::new(None),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::credentials::{AccessToken, TokenRequestOptions};
    use std::sync::atomic::{AtomicU32, Ordering};

    #[derive(Debug)]
    struct Counting {
        calls: AtomicU32,
        lifetime: time::Duration,
    }

    #[async_trait]
    impl TokenCredential for Counting {
        async fn get_token(
            &self,
            scopes: &[&str],
            _: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            assert_eq!(scopes, [ARM_SCOPE]);
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(AccessToken::new(
                format!("tok-{n}"),
                OffsetDateTime::now_utc() + self.lifetime,
            ))
        }
    }

    #[tokio::test]
    async fn cache_reuses_until_close_to_expiry() {
        let long = Arc::new(Counting {
            calls: AtomicU32::new(0),
            lifetime: time::Duration::hours(1),
        });
        let c = CachedCredential::new("test", long.clone());
        assert_eq!(c.token().await.unwrap().expose(), "tok-0");
        assert_eq!(c.token().await.unwrap().expose(), "tok-0");
        assert_eq!(long.calls.load(Ordering::SeqCst), 1);

        let short = Arc::new(Counting {
            calls: AtomicU32::new(0),
            lifetime: time::Duration::minutes(2),
        });
        let c = CachedCredential::new("test", short.clone());
        assert_eq!(c.token().await.unwrap().expose(), "tok-0");
        assert_eq!(c.token().await.unwrap().expose(), "tok-1");
        assert!(!format!("{c:?}").contains("tok-"));
    }

    #[derive(Debug)]
    struct Refusing(AtomicU32);

    #[async_trait]
    impl TokenCredential for Refusing {
        async fn get_token(
            &self,
            _: &[&str],
            _: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                "not configured here",
            ))
        }
    }

    #[tokio::test]
    async fn the_chain_tries_in_order_then_keeps_the_first_that_works() {
        let refusing = Arc::new(Refusing(AtomicU32::new(0)));
        let working = Arc::new(Counting {
            calls: AtomicU32::new(0),
            lifetime: time::Duration::hours(1),
        });
        let unused = Arc::new(Counting {
            calls: AtomicU32::new(0),
            lifetime: time::Duration::hours(1),
        });
        let chain = ChainCredential {
            links: vec![
                CachedCredential::new("client secret", refusing.clone()),
                CachedCredential::new("workload identity", working.clone()),
                CachedCredential::new("developer tools", unused.clone()),
            ],
            chosen: tokio::sync::Mutex::new(None),
        };
        assert_eq!(chain.token().await.unwrap().expose(), "tok-0");
        assert_eq!(chain.token().await.unwrap().expose(), "tok-0");
        assert_eq!(
            refusing.0.load(Ordering::SeqCst),
            1,
            "tried once, then skipped"
        );
        assert_eq!(working.calls.load(Ordering::SeqCst), 1, "cached");
        assert_eq!(unused.calls.load(Ordering::SeqCst), 0, "never reached");

        let none = ChainCredential {
            links: vec![CachedCredential::new("client secret", refusing.clone())],
            chosen: tokio::sync::Mutex::new(None),
        };
        let err = none.token().await.unwrap_err().to_string();
        assert!(err.contains("no credential in the chain worked"), "{err}");
        assert!(err.contains("not configured here"), "{err}");
    }

    #[test]
    fn refresh_margin() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(1);
        let m = Duration::from_secs(300);
        assert!(needs_refresh(now, now, m));
        assert!(needs_refresh(now + time::Duration::seconds(300), now, m));
        assert!(!needs_refresh(now + time::Duration::seconds(301), now, m));
        assert!(needs_refresh(now - time::Duration::seconds(1), now, m));
    }

    #[test]
    fn modes_parse_and_static_debug_hides_token() {
        for n in AuthMode::NAMES {
            assert_eq!(n.parse::<AuthMode>().unwrap().as_str(), n);
        }
        assert!("azurecli".parse::<AuthMode>().is_err());
        let s = StaticToken::new(SecretString::new("abc.def"));
        assert!(!format!("{s:?}").contains("abc.def"));
        assert!(sanitize("bad token eyJ0eXAiOiJKV1QiLCJhbGciOi x").contains("<redacted>"));
    }
}
