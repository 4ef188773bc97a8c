//! What the store keeps, as plain values.

/// A tenant's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(pub i64);

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// One of the vendor's MSP customers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Its unique name.
    pub name: String,
    /// When it was made (Unix ms).
    pub created_at: i64,
}

/// A tenant's ConnectWise connection as stored: the private key sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredConnection {
    /// The site, as the user wrote it.
    pub site: String,
    /// The company id.
    pub company_id: String,
    /// The API key's public half.
    pub public_key: String,
    /// The API key's private half, sealed (see the engine's `secret` module).
    pub private_key_sealed: String,
    /// The clientId.
    pub client_id: String,
    /// When it was saved (Unix ms).
    pub updated_at: i64,
}

/// The result of one connection check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRecord {
    /// When (Unix ms).
    pub checked_at: i64,
    /// Whether everything passed.
    pub ok: bool,
    /// The report, as JSON.
    pub report: String,
}
