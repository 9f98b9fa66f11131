//! Dates, absolute and relative, in English, Spanish, French and German, resolved to calendar
//! dates against a reference day (`today`, passed in so that results are deterministic).
//!
//! Absolute forms: `2025-03-14`, `2025/03/14`, `14/03/2025`, `14.03.2025`, `03/14/25`,
//! `March 14`, `Mar. 14th, 2025`, `14 March 2025`, `3rd of May`, `14 de marzo de 2025`,
//! `1er mai`, `14. März 2025`.
//! - Numeric dates with both parts ≤ 12 are read day-first, except in regions that write the
//!   month first (the US and its territories), see [`NumericDateOrder`]; when one reading is
//!   impossible (`03/14/2025`) the other is used whatever the region. A dot separator is
//!   always day-first (`14.03.2025`) and needs a four-digit year, so version numbers such as
//!   `2.3.14` are not dates.
//! - A date without a year takes the year that puts it closest to `today`: on 2025-03-14,
//!   "December 20" is 2024-12-20 and "April 2" is 2025-04-02. Customers mostly mention recent
//!   orders and upcoming deliveries. Such dates are still `relative = false`: the text names
//!   the day, only the year is inferred.
//!
//! Relative forms (`relative = true`): today / yesterday / tomorrow and the day before or after
//! (`hoy`, `ayer`, `anteayer`, `mañana`, `aujourd'hui`, `hier`, `avant-hier`, `demain`,
//! `heute`, `gestern`, `vorgestern`, `morgen`, `übermorgen`, ...); `last Tuesday`,
//! `next Friday`, `el lunes pasado`, `vendredi prochain`, `letzten Dienstag`; `3 days ago`,
//! `two weeks ago`, `in 2 days`, `hace dos semanas`, `il y a 3 jours`, `vor einer Woche`.
//! - "last W" is the most recent W strictly before today and "next W" the first W strictly
//!   after today (on a Friday, "next Friday" is a week later).
//! - Words that are also common words elsewhere are checked: French `hier` is German for
//!   "here", so it counts only in a text that looks French; `mañana` after "la"/"esta"/"por
//!   la" means "morning"; German `morgen` counts only in lower case (`Morgen` is the noun) and
//!   not after "guten"/"heute"/"gestern"/"jeden".
//! - Vague periods ("last week", "recently") and bare weekdays ("on Tuesday") are not dates:
//!   they do not name one day.

use std::cell::OnceCell;
use std::sync::LazyLock;

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};
use regex::{Captures, Regex};
use sb_domain::Span;

use super::scan::{glued_after, glued_before, stands_alone};

/// Whether ambiguous numeric dates (`03/04/2025`) put the day or the month first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumericDateOrder {
    DayFirst,
    MonthFirst,
}

impl NumericDateOrder {
    /// The convention of a region (ISO 3166 alpha-2): month-first in the US and the
    /// territories that follow its conventions, day-first everywhere else.
    pub(crate) fn for_region(region: &str) -> NumericDateOrder {
        match region.trim().to_ascii_uppercase().as_str() {
            "US" | "PR" | "GU" | "VI" | "AS" | "MP" | "UM" => NumericDateOrder::MonthFirst,
            _ => NumericDateOrder::DayFirst,
        }
    }
}

/// A date found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FoundDate {
    pub(crate) span: Span,
    pub(crate) date: NaiveDate,
    pub(crate) relative: bool,
}

