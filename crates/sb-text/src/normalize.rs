//! Turns an inbound message into the text triage works on.
//!
//! Three steps, each public so it can be tested and reused on its own:
//! 1. [`html_to_text`]: HTML bodies become plain text (links keep their text, lists stay
//!    readable, quoted blocks keep a `> ` prefix so step 2 can recognise them);
//! 2. [`strip_email_history`]: for email, the quoted history, forwarded headers and signatures
//!    are removed so that triage sees what the customer wrote *now*, not the shop's last reply;
//! 3. [`normalize_text`]: Unicode NFC, invisible characters removed, whitespace tidied.
//!
//! Spans found later (entities, PII) are byte offsets into the output of [`normalize`], so that
//! output must be deterministic and must not change between releases without a re-triage.
//!
//! Everything here is total: any input, including empty, huge or malformed text, gives a
//! string back without panicking.

use std::borrow::Cow;
use std::sync::LazyLock;

use html2text::render::TextDecorator;
use regex::Regex;
use sb_domain::{Channel, InboundMessage};
use unicode_normalization::{IsNormalized, UnicodeNormalization};

/// The text triage works on: HTML rendered to text when `body_is_html`, quoted history and
/// signatures stripped for [`Channel::Email`], then [`normalize_text`].
///
/// The subject is deliberately *not* prepended: triage scores the subject separately, and
/// mixing it into the body would shift every span offset. It is only used to tell a forward
/// ("Fwd:", "WG:", "TR:", ...) from a reply when the mail client writes both the same way
/// (Outlook), because a forward's content is kept when the customer added little above it.
pub fn normalize(message: &InboundMessage) -> String {
    let body_text: Cow<'_, str> = if message.body_is_html {
        Cow::Owned(html_to_text_unnormalized(&message.body))
    } else {
        Cow::Borrowed(message.body.as_str())
    };
    match message.channel {
        Channel::Email => {
            // Normalise before stripping too: markers such as "escribió:" or "a écrit :" only
            // match once NFD input is composed and no-break spaces are plain spaces.
            let normalized_body = normalize_text(&body_text);
            let subject_is_forward = message.subject.as_deref().is_some_and(subject_marks_forward);
            let stripped_body = strip_history(&normalized_body, subject_is_forward, 0);
            normalize_text(&stripped_body)
        }
        Channel::Chat | Channel::Voice | Channel::Api | Channel::Sms => normalize_text(&body_text),
    }
}

/// Unicode NFC; control characters (except `\n`) and invisible format characters (zero-width
/// spaces, BOM, soft hyphens, bidi controls) removed; CRLF, CR and Unicode line separators
/// become `\n`; runs of spaces, tabs and other Unicode spaces collapse to one space; each line
/// is trimmed; runs of blank lines collapse to a single blank line; the whole text is trimmed.
///
/// Zero-width joiners (U+200C, U+200D) are kept between two non-ASCII characters, where they
/// carry meaning (emoji sequences, Indic and Persian scripts), and removed elsewhere, where
/// they are tracking marks or obfuscation inside Latin words.
pub fn normalize_text(text: &str) -> String {
    // Printable ASCII and newlines: nothing to clean or compose, only whitespace to tidy.
    if text.bytes().all(|byte| matches!(byte, b' '..=b'~' | b'\n')) {
        return tidy_whitespace(text.chars(), text.len());
    }
    // Composition is the costly part, and almost every message is already NFC. The quick check
    // runs on the cleaned characters, the very sequence `nfc()` would see (removing an
    // invisible character can bring a base and a combining mark together), and its `Yes` is
    // a proof that composing would change nothing; `Maybe` and `No` take the full path.
    if unicode_normalization::is_nfc_quick(CleanChars::new(text)) == IsNormalized::Yes {
        tidy_whitespace(CleanChars::new(text), text.len())
    } else {
        tidy_whitespace(CleanChars::new(text).nfc(), text.len())
    }
}

/// The whitespace rules of [`normalize_text`] over its cleaned, composed characters.
fn tidy_whitespace(characters: impl Iterator<Item = char>, capacity: usize) -> String {
    let mut normalized = String::with_capacity(capacity);
    let mut has_pending_space = false;
    let mut n_pending_newlines = 0usize;
    for character in characters {
        if character == '\n' {
            n_pending_newlines += 1;
            has_pending_space = false;
            continue;
        }
        if character.is_whitespace() {
            has_pending_space = true;
            continue;
        }
        if n_pending_newlines > 0 {
            // Leading newlines are dropped (the text is trimmed); two or more in a row mean a
            // paragraph break, kept as exactly one blank line.
            if !normalized.is_empty() {
                normalized.push_str(if n_pending_newlines == 1 { "\n" } else { "\n\n" });
            }
            n_pending_newlines = 0;
        } else if has_pending_space && !normalized.is_empty() {
            normalized.push(' ');
        }
        has_pending_space = false;
        normalized.push(character);
    }
    normalized
}

