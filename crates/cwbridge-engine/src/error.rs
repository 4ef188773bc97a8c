//! The engine's errors: what a caller (the HTTP API, the CLI) turns into its answer.

use cwbridge_store::StoreError;

use crate::secret::SecretError;

/// Everything an engine call can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A field of the input is wrong; `message` says how to fix it.
    #[error("{field}: {message}")]
    Invalid {
        /// The field, as the API names it (e.g. `site`).
        field: String,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// The thing asked for does not exist (for this tenant).
    #[error("{0}")]
    NotFound(String),
    /// What was sent is not proven to come from who it says (a callback's signature).
    #[error("{0}")]
    Unauthorized(String),
    /// A unique name is taken.
    #[error("{0}")]
    Conflict(String),
    /// A secret could not be opened (the keyring changed, or the data is damaged).
    #[error("a stored secret cannot be opened: {0}")]
    Secret(#[from] SecretError),
    /// ConnectWise refused or failed, in a way the caller should see.
    #[error("ConnectWise: {0}")]
    ConnectWise(#[from] connectwise_client::Error),
    /// The database failed.
    #[error("storage: {0}")]
    Store(StoreError),
    /// A tenant is over one of its limits (its queue is full): try again later.
    #[error("{message}")]
    TooMany {
        /// What is full, and the limit.
        message: String,
        /// Seconds to wait before trying again.
        retry_after: u64,
    },
    /// A billing run of the tenant is going (on this or another instance); if its instance
    /// died, its lock lapses within `retry_after` seconds.
    #[error(
        "a billing run of this tenant is already going; if its instance stopped, its lock lapses within {retry_after} s"
    )]
    RunInProgress {
        /// Seconds until the lock of a run whose instance died lapses.
        retry_after: u64,
    },
    /// The database is too busy to answer now (a lock or a free connection was not had in
    /// time): nothing was stored; try again.
    #[error("cwbridge is busy; nothing was stored: try again shortly")]
    Unavailable,
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { what } => {
                EngineError::Conflict(format!("{what} already exists"))
            }
            e if e.is_busy() => EngineError::Unavailable,
            other => EngineError::Store(other),
        }
    }
}

impl EngineError {
    /// An [`EngineError::Invalid`] for a field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        EngineError::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The same error with its field named inside `parent` (`companyId` within
    /// `mappings[3]` is `mappings[3].companyId`); other errors as they are.
    pub fn within(self, parent: &str) -> Self {
        match self {
            EngineError::Invalid { field, message } => EngineError::Invalid {
                field: format!("{parent}.{field}"),
                message,
            },
            other => other,
        }
    }

    /// The same error naming `field` instead (a rule written for one field, applied to
    /// another); other errors as they are.
    pub fn at(self, field: &str) -> Self {
        match self {
            EngineError::Invalid { message, .. } => EngineError::invalid(field, message),
            other => other,
        }
    }
}

/// serde_json's message without the ` at line L column C` it ends with: the field named
/// says more.
pub fn without_position(message: &str) -> &str {
    message.rsplit_once(" at line ").map_or(message, |(m, _)| m)
}

/// The field a value that could not be read names: the path where reading failed
/// (`mappings[3].companyId`, as `serde_path_to_error` writes it), or for a missing field
/// that field inside it; `None` when the fault is the whole document's.
pub fn failed_field(path: &str, message: &str) -> Option<String> {
    let parent = if path == "." { "" } else { path };
    let missing = message
        .split_once("missing field `")
        .and_then(|(_, rest)| rest.split('`').next());
    match (missing, parent.is_empty()) {
        (Some(name), true) => Some(name.to_owned()),
        (Some(name), false) => Some(format!("{parent}.{name}")),
        (None, true) => None,
        (None, false) => Some(parent.to_owned()),
    }
}

/// A specialised `Result` for engine calls.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