const MONTH_NAMES: &[(&str, u32)] = &[
    // English
    ("january", 1),
    ("jan", 1),
    ("february", 2),
    ("feb", 2),
    ("march", 3),
    ("mar", 3),
    ("april", 4),
    ("apr", 4),
    ("may", 5),
    ("june", 6),
    ("jun", 6),
    ("july", 7),
    ("jul", 7),
    ("august", 8),
    ("aug", 8),
    ("september", 9),
    ("sept", 9),
    ("sep", 9),
    ("october", 10),
    ("oct", 10),
    ("november", 11),
    ("nov", 11),
    ("december", 12),
    ("dec", 12),
    // Spanish
    ("enero", 1),
    ("febrero", 2),
    ("marzo", 3),
    ("abril", 4),
    ("mayo", 5),
    ("junio", 6),
    ("julio", 7),
    ("agosto", 8),
    ("septiembre", 9),
    ("setiembre", 9),
    ("octubre", 10),
    ("noviembre", 11),
    ("diciembre", 12),
    // French
    ("janvier", 1),
    ("janv", 1),
    ("février", 2),
    ("fevrier", 2),
    ("févr", 2),
    ("fevr", 2),
    ("mars", 3),
    ("avril", 4),
    ("avr", 4),
    ("mai", 5),
    ("juin", 6),
    ("juillet", 7),
    ("juil", 7),
    ("août", 8),
    ("aout", 8),
    ("septembre", 9),
    ("octobre", 10),
    ("novembre", 11),
    ("décembre", 12),
    ("decembre", 12),
    ("déc", 12),
    // German
    ("januar", 1),
    ("jänner", 1),
    ("februar", 2),
    ("märz", 3),
    ("maerz", 3),
    ("juni", 6),
    ("juli", 7),
    ("oktober", 10),
    ("okt", 10),
    ("dezember", 12),
    ("dez", 12),
];

/// The entries of [`MONTH_NAMES`] that are abbreviations and may be followed by a dot.
const MONTH_ABBREVIATIONS: &[&str] = &[
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sept", "sep", "oct", "nov", "dec", "janv",
    "févr", "fevr", "avr", "juil", "déc", "okt", "dez",
];

const WEEKDAY_NAMES: &[(&str, Weekday)] = &[
    // English
    ("monday", Weekday::Mon),
    ("mon", Weekday::Mon),
    ("tuesday", Weekday::Tue),
    ("tues", Weekday::Tue),
    ("tue", Weekday::Tue),
    ("wednesday", Weekday::Wed),
    ("wed", Weekday::Wed),
    ("thursday", Weekday::Thu),
    ("thurs", Weekday::Thu),
    ("thur", Weekday::Thu),
    ("thu", Weekday::Thu),
    ("friday", Weekday::Fri),
    ("fri", Weekday::Fri),
    ("saturday", Weekday::Sat),
    ("sat", Weekday::Sat),
    ("sunday", Weekday::Sun),
    ("sun", Weekday::Sun),
    // Spanish
    ("lunes", Weekday::Mon),
    ("martes", Weekday::Tue),
    ("miércoles", Weekday::Wed),
    ("miercoles", Weekday::Wed),
    ("jueves", Weekday::Thu),
    ("viernes", Weekday::Fri),
    ("sábado", Weekday::Sat),
    ("sabado", Weekday::Sat),
    ("domingo", Weekday::Sun),
    // French
    ("lundi", Weekday::Mon),
    ("mardi", Weekday::Tue),
    ("mercredi", Weekday::Wed),
    ("jeudi", Weekday::Thu),
    ("vendredi", Weekday::Fri),
    ("samedi", Weekday::Sat),
    ("dimanche", Weekday::Sun),
    // German
    ("montag", Weekday::Mon),
    ("dienstag", Weekday::Tue),
    ("mittwoch", Weekday::Wed),
    ("donnerstag", Weekday::Thu),
    ("freitag", Weekday::Fri),
    ("samstag", Weekday::Sat),
    ("sonnabend", Weekday::Sat),
    ("sonntag", Weekday::Sun),
];

/// Words that put a weekday in the past (`true`) or the future (`false`).
const WEEKDAY_DIRECTIONS: &[(&str, bool)] = &[
    ("last", true),
    ("past", true),
    ("this past", true),
    ("pasado", true),
    ("dernier", true),
    ("letzten", true),
    ("letzte", true),
    ("letzter", true),
    ("vergangenen", true),
    ("vergangene", true),
    ("next", false),
    ("coming", false),
    ("this coming", false),
    ("próximo", false),
    ("proximo", false),
    ("que viene", false),
    ("prochain", false),
    ("nächsten", false),
    ("nächste", false),
    ("naechsten", false),
    ("kommenden", false),
    ("kommende", false),
];

