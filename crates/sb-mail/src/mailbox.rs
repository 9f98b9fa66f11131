//! Reading stored mail for import: an mbox file or a folder of `.eml` files, as a stream of
//! raw mails with their position (for progress bars and error messages).
//!
//! Streaming: an mbox is read line by line through a `BufRead`, holding one mail at a time, so
//! a 1 GB mbox costs the size of its largest mail (and no mail is held beyond `max_mail_bytes`:
//! a larger one is skipped and reported as [`Error::MailTooLarge`], and reading goes on).
//!
//! mail-parser has an mbox iterator, but it reports no positions and holds a mail of any size;
//! this one is a line loop with the same >From rules, so it is kept here.
//!
//! mbox rules: a mail starts at a line beginning `From ` at the start of the file or after a
//! blank line (the postmark; other `From ` lines are body text written by a careless writer).
//! The blank line before a postmark belongs to the format, not to the mail. In the mboxrd
//! variant every `>From `, `>>From `, ... line lost one `>` when written; in mboxo only `From `
//! was quoted, so `>From ` lines are ambiguous and are kept as they are.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::Error;

/// Where a mail came from in its file or folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailPosition {
    /// 0-based index of the mail in the mbox or folder.
    pub index: usize,
    /// Byte offset of the mail's first line (the postmark for mbox, 0 for `.eml`).
    pub byte_offset: u64,
    /// 1-based line number of that first line.
    pub line: u64,
    /// The file the mail was read from (the mbox itself, or the `.eml` file).
    pub path: Option<PathBuf>,
}

/// One mail's raw bytes, exactly as stored (minus mbox framing and quoting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMail {
    pub bytes: Vec<u8>,
    pub position: MailPosition,
}

/// How `>From ` lines were quoted when the mbox was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MboxVariant {
    /// Every `>*From ` line got one more `>`: remove one (what mutt, Thunderbird exports and
    /// most tools write today).
    #[default]
    Mboxrd,
    /// Only `From ` lines were quoted: `>From ` lines stay as they are.
    Mboxo,
}

/// Iterator over the mails of an mbox. Yields `Err` for an I/O error (then stops) or a mail
/// over the size limit (then goes on with the next mail).
pub struct MboxReader<R> {
    reader: R,
    variant: MboxVariant,
    max_mail_bytes: usize,
    path: Option<PathBuf>,
    line: Vec<u8>,
    /// Offset and line number of the next line to read.
    byte_offset: u64,
    line_number: u64,
    /// The postmark line read ahead that starts the next mail, with its position.
    pending_postmark: Option<(u64, u64)>,
    previous_line_blank: bool,
    n_mails: usize,
    finished: bool,
}

impl MboxReader<BufReader<fs::File>> {
    /// Opens the mbox at `path`.
    pub fn open(path: &Path, variant: MboxVariant, max_mail_bytes: usize) -> crate::Result<Self> {
        let file = fs::File::open(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        let mut reader = MboxReader::new(BufReader::with_capacity(1 << 16, file), variant, max_mail_bytes);
        reader.path = Some(path.to_path_buf());
        Ok(reader)
    }
}

impl<R: BufRead> MboxReader<R> {
    pub fn new(reader: R, variant: MboxVariant, max_mail_bytes: usize) -> MboxReader<R> {
        MboxReader {
            reader,
            variant,
            max_mail_bytes,
            path: None,
            line: Vec::with_capacity(256),
            byte_offset: 0,
            line_number: 1,
            pending_postmark: None,
            previous_line_blank: true,
            n_mails: 0,
            finished: false,
        }
    }

    /// Bytes read so far (for a progress bar against the file size).
    pub fn bytes_read(&self) -> u64 {
        self.byte_offset
    }

    /// Reads one line into `self.line`; `Ok(false)` at the end of input.
    fn read_line(&mut self) -> std::io::Result<bool> {
        self.line.clear();
        let n_bytes = self.reader.read_until(b'\n', &mut self.line)?;
        Ok(n_bytes > 0)
    }

