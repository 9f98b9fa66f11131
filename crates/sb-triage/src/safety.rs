//! Explicit safety rules that sit on top of the intent model.
//!
//! The model is good at the usual wording; these rules make sure the rare, costly cases are
//! never missed: emergency phrases in English, Spanish, French and German force the safety
//! queue with `urgent` severity, and figures of speech ("I'm dying to know…", "this delay is
//! killing me") are recognised first so they never trigger it.

use regex::{Regex, RegexSet};
use std::sync::LazyLock;

/// Phrases that mean an emergency is happening now (PRODUCT.md, severity `urgent`).
const EMERGENCY_PATTERNS: &[&str] = &[
    // English
    r"(?i)\b(can'?t|cannot|can not|couldn'?t|unable to|struggling to|hard to|trouble|difficulty|not able to) ?(breathe|breathing)\b",
    r"(?i)\bshort(ness)? of breath\b",
    r"(?i)\b(throat|tongue|lips?|face)\b[^.!?\n]{0,30}\b(swell|swelling|swollen|closing|closing up)\b",
    r"(?i)\b(swell|swelling|swollen)\b[^.!?\n]{0,20}\b(throat|tongue)\b",
    r"(?i)\bchest (pain|pains|tightness|is tight)\b",
    r"(?i)\b(collapsed|passed out|fainted|unconscious|unresponsive|not responding|won'?t wake up|not waking up)\b",
    r"(?i)\b(seizure|seizures|seizing|convulsing|convulsions|fitting)\b",
    r"(?i)\b(vomiting|throwing up|coughing( up)?) blood\b",
    r"(?i)\bswallow(ed|ing)?\b[^.!?\n]{0,40}\b(battery|batteries|button cell|magnet|magnets|bleach|detergent|pod|chemical|drain cleaner|pills|tablets)\b",
    r"(?i)\b(battery|batteries|button cell|magnets?|detergent pod|laundry pod)\b[^.!?\n]{0,30}\bswallow",
    r"(?i)\b(is|he'?s|she'?s|they'?re|baby|child|kid|son|daughter)\b[^.!?\n]{0,20}\bchoking\b",
    r"(?i)\b(caught|catching|on|burst into) fire\b|\bin flames\b|\bflames (coming|shooting)\b",
    r"(?i)\banaphyla",
    r"(?i)\bcalled (911|999|112|an ambulance)\b|\b(ambulance|emergency room|the er)\b",
    // Spanish
    r"(?i)\bno (puede|puedo|podía|consigue) respirar\b|\bdificultad (para|al) respirar\b|\bse ahoga\b|\bse está ahogando\b",
    r"(?i)\b(garganta|lengua|labios)\b[^.!?\n]{0,30}\bhinchad[ao]s?\b|\bse (le|me) hincha\b",
    r"(?i)\bdolor (en el|de) pecho\b|\bconvulsi(ón|ones|onando)\b|\bdesmay(ó|ado|ada)\b|\binconsciente\b|\bno responde\b",
    r"(?i)\bvomit(a|ando|ó) sangre\b|\btrag(ó|o|ado)\b[^.!?\n]{0,40}\b(pila|bater[ií]a|imán|imanes|lej[ií]a|detergente|cápsula)\b",
    r"(?i)\b(se prendió|en llamas|se incendió|prendió fuego|empezó a arder)\b",
    // French
    r"(?i)\b(ne (peut|peux|pouvait) plus respirer|ne respire plus|du mal à respirer|difficultés? à respirer|s'étouffe)\b",
    r"(?i)\b(gorge|langue|lèvres)\b[^.!?\n]{0,30}\b(gonfl|enfl)",
    r"(?i)\bdouleur(s)? (à la|dans la) poitrine\b|\b(convulsions?|crise d'épilepsie)\b|\b(s'est évanouie?|inconsciente?|ne répond plus)\b",
    r"(?i)\bvomit\w* du sang\b|\bavalé\b[^.!?\n]{0,40}\b(pile|batterie|aimant|javel|lessive|capsule)\b",
    r"(?i)\b(a pris feu|en flammes|prend feu)\b",
    // German
    r"(?i)\b(kann|konnte) (nicht|kaum) (mehr )?atmen\b|\batemnot\b|\bbekommt keine luft\b|\berstickt\b",
    r"(?i)\b(hals|zunge|lippen)\b[^.!?\n]{0,30}\b(geschwollen|schwillt|schwellung)\b",
    r"(?i)\bbrustschmerz|\bschmerzen in der brust\b|\bkrampfanfall\b|\bkrämpfe\b|\bbewusstlos\b|\bohnmächtig\b|\breagiert nicht\b",
    r"(?i)\bblut erbrochen\b|\berbricht blut\b|\bverschluckt\b[^.!?\n]{0,40}\b(batterie|knopfzelle|magnet|bleiche|waschmittel)\b|\b(batterie|knopfzelle|magnet\w*)\b[^.!?\n]{0,40}\bverschluckt\b",
    r"(?i)\b(fing feuer|in flammen|brennt lichterloh|hat feuer gefangen)\b",
];