/// Single expressions and their offset in days from today.
const DAY_WORDS: &[(&str, i64)] = &[
    ("today", 0),
    ("tonight", 0),
    ("yesterday", -1),
    ("tomorrow", 1),
    ("the day before yesterday", -2),
    ("day before yesterday", -2),
    ("the day after tomorrow", 2),
    ("day after tomorrow", 2),
    ("hoy", 0),
    ("ayer", -1),
    ("anteayer", -2),
    ("antier", -2),
    ("antes de ayer", -2),
    ("mañana", 1),
    ("pasado mañana", 2),
    ("aujourd'hui", 0),
    ("aujourd’hui", 0),
    ("hier", -1),
    ("avant-hier", -2),
    ("avant hier", -2),
    ("demain", 1),
    ("après-demain", 2),
    ("apres-demain", 2),
    ("après demain", 2),
    ("heute", 0),
    ("gestern", -1),
    ("vorgestern", -2),
    ("morgen", 1),
    ("übermorgen", 2),
    ("uebermorgen", 2),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Day,
    Week,
    Month,
    Year,
}

const UNIT_NAMES: &[(&str, Unit)] = &[
    ("day", Unit::Day),
    ("days", Unit::Day),
    ("week", Unit::Week),
    ("weeks", Unit::Week),
    ("month", Unit::Month),
    ("months", Unit::Month),
    ("year", Unit::Year),
    ("years", Unit::Year),
    ("día", Unit::Day),
    ("días", Unit::Day),
    ("dia", Unit::Day),
    ("dias", Unit::Day),
    ("semana", Unit::Week),
    ("semanas", Unit::Week),
    ("mes", Unit::Month),
    ("meses", Unit::Month),
    ("año", Unit::Year),
    ("años", Unit::Year),
    ("jour", Unit::Day),
    ("jours", Unit::Day),
    ("semaine", Unit::Week),
    ("semaines", Unit::Week),
    ("mois", Unit::Month),
    ("an", Unit::Year),
    ("ans", Unit::Year),
    ("année", Unit::Year),
    ("années", Unit::Year),
    ("tag", Unit::Day),
    ("tage", Unit::Day),
    ("tagen", Unit::Day),
    ("woche", Unit::Week),
    ("wochen", Unit::Week),
    ("monat", Unit::Month),
    ("monate", Unit::Month),
    ("monaten", Unit::Month),
    ("jahr", Unit::Year),
    ("jahre", Unit::Year),
    ("jahren", Unit::Year),
];

const NUMBER_WORDS: &[(&str, u32)] = &[
    ("a", 1),
    ("an", 1),
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("fifteen", 15),
    ("a couple of", 2),
    ("a couple", 2),
    ("un", 1),
    ("una", 1),
    ("uno", 1),
    ("dos", 2),
    ("tres", 3),
    ("cuatro", 4),
    ("cinco", 5),
    ("seis", 6),
    ("siete", 7),
    ("ocho", 8),
    ("nueve", 9),
    ("diez", 10),
    ("doce", 12),
    ("quince", 15),
    ("une", 1),
    ("deux", 2),
    ("trois", 3),
    ("quatre", 4),
    ("cinq", 5),
    ("sept", 7),
    ("huit", 8),
    ("neuf", 9),
    ("dix", 10),
    ("onze", 11),
    ("douze", 12),
    ("quinze", 15),
    ("ein", 1),
    ("eine", 1),
    ("einem", 1),
    ("einer", 1),
    ("einen", 1),
    ("zwei", 2),
    ("drei", 3),
    ("vier", 4),
    ("fünf", 5),
    ("fuenf", 5),
    ("sechs", 6),
    ("sieben", 7),
    ("acht", 8),
    ("neun", 9),
    ("zehn", 10),
    ("elf", 11),
    ("zwölf", 12),
    ("zwoelf", 12),
    ("fünfzehn", 15),
];

/// Function words that only French uses among the four languages; one of them is enough to
/// read `hier` as "yesterday".
static FRENCH_HINT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?-u:\b)(?:je|j['’]ai|le|les|mon|ma|mes|est|une|pas|colis|commande|reçu|recu|bonjour|merci|avec|pour|ai)(?-u:\b)",
    )
    .expect("french hint pattern is valid")
});

