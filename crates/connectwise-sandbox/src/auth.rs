//! Authentication exactly as ConnectWise does it: `Authorization: Basic
//! base64("{companyId}+{publicKey}:{privateKey}")` plus a `clientId` header.
//!
//! Private keys are stored only as salted SHA-256 hashes. A fast hash is the right tool here:
//! API keys are long random strings (no dictionary to guess from), and every request is
//! authenticated, so a deliberately slow password hash would cap the request rate.

use base64::Engine;
use http::HeaderMap;
use rand::Rng;
use rand::distributions::Alphanumeric;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::entity::{Actor, member_name};
use crate::error::CwError;
use crate::record::{Record, Val};
use crate::resources::{API_KEYS, MEMBERS};
use crate::roles::Permissions;
use crate::store::{Data, Entity, Writer};

/// An authenticated request's member and role.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Who is calling.
    pub actor: Actor,
    /// The security role's id.
    pub role_id: i64,
    /// The role's name, for 403 messages.
    pub role_name: String,
    /// Whether the role is an admin role.
    pub role_admin: bool,
    /// The role's levels.
    pub permissions: Permissions,
    /// The location the member's Level confines it to: set when its `structureLevel` is
    /// narrower than Corporate and it has a `securityLocation`; it then sees only the
    /// companies whose `territory` is that location, and those companies' records.
    pub territory: Option<i64>,
}

/// A freshly made API key pair; the private key exists only here.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// The public key.
    pub public_key: String,
    /// The private key, shown once.
    pub private_key: String,
}

fn random_key(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

fn hash(salt: &str, private_key: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(b":");
    h.update(private_key.as_bytes());
    hex::encode(h.finalize())
}

/// Makes an API key for a member, storing only the private key's hash.
pub fn create_key(w: &mut Writer<'_>, member_id: i64, description: Option<&str>) -> NewKey {
    let key = NewKey {
        public_key: random_key(16),
        private_key: random_key(16),
    };
    let salt = random_key(16);
    let id = w.next_id(API_KEYS);
    let mut record = Entity::new();
    record.insert("id".into(), json!(id));
    record.insert("publicKey".into(), json!(key.public_key));
    record.insert("salt".into(), json!(salt));
    record.insert(
        "privateKeyHash".into(),
        json!(hash(&salt, &key.private_key)),
    );
    record.insert("description".into(), json!(description));
    record.insert("dateCreated".into(), json!(crate::clock::now()));
    w.put(API_KEYS, member_id, id, record);
    key
}

/// Checks a request's credentials against the state.
pub fn authenticate(
    data: &Data,
    headers: &HeaderMap,
    company_id: &str,
) -> Result<Principal, CwError> {
    let denied = || CwError::unauthenticated("UserNotAuthenticated");
    let header = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(denied)?;
    let (scheme, encoded) = header.split_once(' ').ok_or_else(denied)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(denied());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(denied)?;
    let (user, private_key) = decoded.split_once(':').ok_or_else(denied)?;
    let (company, public_key) = user.split_once('+').ok_or_else(denied)?;
    if !company.eq_ignore_ascii_case(company_id) {
        return Err(denied());
    }
    let (member_id, key) = data
        .collection(API_KEYS)
        .into_iter()
        .flat_map(|c| c.iter())
        .find(|(_, k)| k.get("publicKey").and_then(Val::as_str) == Some(public_key))
        .map(|((member, _), k)| (*member, k))
        .ok_or_else(denied)?;
    let salt = key.get("salt").and_then(Val::as_str).unwrap_or("");
    let expected = key
        .get("privateKeyHash")
        .and_then(Val::as_str)
        .unwrap_or("");
    if hash(salt, private_key) != expected {
        return Err(denied());
    }
    let client_id = headers
        .get("clientid")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    if client_id.is_empty() {
        return Err(CwError::unauthenticated(
            "A clientId header is required. Register a client id in the ConnectWise developer portal and send it with every request.",
        ));
    }
    let member = data.get(MEMBERS, 0, member_id).ok_or_else(denied)?;
    if member.get("inactiveFlag") == Some(&Val::Bool(true)) {
        return Err(denied());
    }
    let role_id = member
        .get("securityRole")
        .and_then(|r| r.get("id"))
        .and_then(Val::as_i64)
        .unwrap_or(0);
    let role = data.get(crate::resources::ROLES, 0, role_id);
    Ok(Principal {
        actor: Actor {
            member_id,
            identifier: member
                .get("identifier")
                .and_then(Val::as_str)
                .unwrap_or("")
                .to_owned(),
            name: member_name(member),
        },
        role_id,
        role_name: role
            .and_then(|r| r.get("name"))
            .and_then(Val::as_str)
            .unwrap_or("")
            .to_owned(),
        role_admin: role.and_then(|r| r.get("adminFlag")) == Some(&Val::Bool(true)),
        permissions: Permissions::of_role(data, role_id),
        territory: member_territory(member),
    })
}

/// The `securityLocation` a member below Corporate level is confined to (structure level 1,
/// named "Corporate", sees every company; a member without a location is not confined).
fn member_territory(member: &Record) -> Option<i64> {
    let level = member.get("structureLevel")?;
    let corporate = level.get("id").and_then(Val::as_i64) == Some(1)
        || level
            .get("name")
            .and_then(Val::as_str)
            .is_some_and(|n| n.trim().to_ascii_lowercase().starts_with("corporate"));
    if corporate {
        return None;
    }
    member.get("securityLocation")?.get("id")?.as_i64()
}
