//! Language of a customer message, as an ISO 639-1 code with a confidence.
//!
//! Built on whatlang (trigram and alphabet statistics, no model files). whatlang is good on a
//! paragraph and poor on a chat line: on "hola, ayuda" every Latin-script language it knows is
//! a candidate, including ones a shop never hears from. So short texts are only matched
//! against an allow-list of the languages a deployment expects, and their confidence is
//! lowered in proportion to their length, so that downstream decisions (routing to an agent
//! who speaks the language, picking a reply template) can tell a guess from a finding.
//!
//! Longer texts are matched against every language whatlang knows: a Turkish paragraph sent to
//! a German shop is Turkish, and saying so is more useful than forcing it into German. Only
//! when whatlang is unsure about a language outside the allow-list is the allow-list asked.
//!
//! Even restricted, trigrams misread many chat lines ("ik wil mijn bestelling annuleren" comes
//! out Danish, "onde está meu pedido?" Spanish). Texts under 80 letters therefore also count
//! function words ("mijn", "onde", "ich", "the") from small per-language lists, which settle
//! most of those cases; see `tests/golden/language/cases.csv` for the measured effect.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use sb_domain::Language;
use whatlang::Lang;

/// The code for "undetermined" (ISO 639-2/3), returned with confidence 0 for empty, too short
/// or undetectable text.
pub const UNDETERMINED_CODE: &str = "und";

/// The languages [`detect`] considers for short texts.
///
/// Switchboard's users are small European shops, and these are the languages their customers
/// write in most. The list is deliberately not "all of Europe": every extra Latin-script
/// language is one more way for a three-word chat line to be misread (whatlang confuses
/// Slovak, Czech and Slovene, Croatian and Serbian, or Spanish and Catalan on short input), and
/// the cost of missing a rare language on a short text is small, because the confidence of a
/// short-text result is low anyway. Russian and Ukrainian are in because whatlang only weighs
/// languages of the text's own script against each other, so they cost the Latin-script
/// languages nothing, and without them a short Russian line comes out as Bulgarian.
/// Deployments that serve other markets build their own [`LanguageDetector`].
pub const DEFAULT_LANGUAGES: &[&str] = &["en", "es", "fr", "de", "it", "pt", "nl", "pl", "sv", "da", "nb", "ru", "uk"];

/// Fewer letters than this is not a language ("ok", "??", "👍").
const MIN_LETTERS: usize = 3;

/// Texts with fewer letters than this are "short": allow-list only, lowered confidence.
const SHORT_TEXT_LETTERS: usize = 25;

/// The most a short text's confidence can be: even a perfect trigram match on a few words is a
/// guess compared to a paragraph.
const MAX_SHORT_TEXT_CONFIDENCE: f64 = 0.75;

/// Below this whatlang confidence a long-text result outside the allow-list is not trusted.
const MIN_CONFIDENCE_OUTSIDE_ALLOW_LIST: f64 = 0.5;

/// When the allow-list overrides an unsure result, the answer is a fallback, not a finding.
const MAX_FALLBACK_CONFIDENCE: f64 = 0.5;

/// Texts with fewer letters than this also count function words (see
/// [`LanguageDetector::combine_with_function_words`]); longer ones are whatlang's alone.
const MAX_LETTERS_FOR_FUNCTION_WORDS: usize = 80;

/// When function words overrule whatlang, the two disagree, and the confidence says so.
const OVERRULED_CONFIDENCE_FACTOR: f64 = 0.8;

/// Language is settled long before this many bytes; detection cost stays bounded on huge
/// inputs (whatlang is linear, but a 1 MB mail should not cost milliseconds here).
const MAX_DETECTION_BYTES: usize = 4_000;

/// Detects the language of `text` with the default allow-list, [`DEFAULT_LANGUAGES`].
pub fn detect(text: &str) -> Language {
    static DEFAULT_DETECTOR: LazyLock<LanguageDetector> = LazyLock::new(|| LanguageDetector::new(DEFAULT_LANGUAGES));
    DEFAULT_DETECTOR.detect(text)
}

/// True when `code` names a language the detector knows: an ISO 639-1 code (`"de"`), an ISO
/// 639-3 code (`"deu"`) or `"no"` for Norwegian Bokmål. For validating configuration, since
/// [`LanguageDetector::new`] ignores codes it does not know.
pub fn is_supported_code(code: &str) -> bool {
    lang_from_code(code).is_some()
}