/// An alternation of `words`, longest first (so a longer word wins at the same position),
/// with spaces matching any run of spaces or tabs.
fn alternation<'a>(words: impl Iterator<Item = &'a str>) -> String {
    let mut unique: Vec<&str> = words.collect();
    unique.sort_by(|left, right| right.len().cmp(&left.len()).then(left.cmp(right)));
    unique.dedup();
    unique
        .iter()
        .map(|word| regex::escape(word).replace(' ', r"[ \t]+"))
        .collect::<Vec<_>>()
        .join("|")
}

fn lookup<T: Copy>(table: &[(&str, T)], written: &str) -> Option<T> {
    let key = written
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let key = key.trim_end_matches('.');
    table
        .iter()
        .find(|(name, _)| *name == key)
        .map(|&(_, value)| value)
}

/// ASCII word boundaries, `(?-u:\b)`, are used throughout: a Unicode `\b` stops the regex
/// crate's DFA at the first non-ASCII character and falls back to an engine forty times
/// slower, and every message in French, Spanish or German has one. Where the difference
/// matters (a match glued to "é" or "ß"), [`stands_alone`] checks the match edges in code.
struct DatePatterns {
    iso: Regex,
    numeric: Regex,
    month_first: Regex,
    day_first: Regex,
    day_words: Regex,
    direction_weekday: Regex,
    weekday_direction: Regex,
    amount_ago: Regex,
    past_prefix_amount: Regex,
    future_prefix_amount: Regex,
}

static PATTERNS: LazyLock<DatePatterns> = LazyLock::new(|| {
    let months = alternation(MONTH_NAMES.iter().map(|(name, _)| *name));
    let weekdays = alternation(WEEKDAY_NAMES.iter().map(|(name, _)| *name));
    let day_words = alternation(DAY_WORDS.iter().map(|(name, _)| *name));
    let past_directions = alternation(
        WEEKDAY_DIRECTIONS
            .iter()
            .filter(|(_, past)| *past)
            .map(|(name, _)| *name),
    );
    let future_directions = alternation(
        WEEKDAY_DIRECTIONS
            .iter()
            .filter(|(_, past)| !*past)
            .map(|(name, _)| *name),
    );
    let units = alternation(UNIT_NAMES.iter().map(|(name, _)| *name));
    let numbers = format!(
        "[0-9]{{1,3}}|{}",
        alternation(NUMBER_WORDS.iter().map(|(name, _)| *name))
    );
    let compile = |pattern: String| Regex::new(&pattern).expect("date pattern is valid");
    DatePatterns {
        iso: compile(
            r"(?-u:\b)([0-9]{4})([-/.])([0-9]{1,2})([-/.])([0-9]{1,2})(?-u:\b)".to_owned(),
        ),
        numeric: compile(
            r"(?-u:\b)([0-9]{1,2})([/.\-])([0-9]{1,2})([/.\-])([0-9]{4}|[0-9]{2})(?-u:\b)"
                .to_owned(),
        ),
        month_first: compile(format!(
            r"(?i)(?-u:\b)(?P<month>{months})(?-u:\b)\.?[ \t]+(?P<day>[0-9]{{1,2}})(?:st|nd|rd|th)?(?-u:\b)(?:,?[ \t]+(?P<year>[0-9]{{4}})(?-u:\b))?"
        )),
        day_first: compile(format!(
            r"(?i)(?-u:\b)(?P<day>[0-9]{{1,2}})(?:st|nd|rd|th|er|re|e|º|°|ª|\.)?[ \t]+(?:of[ \t]+|de[ \t]+)?(?P<month>{months})(?-u:\b)\.?(?:,?[ \t]+(?:de[ \t]+|del[ \t]+)?(?P<year>[0-9]{{4}})(?-u:\b))?"
        )),
        // No leading boundary in the pattern: "übermorgen" starts with a non-ASCII letter, which
        // an ASCII `\b` does not see as a word start. The boundary is checked in code.
        day_words: compile(format!(r"(?i)(?:{day_words})(?-u:\b)")),
        direction_weekday: compile(format!(
            r"(?i)(?-u:\b)(?P<direction>{past_directions}|{future_directions})[ \t]+(?P<weekday>{weekdays})(?-u:\b)"
        )),
        weekday_direction: compile(format!(
            r"(?i)(?-u:\b)(?P<weekday>{weekdays})[ \t]+(?P<direction>pasado|que[ \t]+viene|dernier|prochain)(?-u:\b)"
        )),
        amount_ago: compile(format!(
            r"(?i)(?-u:\b)(?P<number>{numbers})[ \t]+(?P<unit>{units})[ \t]+ago(?-u:\b)"
        )),
        past_prefix_amount: compile(format!(
            r"(?i)(?-u:\b)(?:hace|il[ \t]+y[ \t]+a|vor)[ \t]+(?P<number>{numbers})[ \t]+(?P<unit>{units})(?-u:\b)"
        )),
        future_prefix_amount: compile(format!(
            r"(?i)(?-u:\b)(?:in|dans|en|dentro[ \t]+de)[ \t]+(?P<number>{numbers})[ \t]+(?P<unit>{units})(?-u:\b)"
        )),
    }
});