    fn io_error(&self, source: std::io::Error) -> Error {
        Error::Io { path: self.path.clone().unwrap_or_default(), source }
    }
}

fn is_blank_line(line: &[u8]) -> bool {
    matches!(line, b"\n" | b"\r\n")
}

/// The line with one `>` removed if it is a quoted `From ` line of this variant.
fn unquote_from_line(line: &[u8], variant: MboxVariant) -> &[u8] {
    match variant {
        MboxVariant::Mboxrd => {
            let n_quotes = line.iter().take_while(|&&byte| byte == b'>').count();
            if n_quotes > 0 && line[n_quotes..].starts_with(b"From ") {
                &line[1..]
            } else {
                line
            }
        }
        MboxVariant::Mboxo => line,
    }
}

impl<R: BufRead> Iterator for MboxReader<R> {
    type Item = crate::Result<RawMail>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        // Find the postmark of the next mail (skipping anything before the first one).
        let (start_offset, start_line) = match self.pending_postmark.take() {
            Some(position) => position,
            None => loop {
                match self.read_line() {
                    Ok(true) => {}
                    Ok(false) => {
                        self.finished = true;
                        return None;
                    }
                    Err(source) => {
                        self.finished = true;
                        return Some(Err(self.io_error(source)));
                    }
                }
                let position = (self.byte_offset, self.line_number);
                let is_postmark = self.previous_line_blank && self.line.starts_with(b"From ");
                self.previous_line_blank = is_blank_line(&self.line);
                self.byte_offset += self.line.len() as u64;
                self.line_number += 1;
                if is_postmark {
                    break position;
                }
            },
        };
        let index = self.n_mails;
        self.n_mails += 1;

        let mut bytes: Vec<u8> = Vec::new();
        let mut is_too_large = false;
        // A blank line is held back until the next line shows whether it ends the mail.
        let mut held_blank_line: Option<Vec<u8>> = None;
        self.previous_line_blank = false;
        loop {
            match self.read_line() {
                Ok(true) => {}
                Ok(false) => {
                    self.finished = true;
                    break;
                }
                Err(source) => {
                    self.finished = true;
                    return Some(Err(self.io_error(source)));
                }
            }
            let line_offset = self.byte_offset;
            let line_number = self.line_number;
            self.byte_offset += self.line.len() as u64;
            self.line_number += 1;
            if self.previous_line_blank && self.line.starts_with(b"From ") {
                self.pending_postmark = Some((line_offset, line_number));
                self.previous_line_blank = false;
                break;
            }
            self.previous_line_blank = is_blank_line(&self.line);
            if is_too_large {
                continue;
            }
            if let Some(blank_line) = held_blank_line.take() {
                bytes.extend_from_slice(&blank_line);
            }
            if self.previous_line_blank {
                held_blank_line = Some(self.line.clone());
            } else {
                bytes.extend_from_slice(unquote_from_line(&self.line, self.variant));
            }
            if bytes.len() > self.max_mail_bytes {
                is_too_large = true;
                bytes = Vec::new();
            }
        }
        // At the end of the file the held blank line is the mail's own last line only if no
        // postmark follows; mbox writers add the separator blank line before every postmark
        // and usually at the end, so it is dropped in both cases.
        if is_too_large {
            return Some(Err(Error::MailTooLarge { index, byte_offset: start_offset, limit: self.max_mail_bytes }));
        }
        let position = MailPosition { index, byte_offset: start_offset, line: start_line, path: self.path.clone() };
        Some(Ok(RawMail { bytes, position }))
    }
}

/// The `.eml` files of a folder (not its subfolders), sorted by name, read one at a time.
pub struct EmlFolderReader {
    paths: std::vec::IntoIter<PathBuf>,
    max_mail_bytes: usize,
    n_mails: usize,
}

impl EmlFolderReader {
    /// Lists the `.eml` files (any case of the extension) of `folder`.
    pub fn open(folder: &Path, max_mail_bytes: usize) -> crate::Result<EmlFolderReader> {
        let io_error = |source| Error::Io { path: folder.to_path_buf(), source };
        let mut paths = Vec::new();
        for entry in fs::read_dir(folder).map_err(io_error)? {
            let path = entry.map_err(io_error)?.path();
            let is_eml = path.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("eml"));
            if is_eml && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        Ok(EmlFolderReader { paths: paths.into_iter(), max_mail_bytes, n_mails: 0 })
    }

