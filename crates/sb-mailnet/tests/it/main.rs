//! The SMTP sender against a real SMTP server: aiosmtpd on 127.0.0.1:2525 storing every mail it
//! accepts in the Maildir /tmp/switchboard-smtp/maildir, started by `scripts/services.sh`
//! (override with SWITCHBOARD_TEST_SMTP and SWITCHBOARD_TEST_SMTP_MAILDIR). A test fails,
//! saying how to start the server, when it does not answer.
//!
//! - `smtp`: a customer's mail in, an agent's reply out through the server with threading
//!   headers, the customer's answer to it back into the same ticket; retries on a server that
//!   does not answer; a reply that cannot be sent fails for good.

mod smtp;