/// Finds dates in `text`. Candidates may overlap each other (the extractor keeps the longest).
pub(crate) fn find_dates(text: &str, today: NaiveDate, order: NumericDateOrder) -> Vec<FoundDate> {
    let patterns = &*PATTERNS;
    let mut found = Vec::new();
    let has_digits = text.bytes().any(|byte| byte.is_ascii_digit());
    if has_digits {
        find_iso(text, patterns, &mut found);
        find_numeric(text, order, patterns, &mut found);
        find_month_names(text, today, patterns, &mut found);
    }
    find_day_words(text, today, patterns, &mut found);
    find_relative_weekdays(text, today, patterns, &mut found);
    find_relative_amounts(text, today, patterns, &mut found);
    found
}

fn span_of(captures: &Captures<'_>) -> Option<Span> {
    captures
        .get(0)
        .map(|whole| Span::new(whole.start(), whole.end()))
}

fn number_in(captures: &Captures<'_>, group: usize) -> Option<u32> {
    captures.get(group)?.as_str().parse().ok()
}

fn plausible_year(year: i32) -> bool {
    (1900..=2100).contains(&year)
}

fn find_iso(text: &str, patterns: &DatePatterns, found: &mut Vec<FoundDate>) {
    for captures in patterns.iso.captures_iter(text) {
        let Some(span) = span_of(&captures) else {
            continue;
        };
        let same_separator =
            captures.get(2).map(|m| m.as_str()) == captures.get(4).map(|m| m.as_str());
        if !same_separator
            || glued_before(text, span.start, &['-', '/', '.'])
            || glued_after(text, span.end)
        {
            continue;
        }
        let (Some(year), Some(month), Some(day)) = (
            number_in(&captures, 1),
            number_in(&captures, 3),
            number_in(&captures, 5),
        ) else {
            continue;
        };
        let Ok(year) = i32::try_from(year) else {
            continue;
        };
        if !plausible_year(year) {
            continue;
        }
        if let Some(date) = NaiveDate::from_ymd_opt(year, month, day) {
            found.push(FoundDate {
                span,
                date,
                relative: false,
            });
        }
    }
}

fn find_numeric(
    text: &str,
    order: NumericDateOrder,
    patterns: &DatePatterns,
    found: &mut Vec<FoundDate>,
) {
    for captures in patterns.numeric.captures_iter(text) {
        let Some(span) = span_of(&captures) else {
            continue;
        };
        let (Some(separator), Some(second_separator)) = (captures.get(2), captures.get(4)) else {
            continue;
        };
        if separator.as_str() != second_separator.as_str()
            || glued_before(text, span.start, &['-', '/', '.', '+', '#'])
            || glued_after(text, span.end)
        {
            continue;
        }
        let (Some(first), Some(second), Some(year_match)) = (
            number_in(&captures, 1),
            number_in(&captures, 3),
            captures.get(5),
        ) else {
            continue;
        };
        let dot_separated = separator.as_str() == ".";
        let short_year = year_match.as_str().len() == 2;
        // Version numbers ("2.3.14") use dots and short last parts: dots need a full year.
        if dot_separated && short_year {
            continue;
        }
        let Ok(year_number) = year_match.as_str().parse::<i32>() else {
            continue;
        };
        let year = if short_year {
            2000 + year_number
        } else {
            year_number
        };
        if !plausible_year(year) {
            continue;
        }
        let day_first = NaiveDate::from_ymd_opt(year, second, first);
        let month_first = NaiveDate::from_ymd_opt(year, first, second);
        let date = match (order, dot_separated) {
            (_, true) | (NumericDateOrder::DayFirst, false) => day_first.or(month_first),
            (NumericDateOrder::MonthFirst, false) => month_first.or(day_first),
        };
        if let Some(date) = date {
            found.push(FoundDate {
                span,
                date,
                relative: false,
            });
        }
    }
}