/// Renders an HTML body as plain text, then [`normalize_text`].
///
/// Links keep their text only (no footnotes: the URLs are noise for triage and PII for logs),
/// images are dropped (signature logos and tracking pixels), list items get `- ` or `1. `,
/// `<br>` and block elements become line breaks, `<script>`, `<style>` and `<head>` are
/// dropped, entities are decoded, and `<blockquote>` lines get a `> ` prefix so that
/// [`strip_email_history`] recognises quoted replies from Gmail and Apple Mail.
pub fn html_to_text(html: &str) -> String {
    normalize_text(&html_to_text_unnormalized(html))
}

/// Removes quoted history, forwarded-message headers and signatures from an email body.
///
/// Recognised history (in English, Spanish, French, German, Italian, Portuguese and Dutch):
/// reply attributions ("On ... wrote:", also wrapped over two or three lines as Gmail does),
/// lines starting with `>`, Outlook "-----Original Message-----" lines, Outlook header blocks
/// ("From: / Sent: / To: / Subject:"), `____` separators before such a block, and forward
/// markers ("---------- Forwarded message ---------", "Begin forwarded message:").
/// A reply written *below* the quote (bottom posting) is kept.
///
/// Recognised signatures: the `-- ` delimiter, "Sent from my iPhone" style lines and, at the
/// very end, a short block (at most six lines) that starts with a sign-off such as "Thanks,"
/// or "Mit freundlichen Grüßen" and contains no sentence-like line.
///
/// Never returns empty text for an input with content: when the customer wrote (almost)
/// nothing above a forward, the forwarded content is returned too, and when stripping would
/// leave nothing, the history itself is returned.
pub fn strip_email_history(text: &str) -> String {
    strip_history(text, false, 0)
}

// ---------------------------------------------------------------------------------------------
// normalize_text
// ---------------------------------------------------------------------------------------------

/// The first pass of [`normalize_text`], before NFC: line endings unified, tabs made spaces,
/// invisible characters dropped. It runs before composition so that a zero-width character
/// between a base letter and its combining accent does not keep them from composing.
struct CleanChars<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    previous_char: char,
}

impl<'a> CleanChars<'a> {
    fn new(text: &'a str) -> CleanChars<'a> {
        CleanChars { chars: text.chars().peekable(), previous_char: '\n' }
    }
}

impl Iterator for CleanChars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        loop {
            let character = self.chars.next()?;
            if character.is_ascii_graphic() || character == ' ' {
                self.previous_char = character;
                return Some(character);
            }
            let cleaned = match character {
                '\r' if self.chars.peek() == Some(&'\n') => continue,
                '\r' | '\n' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}' => '\n',
                '\t' => ' ',
                '\u{200C}' | '\u{200D}' => {
                    let next_char = self.chars.peek().copied();
                    if joiner_is_meaningful(self.previous_char, next_char) {
                        character
                    } else {
                        continue;
                    }
                }
                other if is_invisible_format_char(other) || other.is_control() => continue,
                other => other,
            };
            self.previous_char = cleaned;
            return Some(cleaned);
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, self.chars.size_hint().1)
    }
}

fn joiner_is_meaningful(previous_char: char, next_char: Option<char>) -> bool {
    // Joiners themselves do not count, so a run of joiners collapses the same way on every pass
    // (normalize_text must be idempotent).
    let is_script_char = |c: char| {
        !c.is_ascii() && !c.is_whitespace() && !is_invisible_format_char(c) && !matches!(c, '\u{200C}' | '\u{200D}')
    };
    is_script_char(previous_char) && next_char.is_some_and(is_script_char)
}

