//! Reading the corpus back through the mailbox readers: the `.eml` folder reader yields every
//! file with its path, and an mboxrd written from the corpus (with `From ` lines quoted the
//! way mbox writers do) reads back byte for byte.

use std::io::Cursor;

use sb_mail::mailbox::{EmlFolderReader, MboxReader, MboxVariant};

use crate::support::{corpus_dir, corpus_mails};

#[test]
fn eml_folder_yields_every_corpus_mail_in_name_order() {
    let mails = corpus_mails();
    let reader = EmlFolderReader::open(&corpus_dir(), 1 << 20).expect("open corpus folder");
    assert_eq!(reader.remaining(), mails.len());
    let read: Vec<_> = reader.map(|item| item.expect("read mail")).collect();
    assert_eq!(read.len(), mails.len());
    for (index, (raw_mail, (name, bytes))) in read.iter().zip(&mails).enumerate() {
        assert_eq!(raw_mail.position.index, index);
        assert!(raw_mail.position.path.as_ref().is_some_and(|path| path.ends_with(format!("{name}.eml"))));
        assert_eq!(&raw_mail.bytes, bytes, "{name}");
    }
}

#[test]
fn eml_folder_reports_files_over_the_limit_and_goes_on() {
    let results: Vec<_> = EmlFolderReader::open(&corpus_dir(), 2048).expect("open").collect();
    assert!(results.iter().any(Result::is_err), "some corpus mails are over 2 KiB");
    assert!(results.iter().any(Result::is_ok), "some are under");
}

/// Writes mails as an mboxrd: a postmark, every `>*From ` line quoted once more, a blank line.
fn write_mboxrd(mails: &[&[u8]]) -> Vec<u8> {
    let mut mbox = Vec::new();
    for mail in mails {
        mbox.extend_from_slice(b"From sender@mail.example Mon Jan 27 10:00:00 2025\n");
        for line in mail.split_inclusive(|&byte| byte == b'\n') {
            let n_quotes = line.iter().take_while(|&&byte| byte == b'>').count();
            if line[n_quotes..].starts_with(b"From ") {
                mbox.push(b'>');
            }
            mbox.extend_from_slice(line);
        }
        mbox.extend_from_slice(b"\n");
    }
    mbox
}

#[test]
fn mboxrd_of_the_corpus_reads_back_byte_for_byte() {
    let mails = corpus_mails();
    // mbox needs each mail to end with a line break (the writer's blank line follows it).
    let mut bodies: Vec<&[u8]> =
        mails.iter().map(|(_, bytes)| bytes.as_slice()).filter(|bytes| bytes.ends_with(b"\n")).collect();
    bodies.push(b"Subject: quoting\n\nFrom the start\n>From once\n>>From twice\n");
    let mbox = write_mboxrd(&bodies);
    let read: Vec<_> = MboxReader::new(Cursor::new(&mbox), MboxVariant::Mboxrd, 1 << 20)
        .map(|item| item.expect("read mail"))
        .collect();
    assert_eq!(read.len(), bodies.len());
    let mut expected_offset = 0u64;
    for (index, (raw_mail, body)) in read.iter().zip(&bodies).enumerate() {
        assert_eq!(raw_mail.bytes.as_slice(), *body, "mail {index}");
        assert_eq!(raw_mail.position.index, index);
        assert_eq!(raw_mail.position.byte_offset, expected_offset, "mail {index}");
        assert_eq!(&mbox[expected_offset as usize..expected_offset as usize + 5], b"From ");
        expected_offset = mbox[expected_offset as usize + 1..]
            .windows(6)
            .position(|window| window == b"\nFrom ")
            .map_or(mbox.len() as u64, |position| expected_offset + 1 + position as u64 + 1);
    }
}
