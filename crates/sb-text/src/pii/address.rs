//! Street addresses, where a pattern can tell: a house number, a street name and a street-type
//! word, in the word orders of English, French, Spanish and German, optionally followed on the
//! same line by a postcode and city.
//!
//! - English: `221B Baker Street`, `1600 Pennsylvania Avenue NW, Washington, DC 20500`,
//!   `10 Downing St, London SW1A 2AA`;
//! - French: `12 rue de la Paix, 75002 Paris`, `5 bis avenue Jean Jaurès`;
//! - Spanish: `Calle Mayor 10`, `Avda. de la Constitución, 4, 28013 Madrid`;
//! - German: `Hauptstraße 5`, `Berliner Str. 12a, 10115 Berlin`.
//!
//! The street name must be capitalised (French and Spanish particles such as `de la` aside):
//! that is what separates "221B Baker Street" from "3 times down the road". The price is that
//! an address typed all in lower case is missed; a postcode-and-city tail is only taken when
//! it follows the street directly.

use std::sync::LazyLock;

use regex::Regex;
use sb_domain::Span;

use crate::entities::scan::{char_before, is_word_char};

/// A capitalised word of a street name ("Baker", "O'Connell", "Jaurès", "St.", "MLK").
const CAPITALISED_WORD: &str = r"\p{Lu}[\p{L}'’\-]*\.?";

/// A word of a city name: capitalised then lower case ("London", "Saint-Étienne"), so that the
/// "NW" of the postcode "NW1 6XE" does not pass for one.
const CITY_WORD: &str = r"\p{Lu}\p{Ll}[\p{L}'’\-]*";

// The patterns use ASCII word boundaries, `(?-u:\b)`, which keep the regex crate on its fast
// DFA for non-ASCII text (see `entities::dates`); the start of each match is checked in code.

static ENGLISH: LazyLock<Regex> = LazyLock::new(|| {
    let street_types = r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way|Terrace|Close|Crescent|Highway|Hwy|Parkway|Pkwy|Square|Sq|Gardens|Grove|Mews|Circle|Cir|Trail";
    let uk_postcode = r"[A-Z]{1,2}[0-9][A-Z0-9]?[ ]?[0-9][A-Z]{2}";
    let pattern = format!(
        r"(?-u:\b)[0-9]{{1,5}}[A-Za-z]?(?:[ \t]+{word}){{1,4}}[ \t]+(?i:{street_types})(?-u:\b)\.?(?:[ \t]+(?:N|S|E|W|NE|NW|SE|SW)(?-u:\b))?(?:,?[ \t]+(?i:apt|apartment|suite|ste|unit|flat)\.?[ \t]*#?[0-9A-Za-z\-]{{1,6}}(?-u:\b))?(?:,[ \t]*{city}(?:[ \t]+{city}){{0,2}}(?:,?[ \t]+(?:[A-Z]{{2}}[ \t]+)?(?:[0-9]{{5}}(?:-[0-9]{{4}})?|{uk_postcode})(?-u:\b))?)?",
        word = CAPITALISED_WORD,
        city = CITY_WORD,
    );
    Regex::new(&pattern).expect("english address pattern is valid")
});

static FRENCH: LazyLock<Regex> = LazyLock::new(|| {
    let street_types = r"rue|avenue|av\.|bd|boulevard|place|impasse|allée|allee|chemin|quai|route|cours|square|passage";
    let particles = r"de|du|des|la|le|les|l'|l’|d'|d’|à|au|aux|sur";
    let pattern = format!(
        r"(?-u:\b)[0-9]{{1,4}}(?:[ \t]?(?:bis|ter))?,?[ \t]+(?i:{street_types})(?:[ \t]+(?:{particles}))*[ \t]*{word}(?:[ \t\-]+(?:(?:{particles})[ \t]*)*{word}){{0,4}}(?:,?[ \t]+[0-9]{{5}}[ \t]+{city}(?:[ \t\-]+{city}){{0,2}})?",
        word = CAPITALISED_WORD,
        city = CITY_WORD,
    );
    Regex::new(&pattern).expect("french address pattern is valid")
});