/// Format characters that render as nothing and only get in the way of matching: soft hyphen,
/// Arabic letter mark, Mongolian vowel separator, zero-width space, LRM/RLM, bidi embeddings
/// and isolates, word joiner and invisible operators, BOM, interlinear annotation marks.
fn is_invisible_format_char(character: char) -> bool {
    matches!(
        character,
        '\u{AD}'
            | '\u{61C}'
            | '\u{180E}'
            | '\u{200B}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

// ---------------------------------------------------------------------------------------------
// html_to_text
// ---------------------------------------------------------------------------------------------

/// Render width for html2text. Wide enough that no real paragraph is wrapped: a wrapped
/// attribution line ("On ... wrote:") would be harder to recognise, and wrapping adds nothing
/// for a reader that is not a terminal.
const HTML_RENDER_WIDTH: usize = 100_000;

/// html2text walks the DOM recursively; element nesting this deep only occurs in hostile or
/// broken input, which is rendered with the tag-stripping fallback instead so the stack is safe.
const MAX_HTML_NESTING: usize = 400;

fn html_to_text_unnormalized(html: &str) -> String {
    if html.trim().is_empty() {
        return String::new();
    }
    if approximate_max_nesting(html) > MAX_HTML_NESTING {
        return strip_tags_fallback(html);
    }
    let config = html2text::config::with_decorator(TriageDecorator)
        .raw_mode(true)
        .allow_width_overflow()
        .link_footnotes(false)
        .no_link_wrapping();
    match config.string_from_read(html.as_bytes(), HTML_RENDER_WIDTH) {
        Ok(text) => text,
        Err(_) => strip_tags_fallback(html),
    }
}

/// An upper bound on element nesting, counted on the raw markup without parsing: opening tags
/// increase it, closing tags decrease it. Void elements (`<br>`, `<img>`) also count as
/// opening, so this over-estimates, which only ever sends input to the fallback earlier.
fn approximate_max_nesting(html: &str) -> usize {
    let bytes = html.as_bytes();
    let mut depth = 0usize;
    let mut max_depth = 0usize;
    for (byte_idx, &byte) in bytes.iter().enumerate() {
        if byte != b'<' {
            continue;
        }
        match bytes.get(byte_idx + 1) {
            Some(b'/') => depth = depth.saturating_sub(1),
            Some(next) if next.is_ascii_alphabetic() => {
                let tag_name: Vec<u8> = bytes[byte_idx + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric())
                    .map(u8::to_ascii_lowercase)
                    .collect();
                if !is_void_element(&tag_name) {
                    depth += 1;
                    max_depth = max_depth.max(depth);
                }
            }
            _ => {}
        }
    }
    max_depth
}

fn is_void_element(tag_name: &[u8]) -> bool {
    matches!(
        tag_name,
        b"br" | b"img" | b"hr" | b"meta" | b"link" | b"input" | b"wbr" | b"col" | b"area" | b"base" | b"source"
    )
}

/// Used only when html2text refuses the input: drops script/style blocks and tags, turns
/// block-level tags into line breaks and decodes the handful of entities that matter.
fn strip_tags_fallback(html: &str) -> String {
    static SCRIPT_OR_STYLE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?is)<(script|style|head)\b.*?</(script|style|head)\s*>").expect("valid regex"));
    static BLOCK_TAG: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)<\s*(?:br|/p|/div|/li|/tr|/h[1-6]|/blockquote)\b[^>]*>").expect("valid regex")
    });
    static ANY_TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[^>]*>").expect("valid regex"));
    let without_scripts = SCRIPT_OR_STYLE.replace_all(html, " ");
    let with_breaks = BLOCK_TAG.replace_all(&without_scripts, "\n");
    let without_tags = ANY_TAG.replace_all(&with_breaks, " ");
    without_tags
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Plain text for triage: no link footnotes, no emphasis markers, no image placeholders,
/// `> ` for quotes (history stripping relies on it), `- ` and `1. ` for list items.
#[derive(Clone, Debug)]
struct TriageDecorator;

impl TextDecorator for TriageDecorator {
    type Annotation = ();

    fn decorate_link_start(&mut self, _url: &str) -> (String, Self::Annotation) {
        (String::new(), ())
    }

    fn decorate_link_end(&mut self) -> String {
        String::new()
    }

    fn decorate_em_start(&self) -> (String, Self::Annotation) {
        (String::new(), ())
    }

    fn decorate_em_end(&self) -> String {
        String::new()
    }

    fn decorate_strong_start(&self) -> (String, Self::Annotation) {
        (String::new(), ())
    }

    fn decorate_strong_end(&self) -> String {
        String::new()
    }

    fn decorate_strikeout_start(&self) -> (String, Self::Annotation) {
        (String::new(), ())
    }

    fn decorate_strikeout_end(&self) -> String {
        String::new()
    }

    fn decorate_code_start(&self) -> (String, Self::Annotation) {
        (String::new(), ())
    }

    fn decorate_code_end(&self) -> String {
        String::new()
    }

    fn decorate_preformat_first(&self) -> Self::Annotation {}

    fn decorate_preformat_cont(&self) -> Self::Annotation {}

    fn decorate_image(&mut self, _src: &str, _title: &str) -> (String, Self::Annotation) {
        (String::new(), ())
    }

    fn header_prefix(&self, _level: usize) -> String {
        String::new()
    }

    fn quote_prefix(&self) -> String {
        "> ".to_owned()
    }

    fn unordered_item_prefix(&self) -> String {
        "- ".to_owned()
    }

    fn ordered_item_prefix(&self, item_number: i64) -> String {
        format!("{item_number}. ")
    }

    fn make_subblock_decorator(&self) -> Self {
        TriageDecorator
    }

    fn decorate_superscript_start(&self) -> (String, Self::Annotation) {
        (String::new(), ())
    }

    fn decorate_superscript_end(&self) -> String {
        String::new()
    }
}

// ---------------------------------------------------------------------------------------------
// strip_email_history
// ---------------------------------------------------------------------------------------------

/// Forwarded mails nest forwards and replies; three levels cover real mail and bound the work
/// on hostile input.
const MAX_HISTORY_DEPTH: usize = 3;

/// A note above a forward with fewer words than this ("FYI", "see below, can you help?") does
/// not stand on its own, so the forwarded content is kept after it.
const FORWARD_NOTE_MAX_WORDS: usize = 25;

/// Attribution lines longer than this are prose, not a header, and are not matched at all.
const MAX_ATTRIBUTION_CHARS: usize = 400;

/// A trailing sign-off block has at most this many non-blank lines, sign-off line included.
const MAX_SIGN_OFF_BLOCK_LINES: usize = 6;

/// Lines after a sign-off longer than this, or with more words, are body text, not a
/// name/title/company/phone line, and keep the block from being stripped.
const MAX_SIGNATURE_LINE_CHARS: usize = 60;
const MAX_SIGNATURE_LINE_WORDS: usize = 7;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HistoryKind {
    /// History the customer replied to: dropped unless nothing else is left.
    Reply,
    /// Content the customer forwarded to us: kept when the note above it is short.
    Forward,
}

