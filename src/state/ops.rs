//! Pure edits behind `dmsform state …`: which resources an address names, removing and
//! moving them, and whether a state may replace another (`state push`, `init
//! -migrate-state`). No I/O; the CLI loads, calls these, and writes.

use super::model::{ResourceState, State};
use crate::addr::ResourceAddr;

/// Whether `filter` names the instance at `address`: the same instance, or its whole
/// resource (`type.name` names every `type.name[…]`).
pub fn matches(filter: &ResourceAddr, address: &str) -> bool {
    let Ok(a) = address.parse::<ResourceAddr>() else {
        return filter.to_string() == address;
    };
    if filter.key.is_some() {
        a == *filter
    } else {
        a.resource() == *filter
    }
}

/// Parses command-line addresses, naming the first bad one.
pub fn parse_addrs(addrs: &[String]) -> Result<Vec<ResourceAddr>, String> {
    addrs
        .iter()
        .map(|a| a.parse::<ResourceAddr>().map_err(|e| e.to_string()))
        .collect()
}

/// The resources the filters name (all when there is none), in state order.
pub fn select<'a>(state: &'a State, filters: &[ResourceAddr]) -> Vec<&'a ResourceState> {
    state
        .resources
        .iter()
        .filter(|r| filters.is_empty() || filters.iter().any(|f| matches(f, &r.address)))
        .collect()
}

/// Removes every instance the addresses name and returns their addresses. Every address
/// must name something, or nothing is removed.
pub fn remove(state: &mut State, addrs: &[ResourceAddr]) -> Result<Vec<String>, String> {
    for a in addrs {
        if !state.resources.iter().any(|r| matches(a, &r.address)) {
            return Err(format!("No matching objects found for {a}."));
        }
    }
    let mut removed = Vec::new();
    state.resources.retain(|r| {
        let hit = addrs.iter().any(|a| matches(a, &r.address));
        if hit {
            removed.push(r.address.clone());
        }
        !hit
    });
    Ok(removed)
}

/// Moves the instance or resource `src` to `dst`, returning (from, to) pairs. A whole
/// resource moves with all its instances; the type must stay the same; nothing may be
/// at the destination already.
pub fn rename(
    state: &mut State,
    src: &ResourceAddr,
    dst: &ResourceAddr,
) -> Result<Vec<(String, String)>, String> {
    if src.resource_type != dst.resource_type {
        return Err(format!(
            "Cannot move {src} to {dst}: the source and destination must be of the same resource type."
        ));
    }
    if src.key.is_none() && dst.key.is_some() {
        return Err(format!(
            "Cannot move the whole resource {src} to the single instance {dst}."
        ));
    }
    let moves: Vec<(String, String)> = state
        .resources
        .iter()
        .filter(|r| matches(src, &r.address))
        .map(|r| {
            let to = match (&src.key, r.address.parse::<ResourceAddr>()) {
                (None, Ok(a)) => dst.instance(a.key).to_string(),
                _ => dst.to_string(),
            };
            (r.address.clone(), to)
        })
        .collect();
    if moves.is_empty() {
        return Err(format!("No matching objects found for {src}."));
    }
    for (_, to) in &moves {
        let taken = state.resources.iter().any(|r| {
            &r.address == to || (dst.key.is_none() && src.key.is_some() && matches(dst, &r.address))
        });
        if taken && !moves.iter().any(|(from, _)| from == to) {
            return Err(format!(
                "Cannot move {src} to {dst}: there is already a resource instance at {to}."
            ));
        }
    }
    let mut moved = Vec::new();
    for (from, to) in &moves {
        if let Some(mut r) = state.remove(from) {
            r.address = to.clone();
            moved.push(r);
        }
    }
    for r in moved {
        state.upsert(r);
    }
    let (old, new) = (src.resource().to_string(), dst.resource().to_string());
    if src.key.is_none() {
        for r in &mut state.resources {
            for d in &mut r.dependencies {
                if *d == old {
                    *d = new.clone();
                }
            }
        }
    }
    Ok(moves)
}

/// Whether `pushed` may replace `current` in `state push`: same lineage, and not older,
/// unless forced.
pub fn check_push(current: Option<&State>, pushed: &State, force: bool) -> Result<(), String> {
    let Some(cur) = current else { return Ok(()) };
    if force {
        return Ok(());
    }
    if cur.lineage != pushed.lineage {
        return Err(format!(
            "Failed to write state: cannot import a state with lineage {:?} over the state with lineage {:?}. Use -force to overwrite it anyway.",
            pushed.lineage, cur.lineage
        ));
    }
    if cur.serial > pushed.serial {
        return Err(format!(
            "Failed to write state: cannot overwrite the state (serial {}) with an older one (serial {}). Use -force to overwrite it anyway.",
            cur.serial, pushed.serial
        ));
    }
    Ok(())
}