fn find_month_names(
    text: &str,
    today: NaiveDate,
    patterns: &DatePatterns,
    found: &mut Vec<FoundDate>,
) {
    for (regex, month_first) in [(&patterns.month_first, true), (&patterns.day_first, false)] {
        for captures in regex.captures_iter(text) {
            let Some(span) = span_of(&captures) else {
                continue;
            };
            let (Some(month_match), Some(day)) = (captures.name("month"), captures.name("day"))
            else {
                continue;
            };
            // "may" is mostly the verb; as a month before its day it must be capitalised.
            if month_first && month_match.as_str() == "may" {
                continue;
            }
            if glued_before(text, span.start, &['-', '/', '.', '#']) || !stands_alone(text, span) {
                continue;
            }
            let (Some(month), Ok(day)) = (
                lookup(MONTH_NAMES, month_match.as_str()),
                day.as_str().parse::<u32>(),
            ) else {
                continue;
            };
            let date = match captures
                .name("year")
                .map(|year| year.as_str().parse::<i32>())
            {
                Some(Ok(year)) if plausible_year(year) => NaiveDate::from_ymd_opt(year, month, day),
                Some(_) => None,
                None => closest_occurrence(today, month, day),
            };
            // "le 5 mars." — the pattern takes a dot after the month for abbreviations
            // ("Mar."); after a full month name it ends the sentence.
            let ends_sentence = captures.name("year").is_none()
                && text[span.start..span.end].ends_with('.')
                && !MONTH_ABBREVIATIONS.contains(&month_match.as_str().to_lowercase().as_str());
            let span = if ends_sentence {
                Span::new(span.start, span.end - 1)
            } else {
                span
            };
            if let Some(date) = date {
                found.push(FoundDate {
                    span,
                    date,
                    relative: false,
                });
            }
        }
    }
}

/// The date with this month and day that is closest to `today` (previous, current or next
/// year).
fn closest_occurrence(today: NaiveDate, month: u32, day: u32) -> Option<NaiveDate> {
    [today.year() - 1, today.year(), today.year() + 1]
        .into_iter()
        .filter_map(|year| NaiveDate::from_ymd_opt(year, month, day))
        .min_by_key(|date| (*date - today).num_days().abs())
}

fn preceding_word(text: &str, start: usize) -> String {
    text.get(..start)
        .and_then(|before| before.split_whitespace().next_back())
        .map(str::to_lowercase)
        .unwrap_or_default()
}

fn find_day_words(
    text: &str,
    today: NaiveDate,
    patterns: &DatePatterns,
    found: &mut Vec<FoundDate>,
) {
    let looks_french = OnceCell::new();
    for matched in patterns.day_words.find_iter(text) {
        if !stands_alone(text, Span::new(matched.start(), matched.end())) {
            continue;
        }
        let written = matched.as_str();
        let lowered = written.to_lowercase();
        let accepted = match lowered.as_str() {
            "hier" => *looks_french.get_or_init(|| FRENCH_HINT.is_match(text)),
            "mañana" => !matches!(
                preceding_word(text, matched.start()).as_str(),
                "la" | "esta" | "una" | "cada"
            ),
            "morgen" => {
                written == "morgen"
                    && !matches!(
                        preceding_word(text, matched.start()).as_str(),
                        "guten" | "heute" | "gestern" | "jeden" | "am" | "den" | "einen"
                    )
            }
            _ => true,
        };
        if !accepted {
            continue;
        }
        let Some(offset) = lookup(DAY_WORDS, written) else {
            continue;
        };
        if let Some(date) = shift_days(today, offset) {
            found.push(FoundDate {
                span: Span::new(matched.start(), matched.end()),
                date,
                relative: true,
            });
        }
    }
}