/// A language detector restricted, for short texts, to an allow-list of languages.
#[derive(Debug, Clone)]
pub struct LanguageDetector {
    /// Empty means every language whatlang knows.
    allowed_langs: Vec<Lang>,
    unrestricted_detector: whatlang::Detector,
    /// `None` when `allowed_langs` is empty.
    restricted_detector: Option<whatlang::Detector>,
}

impl LanguageDetector {
    /// `allowed` holds ISO 639-1 codes (`"en"`, `"de"`; ISO 639-3 and `"no"` are accepted too);
    /// an empty list allows every language. Unknown codes are ignored (see
    /// [`is_supported_code`]); if none is known, every language is allowed.
    pub fn new(allowed: &[&str]) -> LanguageDetector {
        let mut allowed_langs: Vec<Lang> = Vec::with_capacity(allowed.len());
        for lang in allowed.iter().filter_map(|code| lang_from_code(code)) {
            if !allowed_langs.contains(&lang) {
                allowed_langs.push(lang);
            }
        }
        let restricted_detector =
            (!allowed_langs.is_empty()).then(|| whatlang::Detector::with_allowlist(allowed_langs.clone()));
        LanguageDetector { allowed_langs, unrestricted_detector: whatlang::Detector::new(), restricted_detector }
    }

    /// The allowed languages as ISO 639-1 codes, in the order given; empty when all are allowed.
    pub fn allowed_codes(&self) -> Vec<&'static str> {
        self.allowed_langs.iter().map(|lang| iso_639_1(*lang)).collect()
    }

    pub fn detect(&self, text: &str) -> Language {
        let detection_text = text_for_detection(text);
        let n_letters = detection_text.chars().filter(|c| c.is_alphabetic()).count();
        if n_letters < MIN_LETTERS {
            return undetermined();
        }
        let is_short = n_letters < SHORT_TEXT_LETTERS;
        let whatlang_guess = if is_short {
            self.detect_within_allow_list(&detection_text).map(|info| (info.lang(), info.confidence()))
        } else {
            self.detect_long_text(&detection_text)
        };
        let guess = if n_letters < MAX_LETTERS_FOR_FUNCTION_WORDS {
            self.combine_with_function_words(&detection_text, whatlang_guess)
        } else {
            whatlang_guess
        };
        let Some((lang, confidence)) = guess else {
            return undetermined();
        };
        if is_short {
            let length_factor = n_letters as f64 / SHORT_TEXT_LETTERS as f64;
            return language(lang, confidence * length_factor * MAX_SHORT_TEXT_CONFIDENCE);
        }
        language(lang, confidence)
    }

    /// All languages first; the allow-list only when whatlang is unsure about a language
    /// outside it.
    fn detect_long_text(&self, text: &str) -> Option<(Lang, f64)> {
        let info = self.unrestricted_detector.detect(text)?;
        if self.is_allowed(info.lang()) || info.confidence() >= MIN_CONFIDENCE_OUTSIDE_ALLOW_LIST {
            return Some((info.lang(), info.confidence()));
        }
        match self.restricted_detector.as_ref().and_then(|detector| detector.detect(text)) {
            Some(allowed_info) if self.is_allowed(allowed_info.lang()) => {
                Some((allowed_info.lang(), allowed_info.confidence().min(MAX_FALLBACK_CONFIDENCE)))
            }
            _ => Some((info.lang(), info.confidence())),
        }
    }

    /// Trigram statistics need more text than a chat line has; the few words a chat line does
    /// have are often function words ("mijn", "onde", "ich") that name the language outright.
    /// Each recognised word is one vote for each allowed language it belongs to; whatlang's
    /// guess adds 0.5 plus its confidence, so a sure whatlang needs two contrary words to be
    /// overruled and an unsure one only one. A tie keeps whatlang's guess, and so does a guess
    /// of a language without a word list: "mi" and "se" are Spanish words, but in a Czech
    /// sentence they are Czech ones.
    fn combine_with_function_words(&self, text: &str, whatlang_guess: Option<(Lang, f64)>) -> Option<(Lang, f64)> {
        if let Some((whatlang_lang, _)) = whatlang_guess {
            if !FUNCTION_WORDS.iter().any(|(lang, _)| *lang == whatlang_lang) {
                return whatlang_guess;
            }
        }
        let mut n_hits_by_lang: Vec<(Lang, usize)> = Vec::new();
        let mut n_hit_words = 0usize;
        for word in text.split(|c: char| !c.is_alphabetic()).filter(|word| !word.is_empty()) {
            let lowercase_word = word.to_lowercase();
            let Some(word_langs) = FUNCTION_WORD_LANGS.get(lowercase_word.as_str()) else {
                continue;
            };
            let mut is_hit = false;
            for lang in word_langs.iter().copied().filter(|lang| self.is_allowed(*lang)) {
                is_hit = true;
                match n_hits_by_lang.iter_mut().find(|(hit_lang, _)| *hit_lang == lang) {
                    Some((_, n_hits)) => *n_hits += 1,
                    None => n_hits_by_lang.push((lang, 1)),
                }
            }
            n_hit_words += usize::from(is_hit);
        }
        if n_hit_words == 0 {
            return whatlang_guess;
        }
        let n_hits_of =
            |lang: Lang| n_hits_by_lang.iter().find(|(hit_lang, _)| *hit_lang == lang).map_or(0, |(_, n)| *n);
        let score_of = |lang: Lang| {
            let whatlang_bonus = match whatlang_guess {
                Some((whatlang_lang, whatlang_confidence)) if whatlang_lang == lang => 0.5 + whatlang_confidence,
                _ => 0.0,
            };
            n_hits_of(lang) as f64 + whatlang_bonus
        };
        let mut candidates: Vec<Lang> = n_hits_by_lang.iter().map(|(lang, _)| *lang).collect();
        if let Some((whatlang_lang, _)) = whatlang_guess {
            if !candidates.contains(&whatlang_lang) {
                candidates.push(whatlang_lang);
            }
        }
        let best_score = candidates.iter().map(|lang| score_of(*lang)).fold(f64::MIN, f64::max);
        let best_langs: Vec<Lang> = candidates.iter().copied().filter(|lang| score_of(*lang) == best_score).collect();
        let [best_lang] = best_langs[..] else {
            return whatlang_guess;
        };
        let n_best_hits = n_hits_of(best_lang);
        let n_runner_up_hits =
            n_hits_by_lang.iter().filter(|(lang, _)| *lang != best_lang).map(|(_, n)| *n).max().unwrap_or(0);
        let word_confidence = n_best_hits.saturating_sub(n_runner_up_hits) as f64 / n_hit_words as f64;
        match whatlang_guess {
            Some((whatlang_lang, whatlang_confidence)) if whatlang_lang == best_lang => {
                Some((best_lang, whatlang_confidence.max(word_confidence)))
            }
            _ => Some((best_lang, word_confidence * OVERRULED_CONFIDENCE_FACTOR)),
        }
    }

    fn is_allowed(&self, lang: Lang) -> bool {
        self.allowed_langs.is_empty() || self.allowed_langs.contains(&lang)
    }

    /// The allow-list only restricts languages of the text's own script: a short Russian or
    /// Greek line is still recognised when the list names only Latin-script languages.
    fn detect_within_allow_list(&self, text: &str) -> Option<whatlang::Info> {
        let Some(restricted_detector) = &self.restricted_detector else {
            return self.unrestricted_detector.detect(text);
        };
        match restricted_detector.detect(text) {
            Some(info) => Some(info),
            None => self.unrestricted_detector.detect(text),
        }
    }
}

