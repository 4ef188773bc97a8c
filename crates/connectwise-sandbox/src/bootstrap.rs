//! What a new sandbox starts with: an Admin security role, a built-in admin API member and
//! its API key (written to `credentials.json`), and the callback signing key.

use serde_json::{Value, json};

use crate::auth::{self, NewKey};
use crate::entity::{Actor, prepare};
use crate::record::Val;
use crate::resources::{self as res, ALL_FUNCTIONS};
use crate::roles::{Grant, Levels, Preset};
use crate::store::{Store, Writer};

/// The built-in admin API member's Member ID.
pub const ADMIN_IDENTIFIER: &str = "SandboxAdmin";
const META: &str = "_meta";

fn system_actor() -> Actor {
    Actor {
        member_id: 0,
        identifier: "system".into(),
        name: "system".into(),
    }
}

/// Adds a role's settings: one per module function it has no setting for yet, levels from
/// `grants` (others None). A role saved by an older sandbox, with fewer functions, gains
/// the new ones this way, as a ConnectWise upgrade adds new functions to every role.
pub fn add_role_settings(w: &mut Writer<'_>, role_id: i64, grants: &[Grant], actor: &Actor) {
    let has: Vec<(String, String)> = w
        .data()
        .children(res::ROLE_SETTINGS, role_id)
        .map(|(_, s)| {
            let text = |k: &str| s.get(k).and_then(Val::as_str).unwrap_or("").to_owned();
            (text("moduleName"), text("moduleFunctionName"))
        })
        .collect();
    for (order, function) in ALL_FUNCTIONS.iter().enumerate() {
        if has
            .iter()
            .any(|(m, f)| m == function.module && f == function.function)
        {
            continue;
        }
        let levels = grants
            .iter()
            .find(|g| g.function == *function)
            .map(|g| g.levels)
            .unwrap_or(Levels::NONE);
        let id = w.next_id(res::ROLE_SETTINGS);
        let mut setting = crate::store::Entity::new();
        for (k, v) in [
            ("id", json!(id)),
            ("moduleName", json!(function.module)),
            ("moduleFunctionName", json!(function.function)),
            (
                "moduleIdentifier",
                json!(function.module.replace([' ', '&'], "")),
            ),
            (
                "moduleFunctionIdentifier",
                json!(function.function.replace(' ', "")),
            ),
            ("moduleDescription", json!(function.module)),
            ("moduleFunctionDescription", json!(function.function)),
            ("sortOrder", json!(order)),
            ("customFlag", json!(false)),
            ("myAllFlag", json!(true)),
            ("reportFlag", json!(false)),
            ("restrictFlag", json!(false)),
            ("addLevel", json!(levels.add.as_str())),
            ("editLevel", json!(levels.edit.as_str())),
            ("deleteLevel", json!(levels.delete.as_str())),
            ("inquireLevel", json!(levels.inquire.as_str())),
            (
                "_info",
                json!({"lastUpdated": crate::clock::now(), "updatedBy": actor.identifier}),
            ),
        ] {
            setting.insert(k.into(), v);
        }
        w.put(res::ROLE_SETTINGS, role_id, id, setting);
    }
}

/// Inserts a record through the same checks an API write gets; panics on invalid seed data
/// (a programming error in the seed, caught by the seed tests).
pub fn insert(w: &mut Writer<'_>, key: &str, parent: i64, body: Value) -> i64 {
    let resource = res::get(key);
    let mut e = prepare(
        w.data(),
        resource,
        parent,
        body.clone(),
        None,
        &system_actor(),
    )
    .unwrap_or_else(|err| panic!("invalid seed record for {key}: {body}: {err:?}"));
    let id = w.next_id(key);
    e.insert("id".into(), json!(id));
    w.put(key, parent, id, e);
    id
}

/// The state's admin member id, if the sandbox was initialised.
pub fn admin_member(store: &Store) -> Option<i64> {
    let data = store.read();
    data.children(res::MEMBERS, 0)
        .find(|(_, m)| m.get("identifier").and_then(Val::as_str) == Some(ADMIN_IDENTIFIER))
        .map(|(id, _)| id)
}

/// Gives every role a setting for each module function it lacks (a state saved by an older
/// sandbox): All for admin roles, None for the others.
pub fn ensure_role_settings(store: &Store) -> anyhow::Result<()> {
    let all = Preset::Admin.grants();
    let missing: Vec<(i64, bool)> = {
        let data = store.read();
        data.children(res::ROLES, 0)
            .filter(|(id, _)| data.children(res::ROLE_SETTINGS, *id).count() < ALL_FUNCTIONS.len())
            .map(|(id, r)| (id, r.get("adminFlag") == Some(&Val::Bool(true))))
            .collect()
    };
    if missing.is_empty() {
        return Ok(());
    }
    store.write(|w| {
        for (role, admin) in missing {
            let grants = if admin { all.as_slice() } else { &[] };
            add_role_settings(w, role, grants, &system_actor());
        }
    })
}

/// Makes the Admin role and the admin API member if they are missing; returns the member id.
pub fn ensure_admin(store: &Store) -> anyhow::Result<i64> {
    if let Some(id) = admin_member(store) {
        ensure_role_settings(store)?;
        return Ok(id);
    }
    store.write(|w| {
        let role = insert(
            w,
            res::ROLES,
            0,
            json!({"name": "Admin", "adminFlag": true}),
        );
        add_role_settings(w, role, &Preset::Admin.grants(), &system_actor());
        insert(
            w,
            res::MEMBERS,
            0,
            json!({
                "identifier": ADMIN_IDENTIFIER,
                "firstName": "Sandbox",
                "lastName": "Admin",
                "officeEmail": "admin@sandbox.invalid",
                "licenseClass": "A",
                "securityRole": {"id": role},
                "structureLevel": {"id": 1, "name": "Corporate"},
            }),
        )
    })
}

/// Makes a new API key for a member.
pub fn new_key(store: &Store, member_id: i64, description: &str) -> anyhow::Result<NewKey> {
    store.write(|w| auth::create_key(w, member_id, Some(description)))
}

/// The callback signing key, made on first use and kept in the state.
pub fn signing_key(store: &Store) -> anyhow::Result<Vec<u8>> {
    if let Some(k) = store
        .read()
        .get(META, 0, 1)
        .and_then(|m| m.get("callbackSigningKey"))
        .and_then(Val::as_str)
        .and_then(|h| hex::decode(h).ok())
    {
        return Ok(k);
    }
    let key: [u8; 32] = rand::random();
    store.write(|w| {
        let mut meta = crate::store::Entity::new();
        meta.insert("callbackSigningKey".into(), json!(hex::encode(key)));
        w.put(META, 0, 1, meta);
    })?;
    Ok(key.to_vec())
}