fn find_relative_weekdays(
    text: &str,
    today: NaiveDate,
    patterns: &DatePatterns,
    found: &mut Vec<FoundDate>,
) {
    for regex in [&patterns.direction_weekday, &patterns.weekday_direction] {
        for captures in regex.captures_iter(text) {
            let Some(span) = span_of(&captures).filter(|span| stands_alone(text, *span)) else {
                continue;
            };
            let (Some(direction), Some(weekday)) =
                (captures.name("direction"), captures.name("weekday"))
            else {
                continue;
            };
            let (Some(past), Some(weekday)) = (
                lookup(WEEKDAY_DIRECTIONS, direction.as_str()),
                lookup(WEEKDAY_NAMES, weekday.as_str()),
            ) else {
                continue;
            };
            let today_index = i64::from(today.weekday().num_days_from_monday());
            let target_index = i64::from(weekday.num_days_from_monday());
            let offset = if past {
                let days_back = (today_index - target_index).rem_euclid(7);
                -(if days_back == 0 { 7 } else { days_back })
            } else {
                let days_ahead = (target_index - today_index).rem_euclid(7);
                if days_ahead == 0 {
                    7
                } else {
                    days_ahead
                }
            };
            if let Some(date) = shift_days(today, offset) {
                found.push(FoundDate {
                    span,
                    date,
                    relative: true,
                });
            }
        }
    }
}

fn find_relative_amounts(
    text: &str,
    today: NaiveDate,
    patterns: &DatePatterns,
    found: &mut Vec<FoundDate>,
) {
    for (regex, past) in [
        (&patterns.amount_ago, true),
        (&patterns.past_prefix_amount, true),
        (&patterns.future_prefix_amount, false),
    ] {
        for captures in regex.captures_iter(text) {
            let Some(span) = span_of(&captures).filter(|span| stands_alone(text, *span)) else {
                continue;
            };
            let (Some(number), Some(unit)) = (captures.name("number"), captures.name("unit"))
            else {
                continue;
            };
            let count = match number.as_str().parse::<u32>() {
                Ok(count) => Some(count),
                Err(_) => lookup(NUMBER_WORDS, number.as_str()),
            };
            let (Some(count), Some(unit)) = (count, lookup(UNIT_NAMES, unit.as_str())) else {
                continue;
            };
            if let Some(date) = shift(today, count, unit, past) {
                found.push(FoundDate {
                    span,
                    date,
                    relative: true,
                });
            }
        }
    }
}

fn shift_days(today: NaiveDate, offset: i64) -> Option<NaiveDate> {
    let magnitude = Days::new(offset.unsigned_abs());
    if offset < 0 {
        today.checked_sub_days(magnitude)
    } else {
        today.checked_add_days(magnitude)
    }
}

