//! `dmsform import ADDRESS TASK_ID`: record an existing service task in state under a
//! resource address of the configuration, without touching the task.

use super::common::RunArgs;
use crate::engine::Session;
use crate::plan::desired::desired;
use crate::plan::diff::state_attributes;
use crate::plan::planner::{known_from_state, read_task, resolve_instance};
use crate::providers::dms::resources::{computed_attrs, input_matches};
use crate::state::{ResourceState, Status};
use clap::Args;

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// The resource address in the configuration, e.g. dms_oci_driver_check.before["dms1"].
    pub address: String,
    /// The task's ARM id: /subscriptions/…/services/NAME/serviceTasks/TASK.
    pub id: String,
}

pub fn run(a: ImportArgs) -> i32 {
    let color = a.run.color();
    super::common::with_session("import", &a.run, color, async |s| import(s, &a).await)
}

async fn import(s: &mut Session, a: &ImportArgs) -> i32 {
    if s.state.resource(&a.address).is_some() {
        crate::errln!(
            "Error: Resource already managed by dmsform\n\ndmsform is already managing a remote object for {}. To import to this address you must first remove the existing object from the state (dmsform state rm).",
            a.address
        );
        return 1;
    }
    let inst = match resolve_instance(&s.ws.config, &known_from_state(&s.state), &a.address) {
        Ok(i) => i,
        Err(d) => {
            crate::err!("{}", s.render(&d));
            crate::errln!(
                "Error: Configuration for import target does not exist\n\nThe configuration has no resource instance {}. Add it before importing.",
                a.address
            );
            return 1;
        }
    };
    let d = desired(&inst, &s.ws.subscription, None);
    if let Some(id) = &d.id
        && !id.eq_ignore_ascii_case(&a.id)
    {
        crate::errln!(
            "Error: Task id does not match the configuration\n\n{} names the task {id}, not {}.",
            a.address,
            a.id
        );
        return 1;
    }
    let task = match read_task(&s.ws.client, &a.id).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            crate::errln!(
                "Error: Cannot import non-existent remote object\n\nThe task {} does not exist.",
                a.id
            );
            return 1;
        }
        Err(e) => {
            crate::errln!("Error: Cannot read the task\n\n{e}");
            return 1;
        }
    };
    if !input_matches(&d.kind, &d.args, &task) {
        crate::errln!(
            "Warning: The task's input differs from the configuration\n\nThe next plan replaces {} so that it runs with the configured input.\n",
            a.address
        );
    }
    let computed = computed_attrs(&task);
    let failed = crate::plan::diff::FAILED_STATES.contains(&task.state().as_str());
    s.state.upsert(ResourceState {
        address: a.address.clone(),
        kind: d.kind.clone(),
        id: task.id.clone().unwrap_or_else(|| a.id.clone()),
        status: if failed {
            Status::Tainted
        } else {
            Status::Ready
        },
        pending: None,
        attributes: state_attributes(&d, &computed),
        sensitive_digests: d
            .secrets
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), s.digester.digest(v.as_ref()?))))
            .collect(),
        dependencies: vec![],
    });
    if let Err(e) = s.ws.store.write(&mut s.state).await {
        crate::errln!("Error: Failed to persist state\n\n{e}");
        return 1;
    }
    crate::outln!(
        "{}: Import prepared!\n  Prepared {} for import\n{}: Refreshing state... [id={}]\n\nImport successful!\n\nThe resources that were imported are shown above. These resources are now in\nyour dmsform state and will henceforth be managed by dmsform.",
        a.address,
        d.kind,
        a.address,
        a.id
    );
    0
}
