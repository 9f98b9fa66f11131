//! Integration tests of sb-mail, one binary: the golden corpus (`golden`), hostile inputs with
//! time bounds (`hostile`), a seeded mutation loop over the corpus (`mutation`), and reading
//! mbox files and `.eml` folders (`mailbox`).

mod golden;
mod hostile;
mod mailbox;
mod mutation;
mod mutator;
mod support;