impl Default for LanguageDetector {
    fn default() -> LanguageDetector {
        LanguageDetector::new(DEFAULT_LANGUAGES)
    }
}

/// Frequent words of customer messages that point to one language (or a few): articles,
/// pronouns, auxiliaries, greetings, thanks and the shop words every chat line has ("order",
/// "pedido", "Bestellung"). Lowercase, NFC. Words shared by languages are listed under each;
/// they then only help against the languages that do not have them.
const FUNCTION_WORDS: &[(Lang, &[&str])] = &[
    (
        Lang::Eng,
        &[
            "the", "my", "is", "i", "you", "your", "it", "and", "to", "of", "not", "where", "what", "when", "how",
            "can", "have", "has", "was", "this", "that", "with", "for", "thank", "thanks", "please", "hi", "hello",
            "order", "any", "still", "much", "do", "does", "did", "me", "arrived", "received", "refund", "parcel",
            "package", "delivery", "item", "return", "need", "want", "would", "yet", "news",
        ],
    ),
    (
        Lang::Spa,
        &[
            "el",
            "la",
            "los",
            "las",
            "mi",
            "mis",
            "de",
            "del",
            "que",
            "por",
            "para",
            "con",
            "y",
            "es",
            "está",
            "están",
            "un",
            "una",
            "no",
            "me",
            "se",
            "lo",
            "gracias",
            "hola",
            "pedido",
            "dónde",
            "cuándo",
            "cómo",
            "quiero",
            "tengo",
            "necesito",
            "llegó",
            "paquete",
            "factura",
            "talla",
            "tienen",
            "muchas",
            "buenos",
            "días",
            "ayuda",
            "envío",
            "devolución",
            "todavía",
            "esta",
            "este",
        ],
    ),
    (
        Lang::Fra,
        &[
            "le",
            "la",
            "les",
            "mon",
            "ma",
            "mes",
            "je",
            "j",
            "est",
            "et",
            "pas",
            "où",
            "merci",
            "bonjour",
            "commande",
            "veux",
            "une",
            "un",
            "des",
            "du",
            "avec",
            "pour",
            "vous",
            "votre",
            "n",
            "ai",
            "c",
            "qu",
            "colis",
            "reçu",
            "cette",
            "taille",
            "avez",
            "suis",
            "ne",
            "au",
            "aux",
            "sur",
            "livraison",
            "remboursement",
            "aide",
            "beaucoup",
            "toujours",
            "pouvez",
        ],
    ),
    (
        Lang::Deu,
        &[
            "der",
            "die",
            "das",
            "ich",
            "ist",
            "nicht",
            "und",
            "mein",
            "meine",
            "meinen",
            "meiner",
            "wo",
            "wann",
            "danke",
            "hallo",
            "bestellung",
            "bitte",
            "mit",
            "ein",
            "eine",
            "einen",
            "kann",
            "habe",
            "noch",
            "paket",
            "rechnung",
            "brauche",
            "kommt",
            "guten",
            "tag",
            "frage",
            "verfügbar",
            "sie",
            "es",
            "zu",
            "auf",
            "für",
            "vielen",
            "lieferung",
            "möchte",
            "schon",
            "nach",
            "wie",
            "erstattung",
        ],
    ),
    (
        Lang::Ita,
        &[
            "il",
            "lo",
            "gli",
            "mio",
            "mia",
            "miei",
            "è",
            "non",
            "dove",
            "grazie",
            "ciao",
            "ordine",
            "voglio",
            "che",
            "per",
            "con",
            "un",
            "una",
            "ho",
            "ha",
            "sono",
            "del",
            "della",
            "pacco",
            "avete",
            "questa",
            "questo",
            "taglia",
            "rimborso",
            "arrivato",
            "buongiorno",
            "mille",
            "ancora",
            "spedizione",
            "aiuto",
            "posso",
            "quando",
            "ricevuto",
        ],
    ),
    (
        Lang::Por,
        &[
            "o",
            "os",
            "as",
            "meu",
            "minha",
            "é",
            "não",
            "onde",
            "obrigado",
            "obrigada",
            "olá",
            "pedido",
            "encomenda",
            "quero",
            "que",
            "para",
            "com",
            "um",
            "uma",
            "está",
            "recebi",
            "tenho",
            "preciso",
            "da",
            "do",
            "dos",
            "das",
            "em",
            "no",
            "na",
            "este",
            "esta",
            "têm",
            "muito",
            "fatura",
            "tamanho",
            "você",
            "vocês",
            "ajuda",
            "ainda",
            "entrega",
            "reembolso",
            "quando",
            "posso",
        ],
    ),
    (
        Lang::Nld,
        &[
            "de",
            "het",
            "een",
            "ik",
            "is",
            "niet",
            "mijn",
            "waar",
            "bedankt",
            "hallo",
            "hoi",
            "bestelling",
            "wil",
            "en",
            "van",
            "met",
            "kan",
            "heb",
            "nog",
            "pakket",
            "dit",
            "dat",
            "vraag",
            "op",
            "voor",
            "wanneer",
            "graag",
            "jullie",
            "u",
            "terugbetaling",
            "voorraad",
            "geen",
            "dank",
            "levering",
            "hulp",
            "steeds",
            "wel",
        ],
    ),
    (
        Lang::Swe,
        &[
            "jag",
            "är",
            "och",
            "inte",
            "min",
            "mitt",
            "mina",
            "var",
            "hej",
            "tack",
            "beställning",
            "paket",
            "paketet",
            "det",
            "en",
            "ett",
            "har",
            "kan",
            "ni",
            "med",
            "för",
            "på",
            "att",
            "som",
            "kommit",
            "fortfarande",
        ],
    ),
    (
        Lang::Dan,
        &[
            "jeg",
            "er",
            "og",
            "ikke",
            "min",
            "mit",
            "mine",
            "hvor",
            "hej",
            "tak",
            "bestilling",
            "pakke",
            "pakken",
            "det",
            "en",
            "et",
            "har",
            "kan",
            "i",
            "med",
            "for",
            "på",
            "at",
            "som",
            "kommet",
            "stadig",
        ],
    ),
    (
        Lang::Nob,
        &[
            "jeg",
            "er",
            "og",
            "ikke",
            "min",
            "mitt",
            "mine",
            "hvor",
            "hei",
            "takk",
            "bestilling",
            "pakke",
            "pakken",
            "det",
            "en",
            "et",
            "har",
            "kan",
            "dere",
            "med",
            "for",
            "på",
            "å",
            "som",
            "kommet",
            "fortsatt",
        ],
    ),
    (
        Lang::Pol,
        &[
            "nie",
            "jest",
            "się",
            "i",
            "w",
            "na",
            "z",
            "do",
            "moje",
            "moja",
            "mój",
            "gdzie",
            "dziękuję",
            "dzień",
            "dobry",
            "zamówienie",
            "paczka",
            "paczki",
            "czy",
            "to",
            "że",
            "jak",
            "kiedy",
            "proszę",
        ],
    ),
];

