//! Secrets at rest: ConnectWise private keys sealed with ChaCha20-Poly1305 under a keyring
//! whose first key seals and whose every key opens, so keys can be rotated.
//!
//! A sealed value reads `v1.{key id}.{base64(nonce ‖ ciphertext)}`; the key id is the first
//! 8 hex digits of the key's SHA-256, and the tenant id is bound in as associated data, so a
//! sealed key copied to another tenant's row does not open.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Why a keyring could not be made or a value not opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// A configured key is not 32 bytes of base64.
    #[error(
        "secret key {index} is not 32 bytes of base64 (make one with `openssl rand -base64 32`)"
    )]
    BadKey {
        /// Which key of the list (1-based).
        index: usize,
    },
    /// No key was configured.
    #[error("no secret key is configured")]
    NoKey,
    /// The value was sealed under a key the keyring does not hold.
    #[error("sealed with key {0}, which is not configured (was a key removed from the keyring?)")]
    UnknownKey(String),
    /// The value is damaged, or belongs to another tenant.
    #[error("the sealed value does not open: damaged, or sealed for another record")]
    Corrupt,
}

struct RingKey {
    id: String,
    cipher: ChaCha20Poly1305,
}

/// The keys that seal and open secrets.
pub struct Keyring {
    keys: Vec<RingKey>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

impl Keyring {
    /// A keyring from base64 keys, newest first: the first seals, all open.
    pub fn from_base64<S: AsRef<str>>(keys: &[S]) -> Result<Keyring, SecretError> {
        if keys.is_empty() {
            return Err(SecretError::NoKey);
        }
        let keys = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let bytes = STANDARD
                    .decode(k.as_ref().trim())
                    .ok()
                    .filter(|b| b.len() == 32)
                    .ok_or(SecretError::BadKey { index: i + 1 })?;
                Ok(RingKey {
                    id: hex::encode(&Sha256::digest(&bytes)[..4]),
                    cipher: ChaCha20Poly1305::new(Key::from_slice(&bytes)),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Keyring { keys })
    }

    /// A new random key, as base64 (for a first start).
    pub fn generate_key() -> String {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        STANDARD.encode(key)
    }

    /// The id of the key that seals.
    pub fn current_key_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Seals `plain` for the record named by `context` (e.g. `tenant:7`).
    pub fn seal(&self, plain: &str, context: &str) -> String {
        let key = &self.keys[0];
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = key
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("ChaCha20-Poly1305 seals any input");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("v1.{}.{}", key.id, URL_SAFE_NO_PAD.encode(out))
    }

    /// Opens a value sealed for `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<String, SecretError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some("v1"), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(SecretError::Corrupt);
        };
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| SecretError::UnknownKey(id.to_owned()))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(data)
            .map_err(|_| SecretError::Corrupt)?;
        if bytes.len() < 12 {
            return Err(SecretError::Corrupt);
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let plain = key
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Corrupt)?;
        String::from_utf8(plain).map_err(|_| SecretError::Corrupt)
    }

    /// Whether a sealed value is under the current key already.
    pub fn is_current(&self, sealed: &str) -> bool {
        sealed
            .split('.')
            .nth(1)
            .is_some_and(|id| id == self.keys[0].id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_for_their_record() {
        let ring = Keyring::from_base64(&[Keyring::generate_key()]).unwrap();
        let sealed = ring.seal("private-key", "tenant:1");
        assert!(!sealed.contains("private-key"));
        assert_eq!(ring.open(&sealed, "tenant:1").unwrap(), "private-key");
        assert!(matches!(
            ring.open(&sealed, "tenant:2"),
            Err(SecretError::Corrupt)
        ));
        assert_ne!(
            ring.seal("private-key", "tenant:1"),
            sealed,
            "a fresh nonce each time"
        );
    }

    #[test]
    fn an_old_key_still_opens_after_rotation() {
        let old = Keyring::generate_key();
        let new = Keyring::generate_key();
        let sealed = Keyring::from_base64(&[&old]).unwrap().seal("k", "t");
        let rotated = Keyring::from_base64(&[&new, &old]).unwrap();
        assert_eq!(rotated.open(&sealed, "t").unwrap(), "k");
        assert!(!rotated.is_current(&sealed));
        assert!(rotated.is_current(&rotated.seal("k", "t")));
        let only_new = Keyring::from_base64(&[&new]).unwrap();
        assert!(matches!(
            only_new.open(&sealed, "t"),
            Err(SecretError::UnknownKey(_))
        ));
    }

    #[test]
    fn bad_keys_are_named() {
        assert!(matches!(
            Keyring::from_base64(&["c2hvcnQ="]),
            Err(SecretError::BadKey { index: 1 })
        ));
        assert!(matches!(
            Keyring::from_base64::<&str>(&[]),
            Err(SecretError::NoKey)
        ));
    }
}
