//! Decoding the `dmsform` settings block (required version, backend) and the
//! `provider "dms"` block, whose arguments are kept as expressions and evaluated once
//! variables are known.

use super::decode::{Decoder, label_range};
use super::model::Backend;
use crate::diag::did_you_mean;
use hcl::edit::Span as _;
use hcl::edit::structure::Block;

impl Decoder<'_> {
    pub(crate) fn settings(&mut self, file: &str, b: &Block) {
        self.labels_ok(file, b, &[]);
        let (attrs, blocks) = self.split(file, &b.body, &["required_version"], &["backend"]);
        if let Some(a) = attrs.get("required_version")
            && let Some(req) = self.const_string(file, a)
        {
            match super::version::satisfies(env!("CARGO_PKG_VERSION"), &req) {
                Ok(true) => {}
                Ok(false) => self.err(
                    "Unsupported dmsform version",
                    format!(
                        "This configuration does not support dmsform version {}. To proceed, either choose another supported dmsform version or update this version constraint (\"{req}\").",
                        env!("CARGO_PKG_VERSION")
                    ),
                    file,
                    a.value.span(),
                ),
                Err(msg) => self.err("Invalid version constraint", msg, file, a.value.span()),
            }
            self.cfg.settings.required_version = Some(req);
        }
        for bb in blocks {
            self.backend(file, bb);
        }
    }

    fn backend(&mut self, file: &str, b: &Block) {
        if !self.labels_ok(file, b, &["type"]) {
            return;
        }
        let decl = self.decl(file, b);
        if let Some(prev) = self.backend_decl.clone() {
            let at = self.where_(&prev);
            self.err(
                "Duplicate backend configuration",
                format!(
                    "A backend was already configured at {at}. Only one backend may be configured."
                ),
                file,
                Some(decl.range),
            );
            return;
        }
        self.backend_decl = Some(decl);
        let kind = b.labels[0].as_str();
        match kind {
            "local" => {
                let (attrs, _) = self.split(file, &b.body, &["path"], &[]);
                let path = attrs
                    .get("path")
                    .and_then(|a| self.const_string(file, a))
                    .unwrap_or_else(|| "dmsform.state.json".into());
                self.cfg.settings.backend = Backend::Local { path };
            }
            "azurerm" => {
                let names = [
                    "storage_account_name",
                    "container_name",
                    "key",
                    "endpoint",
                    "use_azuread_auth",
                    "sas_token",
                    "access_key",
                    "lease_duration",
                ];
                let (attrs, _) = self.split(file, &b.body, &names, &[]);
                let req = |d: &mut Self, n: &str| -> String {
                    match attrs.get(n) {
                        Some(a) => d.const_string(file, a).unwrap_or_default(),
                        None => {
                            d.missing(file, b, n);
                            String::new()
                        }
                    }
                };
                let storage_account_name = req(self, "storage_account_name");
                let container_name = req(self, "container_name");
                let key = req(self, "key");
                let opt =
                    |d: &mut Self, n: &str| attrs.get(n).and_then(|a| d.const_string(file, a));
                let endpoint = opt(self, "endpoint");
                let sas_token = opt(self, "sas_token");
                let access_key = opt(self, "access_key");
                let use_azuread_auth = attrs
                    .get("use_azuread_auth")
                    .and_then(|a| self.const_bool(file, a))
                    .unwrap_or(false);
                let lease_duration = attrs
                    .get("lease_duration")
                    .and_then(|a| self.const_duration(file, a));
                self.cfg.settings.backend = Backend::AzureRm {
                    storage_account_name,
                    container_name,
                    key,
                    endpoint,
                    use_azuread_auth,
                    sas_token,
                    access_key,
                    lease_duration,
                };
            }
            other => {
                let hint = did_you_mean(other, ["local", "azurerm"]);
                self.err(
                    "Unsupported backend type",
                    format!("There is no backend type named \"{other}\"; the supported types are \"local\" and \"azurerm\".{hint}"),
                    file,
                    b.labels.first().and_then(label_range),
                );
            }
        }
    }

    pub(crate) fn provider_block(&mut self, file: &str, b: &Block) {
        if !self.labels_ok(file, b, &["name"]) {
            return;
        }
        let name = b.labels[0].as_str();
        if name != "dms" {
            let hint = did_you_mean(name, ["dms"]);
            self.err(
                "Unsupported provider",
                format!("There is no provider named \"{name}\": dmsform manages only provider \"dms\".{hint}"),
                file,
                b.labels.first().and_then(label_range),
            );
            return;
        }
        let decl = self.decl(file, b);
        if let Some(prev) = self.provider.decl.clone() {
            let at = self.where_(&prev);
            self.err(
                "Duplicate provider configuration",
                format!("A provider configuration for \"dms\" was already given at {at}. Each provider may be configured only once."),
                file,
                Some(decl.range),
            );
            return;
        }
        let names = [
            "subscription_id",
            "endpoint",
            "api_version",
            "auth",
            "poll_interval",
            "max_poll_interval",
        ];
        let (attrs, blocks) = self.split(file, &b.body, &names, &["emulator"]);
        self.provider.decl = Some(decl);
        self.provider.attrs = attrs
            .iter()
            .map(|(k, a)| (k.clone(), self.expr(file, a)))
            .collect();
        for (i, eb) in blocks.iter().enumerate() {
            if i > 0 {
                self.err(
                    "Duplicate emulator block",
                    "Only one emulator block is allowed in the provider configuration.",
                    file,
                    eb.ident.span(),
                );
                continue;
            }
            self.labels_ok(file, eb, &[]);
            let (ea, _) = self.split(
                file,
                &eb.body,
                &["queued_for", "run_for", "share_root"],
                &[],
            );
            self.provider.emulator = Some(
                ea.iter()
                    .map(|(k, a)| (k.clone(), self.expr(file, a)))
                    .collect(),
            );
        }
    }
}
