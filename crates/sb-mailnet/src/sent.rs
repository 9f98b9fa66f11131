//! The Sent folder: a copy of every mail the SMTP sender got a `250` for, kept in the shop's
//! own mailbox over IMAP, as a mail client keeps one.
//!
//! It serves two readers. People: the shared mailbox shows the replies that went out, next to
//! the mail that came in. The sender: an outbox entry that was claimed before (its sender
//! failed, crashed or lost its lease) may have reached the server already, so before sending
//! it again the sender asks the folder for its Message-ID, and a copy found there means the
//! mail went out — the entry is recorded as sent instead of being sent twice. The copy is
//! appended right after the `250` and before the outbox is updated, so only a crash in the
//! milliseconds between the two leaves no trace; that mail is sent again with the same
//! Message-ID, which receivers' mail programs collapse.

use crate::imap::{connect, create_folder, timed, ImapConfig};
use crate::{Error, Result};

/// A folder of an IMAP mailbox that keeps sent mail (`config.folder`, created when missing).
#[derive(Debug, Clone)]
pub struct SentFolder {
    config: ImapConfig,
}

impl SentFolder {
    /// The folder `config.folder` of the mailbox `config` logs in to.
    pub fn new(config: ImapConfig) -> SentFolder {
        SentFolder { config }
    }

    pub fn folder(&self) -> &str {
        &self.config.folder
    }

    /// Appends `raw` (the mail exactly as sent) to the folder, flagged `\Seen`.
    pub async fn append(&self, raw: &[u8]) -> Result<()> {
        let config = &self.config;
        let mut session = connect(config).await?;
        let mut appended = timed(config, session.append(&config.folder, Some("(\\Seen)"), None, raw)).await;
        if appended.is_err() {
            // The first copy into a new mailbox: create the folder and try once more.
            create_folder(&mut session, config, &config.folder).await;
            appended = timed(config, session.append(&config.folder, Some("(\\Seen)"), None, raw)).await;
        }
        let _ = timed(config, session.logout()).await;
        appended.map_err(|error| Error::Imap(format!("appending to `{}` failed ({error}); check the folder name and that the login may write to it", config.folder)))
    }

    /// Whether the folder holds a mail with this Message-ID (without the angle brackets). A
    /// folder that does not exist yet holds nothing.
    pub async fn holds(&self, message_id: &str) -> Result<bool> {
        if message_id.is_empty() || message_id.chars().any(|character| matches!(character, '"' | '\\' | '\r' | '\n')) {
            return Err(Error::Imap(format!("cannot search for the Message-ID {message_id:?}")));
        }
        let config = &self.config;
        let mut session = connect(config).await?;
        let found = match timed(config, session.examine(&config.folder)).await {
            Ok(_) => timed(config, session.uid_search(format!("HEADER Message-ID \"<{message_id}>\""))).await.map(|uids| !uids.is_empty()),
            Err(error) => {
                tracing::debug!(folder = %config.folder, error = %error, "sent folder cannot be opened: taken as empty");
                Ok(false)
            }
        };
        let _ = timed(config, session.logout()).await;
        found
    }
}