/// Where the history starts: `content_line_idx` is the first line of the earlier message
/// itself (after the attribution or marker line, at or before its header fields).
#[derive(Clone, Copy, Debug)]
struct HistoryStart {
    kind: HistoryKind,
    content_line_idx: usize,
}

/// The languages' words for "wrote" in attribution lines.
const WROTE_WORDS: &str = r"(?:wrote|escribió|a\s+écrit|schrieb|ha\s+scritto|escreveu|schreef|skrev|napisał)";

static REPLY_ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    // "On <date>, <name> <email> wrote:", "El ... escribió:", "Le ... a écrit :",
    // "Am ... schrieb <name>:", "Il giorno ... ha scritto:", "Em ... escreveu:", "Op ... schreef ...:"
    Regex::new(&format!(r"(?i)^(?:on|el|le|am|il|em|op|den|dnia)\s.*\b{WROTE_WORDS}\b.*:$")).expect("valid regex")
});

static EMAIL_ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    // "Shop Support <support@shop.example> wrote:" without a leading date phrase.
    Regex::new(&format!(r"(?i)\S@\S.*\b{WROTE_WORDS}\s*:$")).expect("valid regex")
});

static REPLY_ATTRIBUTION_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^(?:on|el|le|am|il|em|op|den|dnia)\s").expect("valid regex"));

static ORIGINAL_MESSAGE_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^-{2,}\s*(?:original message|ursprüngliche nachricht|originalnachricht|mensaje original|message d['’]origine|message original|messaggio originale|mensagem original|oorspronkelijk bericht|originalmeddelande|oprindelig meddelelse|opprinnelig melding)\s*-{2,}$",
    )
    .expect("valid regex")
});

static FORWARD_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:-{2,}\s*(?:forwarded message|mensaje reenviado|message transféré|message réexpédié|weitergeleitete nachricht|messaggio inoltrato|mensagem encaminhada|mensagem reencaminhada|doorgestuurd bericht|vidarebefordrat meddelande|videresendt meddelelse)\s*-{2,}|(?:begin forwarded message|inicio del mensaje reenviado|comienzo del mensaje reenviado|début du message réexpédié|début du message transféré|anfang der weitergeleiteten nachricht|inizio messaggio inoltrato|início da mensagem reencaminhada|início da mensagem encaminhada|begin doorgestuurd bericht)\s*:)$",
    )
    .expect("valid regex")
});

static FROM_HEADER_FIELD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\*?(?:from|de|von|da|van|från|fra|od)\*?\s*:\s*\S").expect("valid regex"));

static OTHER_HEADER_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\*?(?:sent|date|to|cc|bcc|subject|reply-to|enviado(?: el)?|fecha|para|asunto|envoyé(?: le)?|à|objet|gesendet|datum|an|betreff|inviato|data|a|oggetto|enviada|assunto|verzonden|aan|onderwerp|skickat|till|ämne|sendt|til|emne)\*?\s*:",
    )
    .expect("valid regex")
});

static INLINE_HEADER_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    // Fields of an Outlook header block flattened onto the "From:" line.
    Regex::new(r"(?i)\b(?:sent|date|to|subject|gesendet|an|betreff|enviado|para|asunto|envoyé|objet|inviato|oggetto|verzonden|aan|onderwerp)\s*:")
        .expect("valid regex")
});

static UNDERSCORE_SEPARATOR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^_{10,}$").expect("valid regex"));

static MOBILE_SIGNATURE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:sent from my \S.*|sent from (?:outlook|mail|yahoo|aol|gmail|samsung|proton)\b.*|sent (?:via|with) (?:the )?(?:\S+ )?(?:app|mail|mobile|proton\s*mail|iphone|android)\b.*|get outlook for \S.*|enviado desde mi \S.*|enviado desde (?:outlook|yahoo|correo)\b.*|obtener outlook para \S.*|envoyé de mon \S.*|envoyé depuis (?:mon|ma|outlook|yahoo)\b.*|obtenir outlook pour \S.*|von meinem \S.* gesendet\.?|gesendet von (?:meinem|outlook|mail|yahoo)\b.*|outlook für \S+ (?:herunterladen|beziehen)\.?|inviato da(?:l mio)? \S.*|scarica outlook per \S.*|enviado do meu \S.*|enviado (?:a partir|através) d[oa] \S.*|obter o outlook para \S.*|verzonden (?:vanaf|met|van) mijn \S.*|verstuurd (?:vanaf|met|van) mijn \S.*|outlook voor \S+ downloaden)$",
    )
    .expect("valid regex")
});