/// Whether migrating `src` over `dest` loses nothing: there is no state there, an empty
/// one, or an older version of the same lineage.
pub fn safe_to_copy(dest: Option<&State>, src: &State) -> bool {
    match dest {
        None => true,
        Some(d) => {
            (d.resources.is_empty() && d.outputs.is_empty())
                || (d.lineage == src.lineage && d.serial <= src.serial)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Status;

    fn res(addr: &str, deps: &[&str]) -> ResourceState {
        ResourceState {
            address: addr.into(),
            kind: addr.split('.').next().unwrap().into(),
            id: format!("/x/{addr}"),
            status: Status::Ready,
            pending: None,
            attributes: serde_json::Value::Null,
            sensitive_digests: Default::default(),
            dependencies: deps.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn state() -> State {
        let mut s = State::new();
        for (a, d) in [
            ("dms_oci_driver_check.before[\"svc1\"]", vec![]),
            ("dms_oci_driver_check.before[\"svc2\"]", vec![]),
            (
                "dms_oci_driver_upload.driver",
                vec!["dms_oci_driver_check.before"],
            ),
        ] {
            s.upsert(res(a, &d));
        }
        s
    }

    fn addrs(a: &[&str]) -> Vec<ResourceAddr> {
        parse_addrs(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn select_and_remove_by_instance_or_resource() {
        let s = state();
        assert_eq!(select(&s, &[]).len(), 3);
        assert_eq!(
            select(&s, &addrs(&["dms_oci_driver_check.before"])).len(),
            2
        );
        assert_eq!(
            select(&s, &addrs(&["dms_oci_driver_check.before[\"svc2\"]"])).len(),
            1
        );
        let mut s2 = s.clone();
        let err = remove(
            &mut s2,
            &addrs(&["dms_oci_driver_check.before", "dms_oci_driver_check.nope"]),
        );
        assert!(err.unwrap_err().contains("dms_oci_driver_check.nope"));
        assert_eq!(s2, s, "nothing removed when one address names nothing");
        let removed = remove(&mut s2, &addrs(&["dms_oci_driver_check.before"])).unwrap();
        assert_eq!(removed.len(), 2);
        assert_eq!(s2.resources.len(), 1);
        assert!(parse_addrs(&["nodot".into()]).is_err());
    }

    #[test]
    fn rename_instances_and_resources() {
        let mut s = state();
        let moves = rename(
            &mut s,
            &"dms_oci_driver_check.before".parse().unwrap(),
            &"dms_oci_driver_check.first".parse().unwrap(),
        )
        .unwrap();
        assert_eq!(moves.len(), 2);
        assert!(s.resource("dms_oci_driver_check.first[\"svc1\"]").is_some());
        assert_eq!(
            s.resource("dms_oci_driver_upload.driver")
                .unwrap()
                .dependencies,
            ["dms_oci_driver_check.first"]
        );
        let err = rename(
            &mut s,
            &"dms_oci_driver_check.first[\"svc1\"]".parse().unwrap(),
            &"dms_oci_driver_check.first[\"svc2\"]".parse().unwrap(),
        )
        .unwrap_err();
        assert!(err.contains("already"), "{err}");
        let err = rename(
            &mut s,
            &"dms_oci_driver_upload.driver".parse().unwrap(),
            &"dms_oci_driver_check.driver".parse().unwrap(),
        )
        .unwrap_err();
        assert!(err.contains("same resource type"), "{err}");
        rename(
            &mut s,
            &"dms_oci_driver_check.first[\"svc1\"]".parse().unwrap(),
            &"dms_oci_driver_check.single".parse().unwrap(),
        )
        .unwrap();
        assert!(s.resource("dms_oci_driver_check.single").is_some());
    }

    #[test]
    fn push_and_migration_rules() {
        let a = State::new();
        let mut newer = a.clone();
        newer.serial = 5;
        newer.upsert(res("dms_oci_driver_check.x", &[]));
        assert!(check_push(None, &a, false).is_ok());
        assert!(
            check_push(Some(&newer), &a, false)
                .unwrap_err()
                .contains("older")
        );
        assert!(
            check_push(Some(&State::new()), &a, false)
                .unwrap_err()
                .contains("lineage")
        );
        assert!(check_push(Some(&newer), &a, true).is_ok());
        assert!(safe_to_copy(None, &a));
        assert!(safe_to_copy(Some(&State::new()), &a));
        let mut other = state();
        other.serial = 1;
        assert!(!safe_to_copy(Some(&other), &a));
        assert!(safe_to_copy(Some(&a), &newer));
        assert!(!safe_to_copy(Some(&newer), &a));
    }
}