    /// Number of files not yet read.
    pub fn remaining(&self) -> usize {
        self.paths.len()
    }
}

impl Iterator for EmlFolderReader {
    type Item = crate::Result<RawMail>;

    fn next(&mut self) -> Option<Self::Item> {
        let path = self.paths.next()?;
        let index = self.n_mails;
        self.n_mails += 1;
        let io_error = |source| Error::Io { path: path.clone(), source };
        let result = (|| {
            let file = fs::File::open(&path).map_err(io_error)?;
            // Read one byte past the limit to tell "exactly the limit" from "over it" without
            // trusting metadata (the file may grow while it is read).
            let mut bytes = Vec::new();
            file.take(self.max_mail_bytes as u64 + 1).read_to_end(&mut bytes).map_err(io_error)?;
            if bytes.len() > self.max_mail_bytes {
                return Err(Error::MailTooLarge { index, byte_offset: 0, limit: self.max_mail_bytes });
            }
            Ok(RawMail { bytes, position: MailPosition { index, byte_offset: 0, line: 1, path: Some(path.clone()) } })
        })();
        Some(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(mbox: &str, variant: MboxVariant, max_mail_bytes: usize) -> Vec<Result<(String, u64, u64), String>> {
        MboxReader::new(mbox.as_bytes(), variant, max_mail_bytes)
            .map(|item| match item {
                Ok(mail) => Ok((String::from_utf8(mail.bytes).unwrap(), mail.position.byte_offset, mail.position.line)),
                Err(error) => Err(error.to_string()),
            })
            .collect()
    }

    const MBOX: &str = "From a@example.com Mon Jan  6 10:00:00 2025\n\
Subject: one\n\
\n\
Hello\n\
>From the start\n\
>>From deeper\n\
From inside a paragraph\n\
\n\
From b@example.com Mon Jan  6 11:00:00 2025\n\
Subject: two\n\
\n\
Bye\n\
\n";

    #[test]
    fn mboxrd_splits_on_postmarks_and_unquotes_from_lines() {
        let mails = read_all(MBOX, MboxVariant::Mboxrd, 1 << 20);
        assert_eq!(
            mails,
            vec![
                Ok((
                    "Subject: one\n\nHello\nFrom the start\n>From deeper\nFrom inside a paragraph\n".to_string(),
                    0,
                    1
                )),
                Ok(("Subject: two\n\nBye\n".to_string(), 119, 9)),
            ]
        );
    }

    #[test]
    fn mboxo_keeps_quoted_lines() {
        let mails = read_all(MBOX, MboxVariant::Mboxo, 1 << 20);
        let (first, _, _) = mails[0].clone().unwrap();
        assert!(first.contains("\n>From the start\n>>From deeper\n"), "{first}");
    }

    #[test]
    fn oversize_mail_is_reported_and_reading_goes_on() {
        let mails = read_all(MBOX, MboxVariant::Mboxrd, 30);
        assert_eq!(mails.len(), 2);
        assert!(mails[0].as_ref().is_err_and(|error| error.contains("mail 0 at byte 0")), "{mails:?}");
        assert!(mails[1].is_ok());
    }

    #[test]
    fn crlf_mbox_and_garbage_before_the_first_postmark() {
        let mbox = "junk line\r\n\r\nFrom x Tue Jan  7 00:00:00 2025\r\nSubject: crlf\r\n\r\nBody\r\n\r\n";
        let mails = read_all(mbox, MboxVariant::Mboxrd, 1 << 20);
        assert_eq!(mails, vec![Ok(("Subject: crlf\r\n\r\nBody\r\n".to_string(), 13, 3))]);
    }

    #[test]
    fn empty_input_has_no_mails() {
        assert!(read_all("", MboxVariant::Mboxrd, 10).is_empty());
        assert!(read_all("no postmark at all\n", MboxVariant::Mboxrd, 10).is_empty());
    }
}