static SIGN_OFF: LazyLock<Regex> = LazyLock::new(|| {
    // A sign-off word alone on its line, optionally with a short name after a comma or dash
    // ("Thanks, Anna"). Sentences that merely start with one ("Thanks for nothing") do not
    // match: only a few fixed continuations ("in advance", "for your help") are allowed.
    let sign_off_words = [
        // English
        r"thanks?(?: you)?(?: (?:so|very) much| a lot| again| in advance| for (?:your|the) (?:help|time|support|assistance|reply|quick reply))?",
        r"many thanks",
        r"thx",
        r"tia",
        r"(?:best|kind|warm|warmest|kindest|many) regards",
        r"regards",
        r"best(?: wishes)?",
        r"all the best",
        r"cheers",
        r"(?:yours )?sincerely(?: yours)?",
        r"yours(?: truly| faithfully)?",
        r"cordially",
        r"respectfully",
        r"take care",
        // Spanish
        r"(?:un |muchos )?saludos?(?: cordiales)?",
        r"un (?:cordial|afectuoso) saludo",
        r"atentamente",
        r"cordialmente",
        r"(?:muchas )?gracias(?: de antemano| por (?:su|tu) ayuda)?",
        r"un abrazo",
        // French
        r"(?:bien )?cordialement",
        r"bien à (?:vous|toi)",
        r"(?:sincères |meilleures )?salutations",
        r"merci(?: beaucoup| d['’]avance| par avance)?",
        r"bonne (?:journée|soirée)",
        r"amicalement",
        // German
        r"mit (?:freundlichen grü(?:ß|ss)en|freundlichem gru(?:ß|ss)|besten grü(?:ß|ss)en)",
        r"(?:freundliche|viele|liebe|beste|herzliche|schöne|sonnige) grü(?:ß|ss)e",
        r"grü(?:ß|ss)e",
        r"gru(?:ß|ss)",
        r"mfg|lg|vg",
        r"(?:vielen |besten )?dank(?: im voraus)?",
        r"danke(?: schön| sehr| im voraus)?",
        // Italian
        r"(?:cordiali|distinti) saluti",
        r"saluti",
        r"un saluto",
        r"grazie(?: mille| in anticipo)?",
        r"buona giornata",
        // Portuguese
        r"(?:muito )?obrigad[oa](?: desde já)?",
        r"atenciosamente",
        r"(?:melhores )?cumprimentos",
        r"(?:um )?abraços?",
        // Dutch
        r"met vriendelijke groet(?:en)?",
        r"(?:vriendelijke|hartelijke) groet(?:en)?",
        r"groet(?:en|jes)?",
        r"(?:alvast )?bedankt",
        r"dank (?:je|u)(?: wel)?",
        r"mvg",
    ];
    let alternatives = sign_off_words.join("|");
    Regex::new(&format!(r"(?i)^(?:{alternatives})\s*(?:[,.!:;–—-]+\s*(?:\p{{Lu}}[\p{{L}}'’.-]*(?:\s+\p{{Lu}}[\p{{L}}'’.-]*){{0,2}})?)?\s*[.!]*$"))
        .expect("valid regex")
});

static FORWARD_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    // Fwd/Fw (en), WG (de), TR (fr), RV (es), ENC (pt), I (it, "Inoltro"), Doorst (nl),
    // VS (da, nb), VB (sv); any number of reply prefixes (Re, AW, SV, Antw) may come first.
    Regex::new(r"(?i)^\s*(?:(?:re|aw|sv|antw)\s*:\s*)*(?:fwd?|wg|tr|rv|enc|i|doorst|vs|vb)\s*:").expect("valid regex")
});

fn subject_marks_forward(subject: &str) -> bool {
    FORWARD_SUBJECT.is_match(subject)
}