static FUNCTION_WORD_LANGS: LazyLock<HashMap<&'static str, Vec<Lang>>> = LazyLock::new(|| {
    let mut langs_by_word: HashMap<&'static str, Vec<Lang>> = HashMap::new();
    for (lang, words) in FUNCTION_WORDS {
        for word in *words {
            let word_langs = langs_by_word.entry(word).or_default();
            if !word_langs.contains(lang) {
                word_langs.push(*lang);
            }
        }
    }
    langs_by_word
});

fn undetermined() -> Language {
    Language { code: UNDETERMINED_CODE.to_owned(), confidence: 0.0 }
}

fn language(lang: Lang, confidence: f64) -> Language {
    let confidence = if confidence.is_finite() { confidence.clamp(0.0, 1.0) } else { 0.0 };
    Language { code: iso_639_1(lang).to_owned(), confidence: confidence as f32 }
}

/// The text whatlang sees: URLs and email addresses removed (they are language-neutral but
/// full of English-looking trigrams: "https", "www", "mail", "order"), and cut to
/// [`MAX_DETECTION_BYTES`] at a character boundary.
fn text_for_detection(text: &str) -> Cow<'_, str> {
    static URL_OR_EMAIL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)\b(?:https?://|www\.)\S+|\S+@\S+\.\w+").expect("valid regex"));
    let head = truncate_at_char_boundary(text, MAX_DETECTION_BYTES);
    URL_OR_EMAIL.replace_all(head, " ")
}

