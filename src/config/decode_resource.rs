//! Decoding `resource` blocks against the schemas of [`super::schema`]: arguments,
//! `driver_share` (exactly one of its two forms), and the meta-arguments `count`,
//! `for_each`, `depends_on`, `lifecycle`, `timeouts` and `postcondition`.

use super::decode::{Decoder, header_range, is_name};
use super::model::{DriverShare, Lifecycle, Resource, Timeouts};
use super::schema::{META_ARGS, META_BLOCKS, RESOURCE_TYPES, ResourceKind};
use crate::addr::ResourceAddr;
use crate::diag::did_you_mean;
use hcl::edit::Span as _;
use hcl::edit::expr::{Expression, TraversalOperator};
use hcl::edit::structure::Block;
use std::collections::BTreeMap;

/// `type.name` written as a bare traversal (with at most an instance index after it).
pub(crate) fn static_resource_ref(e: &Expression) -> Option<ResourceAddr> {
    let Expression::Traversal(t) = e else {
        return None;
    };
    let Expression::Variable(root) = &t.expr else {
        return None;
    };
    let mut ops = t.operators.iter().map(|o| o.value());
    let Some(TraversalOperator::GetAttr(name)) = ops.next() else {
        return None;
    };
    if ops.any(|o| {
        !matches!(
            o,
            TraversalOperator::Index(_) | TraversalOperator::LegacyIndex(_)
        )
    }) {
        return None;
    }
    if matches!(
        root.as_str(),
        "var" | "local" | "each" | "count" | "self" | "path" | "data"
    ) {
        return None;
    }
    Some(ResourceAddr::new(root.as_str(), name.as_str()))
}