fn shift(today: NaiveDate, count: u32, unit: Unit, past: bool) -> Option<NaiveDate> {
    let count = u64::from(count);
    match unit {
        Unit::Day | Unit::Week => {
            let days = if unit == Unit::Week { count * 7 } else { count };
            let days = Days::new(days);
            if past {
                today.checked_sub_days(days)
            } else {
                today.checked_add_days(days)
            }
        }
        Unit::Month | Unit::Year => {
            let months = if unit == Unit::Year {
                count * 12
            } else {
                count
            };
            let months = Months::new(u32::try_from(months).ok()?);
            if past {
                today.checked_sub_months(months)
            } else {
                today.checked_add_months(months)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};

    use super::*;

    /// Friday.
    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, 14).expect("valid date")
    }

    fn check(text: &str, order: NumericDateOrder, expect: Expect) {
        let mut found = find_dates(text, today(), order);
        found.sort_by_key(|date| (date.span.start, date.span.end));
        let rendered: Vec<String> = found
            .iter()
            .map(|date| {
                let written = &text[date.span.start..date.span.end];
                let marker = if date.relative { " (relative)" } else { "" };
                format!("{written} → {}{marker}", date.date)
            })
            .collect();
        expect.assert_eq(&rendered.join("\n"));
    }

    #[test]
    fn absolute_numeric_dates() {
        check(
            "2025-03-14, 14/03/2025, 03/14/2025, 04/03/2025, 14.03.2025, 1.2.33, 3/4/25",
            NumericDateOrder::DayFirst,
            expect![[r#"
                2025-03-14 → 2025-03-14
                14/03/2025 → 2025-03-14
                03/14/2025 → 2025-03-14
                04/03/2025 → 2025-03-04
                14.03.2025 → 2025-03-14
                3/4/25 → 2025-04-03"#]],
        );
        check(
            "04/03/2025 and 3/4/25",
            NumericDateOrder::MonthFirst,
            expect![[r#"
                04/03/2025 → 2025-04-03
                3/4/25 → 2025-03-04"#]],
        );
    }

    #[test]
    fn month_names_in_four_languages() {
        check(
            "March 14, Mar. 3rd 2024, 14 March 2025, the 3rd of May, 14 de marzo de 2025, le 1er mai, am 14. März 2025, December 20, you may 3",
            NumericDateOrder::DayFirst,
            expect![[r#"
                March 14 → 2025-03-14
                Mar. 3rd 2024 → 2024-03-03
                14 March 2025 → 2025-03-14
                3rd of May → 2025-05-03
                14 de marzo de 2025 → 2025-03-14
                1er mai → 2025-05-01
                14. März 2025 → 2025-03-14
                December 20 → 2024-12-20"#]],
        );
    }

    #[test]
    fn relative_days_and_weekdays() {
        check(
            "today, yesterday, tomorrow, the day before yesterday, last Tuesday, next Friday, last Friday, this coming Monday",
            NumericDateOrder::DayFirst,
            expect![[r#"
                today → 2025-03-14 (relative)
                yesterday → 2025-03-13 (relative)
                tomorrow → 2025-03-15 (relative)
                the day before yesterday → 2025-03-12 (relative)
                last Tuesday → 2025-03-11 (relative)
                next Friday → 2025-03-21 (relative)
                last Friday → 2025-03-07 (relative)
                this coming Monday → 2025-03-17 (relative)"#]],
        );
    }

    #[test]
    fn relative_amounts() {
        check(
            "3 days ago, two weeks ago, a month ago, in 2 days, hace dos semanas, il y a 3 jours, vor einer Woche, dans un mois",
            NumericDateOrder::DayFirst,
            expect![[r#"
                3 days ago → 2025-03-11 (relative)
                two weeks ago → 2025-02-28 (relative)
                a month ago → 2025-02-14 (relative)
                in 2 days → 2025-03-16 (relative)
                hace dos semanas → 2025-02-28 (relative)
                il y a 3 jours → 2025-03-11 (relative)
                vor einer Woche → 2025-03-07 (relative)
                dans un mois → 2025-04-14 (relative)"#]],
        );
    }

    #[test]
    fn ambiguous_words_need_their_language() {
        check(
            "Ich bin hier seit gestern.",
            NumericDateOrder::DayFirst,
            expect![[r#"gestern → 2025-03-13 (relative)"#]],
        );
        check(
            "J'ai commandé hier.",
            NumericDateOrder::DayFirst,
            expect![[r#"hier → 2025-03-13 (relative)"#]],
        );
        check(
            "llegó esta mañana, no mañana. Guten Morgen, kommt es morgen?",
            NumericDateOrder::DayFirst,
            expect![[r#"
                mañana → 2025-03-15 (relative)
                morgen → 2025-03-15 (relative)"#]],
        );
        check(
            "el lunes pasado y el próximo viernes, vendredi prochain, letzten Dienstag",
            NumericDateOrder::DayFirst,
            expect![[r#"
            lunes pasado → 2025-03-10 (relative)
            próximo viernes → 2025-03-21 (relative)
            vendredi prochain → 2025-03-21 (relative)
            letzten Dienstag → 2025-03-11 (relative)"#]],
        );
    }

    #[test]
    fn unicode_neighbours_and_sentence_dots() {
        check(
            "éyesterday, Straßehier, übermorgen; le 5 mars. Mar. 3",
            NumericDateOrder::DayFirst,
            expect![[r#"
                übermorgen → 2025-03-16 (relative)
                5 mars → 2025-03-05
                Mar. 3 → 2025-03-03"#]],
        );
    }

    #[test]
    fn impossible_dates_are_skipped() {
        check(
            "31/02/2025, 2025-13-01, February 30, 1850-01-01",
            NumericDateOrder::DayFirst,
            expect![[""]],
        );
    }
}