fn truncate_at_char_boundary(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn lang_from_code(code: &str) -> Option<Lang> {
    let code = code.trim().to_ascii_lowercase();
    if code == "no" {
        return Some(Lang::Nob);
    }
    if let Some(lang) = Lang::all().iter().copied().find(|lang| iso_639_1(*lang) == code) {
        return Some(lang);
    }
    Lang::from_code(code)
}

/// ISO 639-1 for every language whatlang knows (all of them have one). The match is
/// exhaustive on purpose: a whatlang upgrade that adds a language fails to compile here
/// instead of leaking a three-letter code.
///
/// Norwegian is `nb` (Bokmål, which is what whatlang models), not the macrolanguage `no`;
/// `no` is accepted as input.
fn iso_639_1(lang: Lang) -> &'static str {
    match lang {
        Lang::Epo => "eo",
        Lang::Eng => "en",
        Lang::Rus => "ru",
        Lang::Cmn => "zh",
        Lang::Spa => "es",
        Lang::Por => "pt",
        Lang::Ita => "it",
        Lang::Ben => "bn",
        Lang::Fra => "fr",
        Lang::Deu => "de",
        Lang::Ukr => "uk",
        Lang::Kat => "ka",
        Lang::Ara => "ar",
        Lang::Hin => "hi",
        Lang::Jpn => "ja",
        Lang::Heb => "he",
        Lang::Yid => "yi",
        Lang::Pol => "pl",
        Lang::Amh => "am",
        Lang::Jav => "jv",
        Lang::Kor => "ko",
        Lang::Nob => "nb",
        Lang::Dan => "da",
        Lang::Swe => "sv",
        Lang::Fin => "fi",
        Lang::Tur => "tr",
        Lang::Nld => "nl",
        Lang::Hun => "hu",
        Lang::Ces => "cs",
        Lang::Ell => "el",
        Lang::Bul => "bg",
        Lang::Bel => "be",
        Lang::Mar => "mr",
        Lang::Kan => "kn",
        Lang::Ron => "ro",
        Lang::Slv => "sl",
        Lang::Hrv => "hr",
        Lang::Srp => "sr",
        Lang::Mkd => "mk",
        Lang::Lit => "lt",
        Lang::Lav => "lv",
        Lang::Est => "et",
        Lang::Tam => "ta",
        Lang::Vie => "vi",
        Lang::Urd => "ur",
        Lang::Tha => "th",
        Lang::Guj => "gu",
        Lang::Uzb => "uz",
        Lang::Pan => "pa",
        Lang::Aze => "az",
        Lang::Ind => "id",
        Lang::Tel => "te",
        Lang::Pes => "fa",
        Lang::Mal => "ml",
        Lang::Ori => "or",
        Lang::Mya => "my",
        Lang::Nep => "ne",
        Lang::Sin => "si",
        Lang::Khm => "km",
        Lang::Tuk => "tk",
        Lang::Aka => "ak",
        Lang::Zul => "zu",
        Lang::Sna => "sn",
        Lang::Afr => "af",
        Lang::Lat => "la",
        Lang::Slk => "sk",
        Lang::Cat => "ca",
        Lang::Tgl => "tl",
        Lang::Hye => "hy",
        Lang::Cym => "cy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_whatlang_language_has_a_distinct_two_letter_code() {
        let mut codes: Vec<&str> = Lang::all().iter().map(|lang| iso_639_1(*lang)).collect();
        assert!(codes.iter().all(|code| code.len() == 2 && code.bytes().all(|b| b.is_ascii_lowercase())));
        let n_langs = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n_langs);
    }

    #[test]
    fn codes_round_trip_and_aliases_are_accepted() {
        for lang in Lang::all() {
            assert_eq!(lang_from_code(iso_639_1(*lang)), Some(*lang));
        }
        assert_eq!(lang_from_code("deu"), Some(Lang::Deu));
        assert_eq!(lang_from_code(" DE "), Some(Lang::Deu));
        assert_eq!(lang_from_code("no"), Some(Lang::Nob));
        assert_eq!(lang_from_code("xx"), None);
        assert!(!is_supported_code("klingon"));
    }

    #[test]
    fn empty_and_letterless_text_is_undetermined() {
        for text in ["", "   ", "ok", "12345 678", "👍👍", "?!", "https://shop.example/track?id=123"] {
            let detected = detect(text);
            assert_eq!(detected.code, "und", "{text:?}");
            assert_eq!(detected.confidence, 0.0);
        }
    }

    #[test]
    fn short_text_confidence_is_lowered_and_long_text_is_not() {
        let short = detect("¿Dónde está mi pedido?");
        assert_eq!(short.code, "es");
        assert!(short.confidence <= MAX_SHORT_TEXT_CONFIDENCE as f32);
        let long = detect(
            "Hola, hice un pedido la semana pasada y todavía no ha llegado. ¿Podrían decirme dónde está y cuándo lo recibiré?",
        );
        assert_eq!(long.code, "es");
        assert!(long.confidence > short.confidence);
    }

    #[test]
    fn short_text_only_considers_allowed_languages() {
        let german_only = LanguageDetector::new(&["de"]);
        assert_eq!(german_only.detect("Paket kaputt").code, "de");
        assert_eq!(german_only.allowed_codes(), vec!["de"]);
    }

    #[test]
    fn allow_list_does_not_hide_other_scripts() {
        assert_eq!(detect("Где мой заказ?").code, "ru");
        assert_eq!(detect("Πού είναι η παραγγελία μου;").code, "el");
    }

    #[test]
    fn confidence_is_always_in_unit_interval() {
        let huge = "Bonjour, ma commande n'est pas arrivée. ".repeat(50_000);
        for text in ["a", "aaa", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "e\u{301}\u{301}\u{301}", huge.as_str()] {
            let detected = detect(text);
            assert!((0.0..=1.0).contains(&detected.confidence), "{text:?}: {detected:?}");
        }
    }

    #[test]
    fn unknown_codes_fall_back_to_all_languages() {
        let detector = LanguageDetector::new(&["xx", "yy"]);
        assert!(detector.allowed_codes().is_empty());
        let text = "Merhaba, siparişim henüz gelmedi. Lütfen ne zaman teslim edileceğini söyler misiniz?";
        assert_eq!(detector.detect(text).code, "tr");
    }
}