impl Decoder<'_> {
    pub(crate) fn resource(&mut self, file: &str, b: &Block) {
        if !self.labels_ok(file, b, &["type", "name"]) {
            return;
        }
        let ty = b.labels[0].as_str();
        let name = b.labels[1].as_str();
        let decl = self.decl(file, b);
        let Some(kind) = ResourceKind::from_type_name(ty) else {
            let hint = did_you_mean(ty, RESOURCE_TYPES);
            let at = b.labels.first().and_then(|l| match l {
                hcl::edit::structure::BlockLabel::String(s) => s.span(),
                hcl::edit::structure::BlockLabel::Ident(i) => i.span(),
            });
            self.err(
                "Invalid resource type",
                format!(
                    "The provider dms does not support resource type \"{ty}\". The supported types are {}.{hint}",
                    RESOURCE_TYPES.map(|t| format!("\"{t}\"")).join(", ")
                ),
                file,
                at,
            );
            return;
        };
        if !is_name(name) {
            return;
        }
        let addr = ResourceAddr::new(ty, name);
        if let Some(prev) = self.cfg.resources.get(&addr) {
            let at = self
                .cfg
                .decl_span(&prev.decl)
                .map_or_else(String::new, |s| s.short());
            self.err(
                &format!("Duplicate resource \"{ty}\" configuration"),
                format!("A {ty} resource named \"{name}\" was already declared at {at}. Resource names must be unique per type in each module."),
                file,
                Some(decl.range),
            );
            return;
        }
        let schema = kind.arguments();
        let mut attr_names: Vec<&str> = schema.iter().map(|a| a.name).collect();
        attr_names.extend(META_ARGS);
        let mut block_names: Vec<&str> = kind.nested_blocks().to_vec();
        block_names.extend(META_BLOCKS);
        let (attrs, blocks) = self.split(file, &b.body, &attr_names, &block_names);

        for a in &schema {
            if a.required && !attrs.contains_key(a.name) {
                self.missing(file, b, a.name);
            }
        }
        let args: BTreeMap<_, _> = attrs
            .iter()
            .filter(|(k, _)| schema.iter().any(|a| a.name == k.as_str()))
            .map(|(k, a)| (k.clone(), self.expr(file, a)))
            .collect();
        let count = attrs.get("count").map(|a| self.expr(file, a));
        let for_each = attrs.get("for_each").map(|a| self.expr(file, a));
        if let (Some(_), Some(fe)) = (&count, attrs.get("for_each")) {
            self.err(
                "Invalid combination of \"count\" and \"for_each\"",
                "The \"count\" and \"for_each\" meta-arguments are mutually-exclusive, only one should be used to be explicit about the number of resources to be created.",
                file,
                fe.key.span(),
            );
        }
        let depends_on = attrs
            .get("depends_on")
            .map(|a| self.depends_on(file, a))
            .unwrap_or_default();

        let mut lifecycle = Lifecycle::default();
        let mut timeouts = Timeouts::default();
        let mut postconditions = Vec::new();
        let mut shares = Vec::new();
        let mut seen_lifecycle = false;
        let mut seen_timeouts = false;
        for nb in blocks {
            match nb.ident.as_str() {
                "lifecycle" => {
                    if std::mem::replace(&mut seen_lifecycle, true) {
                        self.err(
                            "Duplicate lifecycle block",
                            "Only one lifecycle block is allowed in a resource.",
                            file,
                            nb.ident.span(),
                        );
                        continue;
                    }
                    lifecycle = self.lifecycle(
                        file,
                        nb,
                        &schema.iter().map(|a| a.name).collect::<Vec<_>>(),
                        &mut postconditions,
                    );
                }
                "timeouts" => {
                    if std::mem::replace(&mut seen_timeouts, true) {
                        self.err(
                            "Duplicate timeouts block",
                            "Only one timeouts block is allowed in a resource.",
                            file,
                            nb.ident.span(),
                        );
                        continue;
                    }
                    timeouts = self.timeouts(file, nb);
                }
                "postcondition" => postconditions.extend(self.condition(file, nb)),
                "driver_share" => shares.push(nb),
                _ => {}
            }
        }
        let driver_share = if kind == ResourceKind::DriverUpload {
            self.driver_share(file, b, &shares)
        } else {
            None
        };
        self.cfg.resources.insert(
            addr.clone(),
            Resource {
                addr,
                kind,
                decl,
                count,
                for_each,
                args,
                driver_share,
                depends_on,
                lifecycle,
                timeouts,
                postconditions,
            },
        );
    }

    fn lifecycle(
        &mut self,
        file: &str,
        b: &Block,
        args: &[&str],
        postconditions: &mut Vec<super::model::Condition>,
    ) -> Lifecycle {
        self.labels_ok(file, b, &[]);
        let (attrs, blocks) = self.split(
            file,
            &b.body,
            &["prevent_destroy", "ignore_changes", "replace_triggered_by"],
            &["postcondition"],
        );
        for pb in blocks {
            postconditions.extend(self.condition(file, pb));
        }
        let mut out = Lifecycle {
            prevent_destroy: attrs
                .get("prevent_destroy")
                .and_then(|a| self.const_bool(file, a))
                .unwrap_or(false),
            ..Lifecycle::default()
        };
        if let Some(a) = attrs.get("ignore_changes") {
            match &a.value {
                Expression::Variable(v) if v.as_str() == "all" => out.ignore_changes = args.iter().map(|s| s.to_string()).collect(),
                Expression::Array(items) => {
                    for item in items.iter() {
                        let name = match item {
                            Expression::Variable(v) => Some(v.as_str()),
                            Expression::String(s) => Some(s.as_str()),
                            _ => None,
                        };
                        match name {
                            Some(n) if args.contains(&n) || n == "driver_share" => out.ignore_changes.push(n.to_string()),
                            Some(n) => {
                                let hint = did_you_mean(n, args.iter().copied());
                                self.err(
                                    "Unsupported attribute",
                                    format!("This resource has no argument named \"{n}\" to ignore changes of.{hint}"),
                                    file,
                                    item.span(),
                                );
                            }
                            None => self.err(
                                "Invalid ignore_changes",
                                "Each element of ignore_changes must be the name of an argument of this resource.",
                                file,
                                item.span(),
                            ),
                        }
                    }
                }
                other => self.err(
                    "Invalid ignore_changes",
                    "The ignore_changes argument must be a list of argument names, or the keyword all.",
                    file,
                    other.span(),
                ),
            }
        }
        if let Some(a) = attrs.get("replace_triggered_by") {
            out.replace_triggered_by = self
                .depends_on(file, a)
                .into_iter()
                .map(|(addr, _)| addr)
                .collect();
        }
        out
    }

    fn timeouts(&mut self, file: &str, b: &Block) -> Timeouts {
        self.labels_ok(file, b, &[]);
        let (attrs, _) = self.split(file, &b.body, &["create", "delete"], &[]);
        Timeouts {
            create: attrs
                .get("create")
                .and_then(|a| self.const_duration(file, a)),
            delete: attrs
                .get("delete")
                .and_then(|a| self.const_duration(file, a)),
        }
    }

    fn driver_share(
        &mut self,
        file: &str,
        resource: &Block,
        shares: &[&Block],
    ) -> Option<DriverShare> {
        let Some(first) = shares.first() else {
            self.err(
                "Missing required block",
                "A driver_share block is required: give either the file-share form (path, user_name, password) or the blob form (sas_uri).",
                file,
                Some(header_range(resource)),
            );
            return None;
        };
        for extra in &shares[1..] {
            let at = self
                .span(file, Some(header_range(first)))
                .map_or_else(String::new, |s| s.short());
            self.err(
                "Too many driver_share blocks",
                format!("Only one driver_share block is allowed; another was defined at {at}."),
                file,
                extra.ident.span(),
            );
        }
        let b = *first;
        self.labels_ok(file, b, &[]);
        let (attrs, _) = self.split(
            file,
            &b.body,
            &["path", "user_name", "password", "sas_uri"],
            &[],
        );
        let decl = self.decl(file, b);
        let file_form: Vec<&str> = ["path", "user_name", "password"]
            .into_iter()
            .filter(|n| attrs.contains_key(*n))
            .collect();
        match (attrs.get("sas_uri"), file_form.is_empty()) {
            (Some(sas), false) => {
                self.err(
                    "Conflicting driver_share forms",
                    format!(
                        "A driver_share block takes either the file-share form (path, user_name, password) or the blob form (sas_uri), not both; this one also sets {}.",
                        file_form.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
                    ),
                    file,
                    sas.key.span(),
                );
                None
            }
            (Some(sas), true) => Some(DriverShare::Blob {
                decl,
                sas_uri: self.expr(file, sas),
            }),
            (None, true) => {
                self.err(
                    "Missing required argument",
                    "A driver_share block needs either \"path\" (with \"user_name\" and \"password\": a file share) or \"sas_uri\" (a blob container).",
                    file,
                    Some(header_range(b)),
                );
                None
            }
            (None, false) => {
                if !attrs.contains_key("path") {
                    self.missing(file, b, "path");
                    return None;
                }
                let args = attrs
                    .iter()
                    .map(|(k, a)| (k.clone(), self.expr(file, a)))
                    .collect();
                Some(DriverShare::File { decl, args })
            }
        }
    }
}