static SPANISH: LazyLock<Regex> = LazyLock::new(|| {
    let street_types = r"Calle|C/|Avenida|Avda\.?|Av\.|Plaza|Pza\.|Paseo|Camino|Carrera|Ronda|Travesía|Carretera|Ctra\.";
    let particles = r"de|del|la|las|los|el|y";
    let pattern = format!(
        r"(?-u:\b)(?i:{street_types})[ \t]*(?:(?:{particles})[ \t]+)*{word}(?:[ \t]+(?:(?:{particles})[ \t]+)*{word}){{0,4}},?[ \t]+(?:(?i:n)[º°o]\.?[ \t]*)?[0-9]{{1,4}}[A-Za-z]?(?-u:\b)(?:,?[ \t]+[0-9]{{1,2}}[º°ª]?[ \t]*[A-Za-z]?(?-u:\b))?(?:,?[ \t]+[0-9]{{5}}[ \t]+{city}(?:[ \t]+{city}){{0,2}})?",
        word = CAPITALISED_WORD,
        city = CITY_WORD,
    );
    Regex::new(&pattern).expect("spanish address pattern is valid")
});

static GERMAN: LazyLock<Regex> = LazyLock::new(|| {
    let compound_endings = r"straße|strasse|str\.|weg|gasse|platz|allee|damm|ufer|chaussee";
    let separate_types = r"Straße|Strasse|Str\.|Weg|Gasse|Platz|Allee|Damm|Ufer|Chaussee";
    let pattern = format!(
        r"(?:\p{{Lu}}[\p{{L}}\-]*(?:{compound_endings})|(?:{word}[ \t\-]+){{1,3}}(?:{separate_types}))[ \t]+[0-9]{{1,4}}[ \t]?[a-z]?(?-u:\b)(?:,?[ \t]+[0-9]{{5}}[ \t]+{city}(?:[ \t]+{city}){{0,2}})?",
        word = CAPITALISED_WORD,
        city = CITY_WORD,
    );
    Regex::new(&pattern).expect("german address pattern is valid")
});

/// Spans of street addresses in `text`.
pub(crate) fn find_addresses(text: &str) -> Vec<Span> {
    // Every form has a house number.
    if !text.bytes().any(|byte| byte.is_ascii_digit()) {
        return Vec::new();
    }
    [&*ENGLISH, &*FRENCH, &*SPANISH, &*GERMAN]
        .into_iter()
        .flat_map(|regex| regex.find_iter(text))
        .filter(|found| !char_before(text, found.start()).is_some_and(is_word_char))
        .map(|found| {
            // A trailing "." belongs to the sentence, not to "St." or the address.
            let written = found.as_str();
            let trimmed = if written.ends_with("St.")
                || written.ends_with("Str.")
                || written.ends_with("Ave.")
            {
                written
            } else {
                written.trim_end_matches(['.', ',', '-', '\'', '’'])
            };
            Span::new(found.start(), found.start() + trimmed.len())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses(text: &str) -> Vec<&str> {
        let mut spans = find_addresses(text);
        spans.sort();
        spans
            .into_iter()
            .map(|span| &text[span.start..span.end])
            .collect()
    }

    #[test]
    fn english_addresses() {
        assert_eq!(
            addresses("send it to 221B Baker Street, London NW1 6XE please"),
            vec!["221B Baker Street, London NW1 6XE"]
        );
        assert_eq!(
            addresses("1600 Pennsylvania Avenue NW, Washington, DC 20500."),
            vec!["1600 Pennsylvania Avenue NW, Washington, DC 20500"]
        );
        assert_eq!(addresses("I live at 42 Elm St. Thanks"), vec!["42 Elm St."]);
    }

    #[test]
    fn french_spanish_german_addresses() {
        assert_eq!(
            addresses("livrée au 12 rue de la Paix, 75002 Paris."),
            vec!["12 rue de la Paix, 75002 Paris"]
        );
        assert_eq!(
            addresses("vivo en Calle Mayor 10, 28013 Madrid"),
            vec!["Calle Mayor 10, 28013 Madrid"]
        );
        assert_eq!(
            addresses("Adresse: Hauptstraße 5, 10115 Berlin"),
            vec!["Hauptstraße 5, 10115 Berlin"]
        );
        assert_eq!(addresses("Berliner Str. 12a"), vec!["Berliner Str. 12a"]);
    }

    #[test]
    fn ordinary_sentences_are_not_addresses() {
        assert!(addresses("I waited 3 times down the road and 2 pairs for the street").is_empty());
        assert!(addresses("Spring 5 collection, order 558201").is_empty());
    }
}
