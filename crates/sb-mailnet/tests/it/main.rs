//! The email network edge against real servers started by `scripts/services.sh`: aiosmtpd on
//! 127.0.0.1:2525 storing every mail it accepts in the Maildir /tmp/switchboard-smtp/maildir
//! (override with SWITCHBOARD_TEST_SMTP and SWITCHBOARD_TEST_SMTP_MAILDIR), and Dovecot on
//! 127.0.0.1:3143 (plain) and 3993 (TLS). A test fails, saying how to start the server, when it
//! does not answer.
//!
//! - `smtp`: a customer's mail in, an agent's reply out through the server with threading
//!   headers, the customer's answer to it back into the same ticket; retries on a server that
//!   does not answer; a reply that cannot be sent fails for good; sent mail copied to a Sent
//!   folder, and a reply whose sender died after the server's `250` found there by its
//!   Message-ID instead of being sent twice (without a copy: sent again with the same id).
//! - `imap`: the IMAP reader: unseen mail stored once and flagged seen only after the store, a
//!   crash between the two repeats nothing, TLS verified against the server's certificate, IDLE.

mod imap;
mod smtp;
mod support;
