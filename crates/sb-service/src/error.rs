//! The service's error type.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] sb_store::Error),
    #[error("triage failed: {0}")]
    Triage(#[from] sb_triage::Error),
    #[error("decision policy: {0}")]
    Policy(#[from] sb_policy::Error),
    #[error("the triage models are not loaded yet; the message is stored and will be triaged when they are")]
    ModelsNotLoaded,
    #[error("the knowledge base is not loaded (yet): search is unavailable; articles are still saved")]
    KnowledgeNotLoaded,
    #[error("cannot encode a record: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("not a mail: {0}")]
    NotMail(#[from] crate::email::NotMail),
    #[error(transparent)]
    Transfer(#[from] crate::transfer::TransferRefusal),
    /// An admin's policy change that sb-policy's validation refuses, with every problem.
    #[error("invalid policy change: {}", .problems.join("; "))]
    PolicyRejected { problems: Vec<String> },
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