/// "Sent from my iPhone" and its kin are short; the length check spares the regex every
/// line of a long body.
fn is_mobile_signature(trimmed_line: &str) -> bool {
    const MAX_MOBILE_SIGNATURE_BYTES: usize = 100;
    trimmed_line.len() <= MAX_MOBILE_SIGNATURE_BYTES && MOBILE_SIGNATURE.is_match(trimmed_line)
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

fn strip_history(text: &str, subject_is_forward: bool, depth: usize) -> String {
    if is_blank(text) {
        return String::new();
    }
    let lines: Vec<&str> = text.lines().collect();
    let outlook_kind = if subject_is_forward { HistoryKind::Forward } else { HistoryKind::Reply };

    let mut kept_lines: Vec<&str> = Vec::with_capacity(lines.len());
    let mut history_start: Option<HistoryStart> = None;
    let mut line_idx = 0;
    while line_idx < lines.len() {
        let line = lines[line_idx].trim();
        if let Some(n_attribution_lines) = reply_attribution_len(&lines, line_idx) {
            let after_attribution_idx = line_idx + n_attribution_lines;
            if let Some(after_quote_idx) = end_of_quote_with_reply_below(&lines, after_attribution_idx) {
                // Bottom posting: the customer answered below the quote; keep that answer.
                line_idx = after_quote_idx;
                continue;
            }
            history_start = Some(HistoryStart { kind: HistoryKind::Reply, content_line_idx: after_attribution_idx });
            break;
        }
        if is_quoted(line) {
            // Quoted lines without an attribution (or interleaved with answers) are dropped
            // one by one so inline answers between them survive.
            line_idx += 1;
            continue;
        }
        if FORWARD_MARKER.is_match(line) {
            history_start = Some(HistoryStart { kind: HistoryKind::Forward, content_line_idx: line_idx + 1 });
            break;
        }
        if ORIGINAL_MESSAGE_MARKER.is_match(line) {
            history_start = Some(HistoryStart { kind: outlook_kind, content_line_idx: line_idx + 1 });
            break;
        }
        if UNDERSCORE_SEPARATOR.is_match(line) && next_non_blank_is_header(&lines, line_idx + 1) {
            history_start = Some(HistoryStart { kind: outlook_kind, content_line_idx: line_idx + 1 });
            break;
        }
        if starts_header_block(&lines, line_idx) {
            history_start = Some(HistoryStart { kind: outlook_kind, content_line_idx: line_idx });
            break;
        }
        kept_lines.push(lines[line_idx]);
        line_idx += 1;
    }

    let n_note_lines = signature_start(&kept_lines);
    let note = join_trimmed(&kept_lines[..n_note_lines]);

    let history_content = match history_start {
        Some(start) => {
            let wants_history =
                note.is_empty() || (start.kind == HistoryKind::Forward && count_words(&note) < FORWARD_NOTE_MAX_WORDS);
            if wants_history {
                history_body(&lines[start.content_line_idx..], depth)
            } else {
                String::new()
            }
        }
        None => String::new(),
    };

    let stripped = match (note.is_empty(), history_content.is_empty()) {
        (false, false) => format!("{note}\n\n{history_content}"),
        (false, true) => note,
        (true, false) => history_content,
        (true, true) => String::new(),
    };
    if !stripped.is_empty() {
        return stripped;
    }
    // Stripping removed everything (a lone signature, a body that is all quote): the
    // customer's message is better represented by what is there than by nothing.
    let unquoted_lines: Vec<&str> = lines.iter().map(|line| unquote_once(line)).collect();
    let unquoted = join_trimmed(&unquoted_lines);
    if unquoted.is_empty() {
        text.trim().to_owned()
    } else {
        unquoted
    }
}

/// How many lines (1 to 3) the reply attribution starting at `line_idx` spans, if one does.
/// Gmail wraps long attributions, often right inside the `<address>`.
fn reply_attribution_len(lines: &[&str], line_idx: usize) -> Option<usize> {
    let first_line = lines[line_idx].trim();
    if first_line.is_empty() || first_line.len() > MAX_ATTRIBUTION_CHARS || is_quoted(first_line) {
        return None;
    }
    if is_reply_attribution(first_line) {
        return Some(1);
    }
    if !REPLY_ATTRIBUTION_START.is_match(first_line) || first_line.ends_with(':') {
        return None;
    }
    let mut joined = first_line.to_owned();
    for n_extra_lines in 1..=2 {
        let Some(next_line) = lines.get(line_idx + n_extra_lines).map(|line| line.trim()) else {
            break;
        };
        if next_line.is_empty() || is_quoted(next_line) {
            break;
        }
        joined.push(' ');
        joined.push_str(next_line);
        if joined.len() > MAX_ATTRIBUTION_CHARS {
            break;
        }
        if is_reply_attribution(&joined) {
            return Some(n_extra_lines + 1);
        }
    }
    None
}

fn is_reply_attribution(line: &str) -> bool {
    if line.len() > MAX_ATTRIBUTION_CHARS || !line.ends_with(':') {
        return false;
    }
    // A date or an address is what tells "On Mon, 3 Mar 2025, Shop <a@b> wrote:" from a
    // customer's "on Monday my husband wrote:".
    let has_date_or_address = line.bytes().any(|byte| byte.is_ascii_digit() || byte == b'@');
    has_date_or_address && (REPLY_ATTRIBUTION.is_match(line) || EMAIL_ATTRIBUTION.is_match(line))
}

/// When the attribution ending before `after_attribution_idx` is followed by a quoted block and
/// then by more unquoted text, returns the index of that text.
fn end_of_quote_with_reply_below(lines: &[&str], after_attribution_idx: usize) -> Option<usize> {
    let mut line_idx = after_attribution_idx;
    while line_idx < lines.len() && is_blank(lines[line_idx]) {
        line_idx += 1;
    }
    if line_idx >= lines.len() || !is_quoted(lines[line_idx]) {
        return None;
    }
    while line_idx < lines.len() && (is_quoted(lines[line_idx]) || is_blank(lines[line_idx])) {
        line_idx += 1;
    }
    let has_text_below = lines[line_idx..].iter().any(|line| {
        let trimmed = line.trim();
        !trimmed.is_empty() && !is_mobile_signature(trimmed) && trimmed != "--"
    });
    has_text_below.then_some(line_idx)
}

fn next_non_blank_is_header(lines: &[&str], from_idx: usize) -> bool {
    lines
        .iter()
        .skip(from_idx)
        .map(|line| line.trim())
        .filter(|line| !line.is_empty())
        .take(2)
        .any(|line| FROM_HEADER_FIELD.is_match(line))
}

/// True when `line_idx` starts an Outlook-style header block: a "From:" line followed by at
/// least two more header fields, or a "From:" line with the other fields flattened onto it.
fn starts_header_block(lines: &[&str], line_idx: usize) -> bool {
    let from_line = lines[line_idx].trim();
    if !FROM_HEADER_FIELD.is_match(from_line) {
        return false;
    }
    if INLINE_HEADER_FIELD.find_iter(from_line).count() >= 2 {
        return true;
    }
    let n_other_fields = lines
        .iter()
        .skip(line_idx + 1)
        .map(|line| line.trim())
        .filter(|line| !line.is_empty())
        .take(5)
        .take_while(|line| OTHER_HEADER_FIELD.is_match(line) || FROM_HEADER_FIELD.is_match(line))
        .count();
    n_other_fields >= 2
}

/// The earlier message's own text: one level of quoting removed, its header fields skipped,
/// and its own history and signature stripped in turn.
fn history_body(history_lines: &[&str], depth: usize) -> String {
    let unquoted_lines: Vec<&str> = history_lines.iter().map(|line| unquote_once(line)).collect();
    let body_start_idx = unquoted_lines
        .iter()
        .position(|line| {
            let trimmed = line.trim();
            !trimmed.is_empty() && !FROM_HEADER_FIELD.is_match(trimmed) && !OTHER_HEADER_FIELD.is_match(trimmed)
        })
        .unwrap_or(unquoted_lines.len());
    let body = join_trimmed(&unquoted_lines[body_start_idx..]);
    if depth + 1 >= MAX_HISTORY_DEPTH {
        return body;
    }
    strip_history(&body, false, depth + 1)
}

fn unquote_once(line: &str) -> &str {
    let trimmed = line.trim_start();
    match trimmed.strip_prefix('>') {
        Some(rest) => rest.strip_prefix(' ').unwrap_or(rest),
        None => line,
    }
}

/// How many of `kept_lines` come before the signature: the `-- ` delimiter, a "Sent from my
/// iPhone" line, or a short trailing block that opens with a sign-off.
fn signature_start(kept_lines: &[&str]) -> usize {
    let mut n_note_lines = kept_lines
        .iter()
        .position(|line| {
            let trimmed = line.trim();
            trimmed == "--" || is_mobile_signature(trimmed)
        })
        .unwrap_or(kept_lines.len());

    let mut n_non_blank_seen = 0;
    let mut sign_off_idx = None;
    for line_idx in (0..n_note_lines).rev() {
        let line = kept_lines[line_idx].trim();
        if line.is_empty() {
            continue;
        }
        n_non_blank_seen += 1;
        if n_non_blank_seen > MAX_SIGN_OFF_BLOCK_LINES {
            break;
        }
        // The sign-off nearest the end opens the block; looking further up could reach a
        // "Thanks!" in the body and cut the request between it and the signature.
        if SIGN_OFF.is_match(line) {
            sign_off_idx = Some(line_idx);
            break;
        }
        if !looks_like_signature_line(line) {
            break;
        }
    }
    if let Some(sign_off_idx) = sign_off_idx {
        // Keep the body: a sign-off on the first line is the whole message ("Thanks!").
        if kept_lines[..sign_off_idx].iter().any(|line| !is_blank(line)) {
            n_note_lines = sign_off_idx;
        }
    }
    n_note_lines
}

/// A name, title, company, phone or web line; not a sentence or a question.
fn looks_like_signature_line(line: &str) -> bool {
    line.chars().count() <= MAX_SIGNATURE_LINE_CHARS
        && line.split_whitespace().count() <= MAX_SIGNATURE_LINE_WORDS
        && !line.ends_with('?')
}

fn count_words(text: &str) -> usize {
    text.split_whitespace().filter(|word| word.chars().any(char::is_alphabetic)).count()
}

/// The lines joined with `\n`, without leading or trailing blank lines.
fn join_trimmed(lines: &[&str]) -> String {
    let Some(first_idx) = lines.iter().position(|line| !is_blank(line)) else {
        return String::new();
    };
    let last_idx = lines.iter().rposition(|line| !is_blank(line)).unwrap_or(first_idx);
    lines[first_idx..=last_idx].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_text_composes_nfd_and_drops_invisible_chars() {
        let decomposed = "cafe\u{301} re\u{200B}fund\u{FEFF}";
        assert_eq!(normalize_text(decomposed), "café refund");
    }

    #[test]
    fn the_quick_check_path_gives_what_full_composition_gives() {
        let cases = [
            "plain ascii order #A10493",
            "\n\n  line one  \n\n\n\nline two   with  spaces \n",
            "ascii with a del\u{7f} and a bell\u{7} and a tab\t",
            "café déjà vu, Grüße aus Köln, ¿dónde está?",
            "cafe\u{301} and e\u{200B}\u{301} and a\u{328}\u{200B}\u{301}",
            "\u{1100}\u{1161}\u{11A8} 한국어 text",
            "x\u{301}\u{200B}\u{328} reordered marks around a removed space",
            "\u{212B}ngstr\u{f6}m \u{2126} singletons",
            "emoji \u{1F468}\u{200D}\u{1F469} and \u{0915}\u{094D}\u{200D}\u{0937}",
            "  tabs\tand\r\nlines\u{2028}  ",
        ];
        for text in cases {
            let full = tidy_whitespace(CleanChars::new(text).nfc(), text.len());
            assert_eq!(normalize_text(text), full, "{text:?}");
        }
        // A long body that is already NFC takes the quick path and comes back tidied.
        let long = "Grüße, ".repeat(20_000);
        assert_eq!(normalize_text(&long), long.trim_end());
    }

    #[test]
    fn normalize_text_composes_across_a_removed_zero_width_char() {
        assert_eq!(normalize_text("e\u{200B}\u{301}"), "é");
    }

    #[test]
    fn normalize_text_keeps_zero_width_joiner_inside_emoji_sequence() {
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";
        assert_eq!(normalize_text(family), family);
        assert_eq!(normalize_text("re\u{200D}fund"), "refund");
    }

    #[test]
    fn normalize_text_is_idempotent_on_joiner_runs() {
        for text in ["é\u{200D}\u{200D}", "é\u{200D}\u{200D}😀", "\u{200D}😀", "😀\u{200D} x", "a\u{200C}\u{200C}b"]
        {
            let once = normalize_text(text);
            assert_eq!(normalize_text(&once), once, "{text:?}");
        }
        assert_eq!(normalize_text("é\u{200D}\u{200D}😀"), "é\u{200D}😀");
    }

    #[test]
    fn normalize_text_unifies_line_endings_and_whitespace() {
        let text = "  Hello\u{a0}\u{a0}there \r\n\r\n\r\n\r\nline\ttwo\rline three\u{2028}four  ";
        assert_eq!(normalize_text(text), "Hello there\n\nline two\nline three\nfour");
    }

    #[test]
    fn normalize_text_of_blank_and_control_only_input_is_empty() {
        assert_eq!(normalize_text(""), "");
        assert_eq!(normalize_text(" \n\t\r\n \u{0}\u{7}\u{200B} "), "");
    }

    #[test]
    fn normalize_text_keeps_single_newlines_and_one_blank_line() {
        assert_eq!(normalize_text("a\nb\n\nc\n\n\nd"), "a\nb\n\nc\n\nd");
    }

    #[test]
    fn html_to_text_keeps_link_text_and_drops_scripts() {
        let html = r#"<p>See <a href="https://shop.example/o/1">my order</a>.</p><script>alert(1)</script><style>p{color:red}</style>"#;
        assert_eq!(html_to_text(html), "See my order.");
    }

    #[test]
    fn html_to_text_renders_lists_and_breaks() {
        let html = "<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol>a<br>b&amp;c";
        assert_eq!(html_to_text(html), "- one\n- two\n1. first\na\nb&c");
    }

    #[test]
    fn html_to_text_survives_deep_nesting() {
        let html = format!("{}deep{}", "<div>".repeat(50_000), "</div>".repeat(50_000));
        assert_eq!(html_to_text(&html), "deep");
    }

    #[test]
    fn strip_removes_gmail_attribution_split_over_two_lines() {
        let text =
            "Where is it?\n\nOn Mon, Mar 3, 2025 at 10:15 AM Shop <\nhelp@shop.example> wrote:\n> Your order shipped.";
        assert_eq!(strip_email_history(text), "Where is it?");
    }

    #[test]
    fn strip_keeps_a_reply_written_below_the_quote() {
        let text =
            "On 3 Mar 2025, at 10:15, Shop <help@shop.example> wrote:\n> What is your order number?\n\nIt is 55123.";
        assert_eq!(strip_email_history(text), "It is 55123.");
    }

    #[test]
    fn strip_keeps_body_when_sign_off_is_not_alone() {
        let text = "Hi,\nthe parcel is late.\nThanks for nothing.\nAnna";
        assert_eq!(strip_email_history(text), text);
    }

    #[test]
    fn strip_never_returns_empty_for_quote_only_body() {
        assert_eq!(strip_email_history("> only a quote"), "only a quote");
        assert_eq!(strip_email_history("Sent from my iPhone"), "Sent from my iPhone");
        assert_eq!(strip_email_history(">"), ">");
        assert_eq!(strip_email_history("  \n "), "");
    }

    #[test]
    fn subject_forward_prefixes() {
        assert!(subject_marks_forward("Fwd: your parcel"));
        assert!(subject_marks_forward("WG: Bestellung"));
        assert!(subject_marks_forward("RE: FW: order"));
        assert!(!subject_marks_forward("Re: order"));
        assert!(!subject_marks_forward("Forward planning"));
    }

    #[test]
    fn functions_do_not_panic_on_odd_input() {
        let odd_inputs = [
            String::new(),
            "\u{0}".repeat(10),
            "\u{301}\u{301}\u{301}".to_owned(),
            "<".repeat(1000),
            ">".repeat(1000),
            "On\n".repeat(1000),
            "From: a\nTo: b\n".repeat(100),
            "\u{1F600}\u{200D}".repeat(100),
            "a\r".repeat(100),
            "<a href=\"x\"><<<>>></a><br/><br/><table><tr><td>x</td></tr>".to_owned(),
        ];
        for input in &odd_inputs {
            let _ = normalize_text(input);
            let _ = html_to_text(input);
            let _ = strip_email_history(input);
        }
    }

    #[test]
    fn huge_input_is_handled_in_linear_time() {
        let paragraph = "Hello, my order 12345 has not arrived yet and I am worried.\n";
        let huge = paragraph.repeat(20_000);
        let started = std::time::Instant::now();
        let normalized = normalize_text(&huge);
        let stripped = strip_email_history(&huge);
        assert!(normalized.len() > 1_000_000);
        assert!(stripped.len() > 1_000_000);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
}