/// Figures of speech that use alarming words about nothing dangerous.
const FIGURE_OF_SPEECH_PATTERNS: &[&str] = &[
    r"(?i)\bdying (to|for|of curiosity|here|of boredom)\b",
    r"(?i)\b(killing|kills) me\b",
    r"(?i)\bheart attack\b[^.!?\n]{0,20}\b(lol|lmao|haha|😂)",
    r"(?i)\b(almost|nearly) had a heart attack\b",
    r"(?i)\b(patience|inbox|phone|wallet|budget|bank account)\b[^.!?\n]{0,15}\bon fire\b",
    r"(?i)\bfire (deal|sale|price|drop|collection)\b|\bthis is fire\b|\b(is|are) (straight )?fire\b",
    r"(?i)\bme muero (de|por) (ganas|curiosidad|aburrimiento)\b|\bmuero por saber\b",
    r"(?i)\bje meurs d'envie\b|\bmort d'ennui\b",
    r"(?i)\bich sterbe vor (neugier|langeweile)\b",
];

static EMERGENCY: LazyLock<RegexSet> = LazyLock::new(|| RegexSet::new(EMERGENCY_PATTERNS).expect("emergency patterns compile"));
static FIGURES: LazyLock<Vec<Regex>> =
    LazyLock::new(|| FIGURE_OF_SPEECH_PATTERNS.iter().map(|pattern| Regex::new(pattern).expect("figure patterns compile")).collect());

/// What the rules saw in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetySignals {
    /// An emergency phrase, outside any figure of speech.
    pub emergency: bool,
    /// A figure of speech with alarming words was found (and blanked out before matching).
    pub figure_of_speech: bool,
}

pub fn signals(text: &str) -> SafetySignals {
    let mut figure_of_speech = false;
    let mut cleaned = std::borrow::Cow::Borrowed(text);
    for figure in FIGURES.iter() {
        if figure.is_match(&cleaned) {
            figure_of_speech = true;
            cleaned = std::borrow::Cow::Owned(figure.replace_all(&cleaned, " ").into_owned());
        }
    }
    SafetySignals { emergency: EMERGENCY.is_match(&cleaned), figure_of_speech }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, emergency: bool, figure_of_speech: bool) {
        assert_eq!(signals(text), SafetySignals { emergency, figure_of_speech }, "{text}");
    }

    #[test]
    fn emergencies_in_four_languages() {
        check("my daughter can't breathe after taking the syrup", true, false);
        check("HIS THROAT IS SWELLING UP", true, false);
        check("my son swallowed one of the button batteries from the remote", true, false);
        check("the heater caught fire in the living room", true, false);
        check("mi hijo no puede respirar después de tomar el jarabe", true, false);
        check("elle ne peut plus respirer depuis la crème", true, false);
        check("mein Kind hat eine Knopfzelle verschluckt", true, false);
        check("sie ist bewusstlos", true, false);
    }

    #[test]
    fn figures_of_speech_are_not_emergencies() {
        check("I'm dying to know where my order is", false, true);
        check("this delay is killing me", false, true);
        check("nearly had a heart attack when I saw the price lol", false, true);
        check("my patience is on fire", false, true);
        check("where is my order #A10493?", false, false);
    }
}
