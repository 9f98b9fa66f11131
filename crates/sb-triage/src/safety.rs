//! Explicit safety rules that sit on top of the intent model.
//!
//! The model is good at the usual wording; these rules make sure the rare, costly cases are
//! never missed: emergency phrases in English, Spanish, French and German force the safety
//! queue with `urgent` severity, and figures of speech ("I'm dying to know…", "this delay is
//! killing me") are recognised first so they never trigger it.

use regex::{Regex, RegexSet};
use std::borrow::Cow;
use std::sync::LazyLock;

/// Phrases that mean an emergency is happening now (PRODUCT.md, severity `urgent`).
pub const EMERGENCY_PATTERNS: &[&str] = &[
    // English. Breathing.
    r"(?i)\b(can'?t|cannot|can not|couldn'?t|unable to|struggling to|hard to|trouble|difficulty|not able to|barely) ?(breathe|breathing)\b",
    r"(?i)\bshort(ness)? of breath\b|\b(stopped|not) breathing\b|\bgasping( for (air|breath))?\b|\b(can'?t|cannot|struggling to) (get|catch) (any |her |his |my )?(air|breath)\b",
    r"(?i)\b(lips?|face|he'?s|she'?s|is) (are |is )?(turning|going|gone) (blue|purple|grey)\b",
    // Throat or tongue swelling.
    r"(?i)\b(throat|tongue|lips?|face|airway)\b[^.!?\n]{0,30}\b(swell|swelling|swollen|closing|closing up|tight|tightening)\b",
    r"(?i)\b(swell|swelling|swollen)\b[^.!?\n]{0,20}\b(throat|tongue)\b",
    // Chest pain, heart attack, stroke.
    r"(?i)\bchest (pain|pains|tightness|is tight|hurts|is hurting|feels tight)\b|\bmy chest (hurts|is hurting|has been hurting|feels tight)\b|\bpain in (my|his|her) chest\b",
    r"(?i)\b(having|had|is having) a (heart attack|stroke)\b",
    // Collapse, unresponsiveness.
    r"(?i)\b(collapsed|passed out|fainted|unconscious|unresponsive|won'?t wake up|not waking up|can'?t wake (him|her|them)|barely responding)\b|\bmade (me|him|her) collapse\b",
    r"(?i)\b(he|she|they|baby|child|kid|son|daughter|husband|wife|dad|mum|mom|father|mother)('?s| is| was| isn'?t| wasn'?t)? not (responding|reacting)\b",
    // Seizure.
    r"(?i)\b(seizure|seizures|seizing|convulsing|convulsions)\b|\b(having|had) a fit\b",
    // Vomiting blood.
    r"(?i)\b(vomiting|throwing up|threw up|coughing( up)?|vomited) blood\b|\bblood in (his|her|my) (vomit|sick)\b",
    // A child (or anyone) swallowing a battery, magnet or chemical.
    r"(?i)\bswallow(ed|ing)?\b[^.!?\n]{0,40}\b(battery|batteries|button cell|magnet|magnets|bleach|detergent|pod|chemical|drain cleaner|oven cleaner|pills|tablets)\b",
    r"(?i)\b(battery|batteries|button cell|magnets?|detergent pod|laundry pod)\b[^.!?\n]{0,30}\bswallow",
    r"(?i)\b(drank|drunk|drinking|ate|eaten|eating|licked|bit into|bitten into|chewed|sucked on|got into)\b[^.!?\n]{0,40}\b(bleach|oven cleaner|drain cleaner|cleaner|detergent|dishwasher (tablet|pod)s?|laundry (pod|capsule|tablet)s?|liquitabs?|antifreeze|lamp oil|e-?liquid|vape liquid|weed ?killer|paint thinner|button (cell|batter(y|ies))|batter(y|ies)|magnets?|pills|tablets|paracetamol|ibuprofen|medicine)\b",
    // Choking.
    r"(?i)\b(is|he'?s|she'?s|they'?re|baby|child|kid|son|daughter|toddler)\b[^.!?\n]{0,20}\bchoking\b|\bstuck in (his|her|their|my) (throat|windpipe)\b",
    // Fire.
    r"(?i)\b(caught|catching|on|burst into) fire\b|\bin flames\b|\bflames (coming|shooting)\b",
    // Anaphylaxis, emergency services.
    r"(?i)\banaphyla|\bepi-?pen\b",
    r"(?i)\bcalled (911|999|112|an ambulance|the fire (brigade|department))\b|\b(ambulance|emergency room|the er|fire brigade|fire department)\b",
    // Spanish.
    r"(?i)\bno (puede|puedo|podía|consigue|respira)( respirar)?\b|\b(le|me) cuesta respirar\b|\bdificultad (para|al) respirar\b|\bse ahoga\b|\bse está ahogando\b|\blabios (morados|azules)\b",
    r"(?i)\b(garganta|lengua|labios)\b[^.!?\n]{0,30}\bhinch(ad[ao]s?|ando|a)\b|\bse (le|me) (está )?(hincha|hinchando)\b|\bse (le|me) cierra la garganta\b",
    r"(?i)\bdolor\b[^.!?\n]{0,25}\b(en el|de|del) pecho\b|\bme duele (mucho )?el pecho\b|\bconvulsi(ón|ones|onando)\b|\bataque epil[eé]ptico\b|\bdesmay(ó|ado|ada)\b|\bperdi[oó] el conocimiento\b|\binconsciente\b",
    r"(?i)\b(niñ[oa]|beb[eé]|hij[oa]|marido|mujer|padre|madre|él|ella)\b[^.!?\n]{0,20}\bno (responde|reacciona)\b",
    r"(?i)\b(se ha bebido|se bebió|bebió|ha bebido|ha mordido|mordió|se ha comido|se comió|ha chupado)\b[^.!?\n]{0,40}\b(lej[ií]a|detergente|pastillas? (del|de) lavavajillas|c[aá]psulas? de (detergente|lavadora)|limpiahornos|desatascador|anticongelante|pilas?|imanes|pastillas|medicamentos?)\b",
    r"(?i)\bvomit(a|ando|ó) sangre\b|\btrag(ó|o|ado)\b[^.!?\n]{0,40}\b(pila|bater[ií]a|imán|imanes|lej[ií]a|detergente|cápsula)\b|\bse (está )?atragant(a|ando|ó)\b",
    r"(?i)\b(se prendió|en llamas|se incendió|prendió fuego|empezó a arder|está ardiendo|salen llamas)\b|\b(ambulancia|bomberos)\b|\banafilaxia\b",
    // French.
    r"(?i)\b(ne (peut|peux|pouvait) plus respirer|ne respire plus|du mal à respirer|difficultés? à respirer|s'étouffe|lèvres bleues)\b",
    r"(?i)\b(gorge|langue|lèvres)\b[^.!?\n]{0,30}\b(gonfl|enfl)|\bgorge qui se (serre|ferme)\b",
    r"(?i)\bdouleur(s)? (à la|dans la) poitrine\b|\bmal (à|dans) la poitrine\b|\b(convulsions?|crise d'épilepsie|convulse)\b|\b(s'est évanouie?|perdu connaissance|inconsciente?)\b",
    r"(?i)\b(il|elle|mon fils|ma fille|le bébé|mon mari|ma femme|mon père|ma mère)\b[^.!?\n]{0,20}\bne (répond|réagit) plus\b",
    r"(?i)\b(a bu|a aval[ée]|a mang[ée]|a croqu[ée]|a mordu|a l[ée]ch[ée]|a suc[ée])\b[^.!?\n]{0,40}\b(javel|d[ée]tergent|pastilles? (pour|de) lave-vaisselle|capsules? de lessive|lessive|nettoyant|d[ée]boucheur|antigel|piles?|aimants?|m[ée]dicaments?|comprim[ée]s)\b",
    r"(?i)\bvomi\w* du sang\b|\bavalé\b[^.!?\n]{0,40}\b(pile|batterie|aimant|javel|lessive|capsule)\b",
    r"(?i)\b(a pris feu|en flammes|prend feu|est en feu)\b|\b(samu|ambulance|pompiers)\b|\banaphyla",
    // German.
    r"(?i)\b(kann|konnte) (nicht|kaum) (mehr )?atmen\b|\batemnot\b|\b(bekommt|kriegt|bekomme|kriege) (keine|kaum) luft\b|\berstickt\b|\bblaue lippen\b",
    r"(?i)\b(hals|zunge|lippen)\b[^.!?\n]{0,30}\b(geschwollen|schwillt|schwellen|schwellung)\b",
    r"(?i)\bbrustschmerz|\bschmerzen in der brust\b|\bengegef[üu]hl in der brust\b|\bkrampfanfall\b|\bbewusstlos\b|\bohnm[äa]chtig\b|\bzusammengebrochen\b",
    r"(?i)\b(er|sie|mein sohn|meine tochter|das baby|das kind|mein mann|meine frau)\b[^.!?\n]{0,20}\breagiert (nicht|kaum)( mehr)?\b",
    r"(?i)\b(getrunken|gegessen|abgebissen|gebissen|angebissen|gelutscht|geleckt)\b[^.!?\n]{0,40}\b\w*(bleiche|reiniger|waschmittel|sp[üu]lmaschinentabs?|tabs?|frostschutz|lampen[öo]l|batterie|knopfzelle|magnete?|tabletten|medikamente?)\b|\b\w*(sp[üu]lmaschinentab|waschmittelkapsel|knopfzelle|tabletten|reiniger|bleiche|lampen[öo]l|frostschutz)\w*\b[^.!?\n]{0,40}\b(getrunken|gegessen|abgebissen|gebissen|angebissen)\b",
    r"(?i)\bblut erbrochen\b|\berbricht blut\b|\berbreche blut\b|\bschn[üu]rt (es |mir )?(mir |es )?den hals zu\b|\bhals (ist |wird )?(wie )?zugeschn[üu]rt\b|\bverschluckt\b[^.!?\n]{0,40}\b(batterie|knopfzelle|magnet|bleiche|waschmittel)\b|\b(batterie|knopfzelle|magnet\w*)\b[^.!?\n]{0,40}\bverschluckt\b",
    r"(?i)\b(fing feuer|in flammen|brennt lichterloh|hat feuer gefangen)\b|\b(notarzt|krankenwagen|rettungswagen|feuerwehr)\b|\banaphyla",
    // Portuguese (the corpus has a few messages): chest pain, breathing, unconscious.
    r"(?i)\bdor\b[^.!?\n]{0,25}\b(no|do) peito\b|\bn[ãa]o consegue respirar\b|\binconsciente\b|\bvomit\w* sangue\b",
];

/// Figures of speech that use alarming words about nothing dangerous.
pub const FIGURE_OF_SPEECH_PATTERNS: &[&str] = &[
    // English
    r"(?i)\bdying (to|for|of (curiosity|boredom|laughter|embarrassment)|here|laughing|inside)\b",
    r"(?i)\b(killing|kills|killed) me\b",
    r"(?i)\bheart attack\b[^.!?\n]{0,20}\b(lol|lmao|haha|😂)",
    r"(?i)\b(almost|nearly) (had|gave me) a heart attack\b|\bgave me a (mini |small )?heart attack\b",
    r"(?i)\b(patience|inbox|phone|wallet|budget|bank account)\b[^.!?\n]{0,15}\bon fire\b",
    r"(?i)\bfire (deal|sale|price|drop|collection)\b|\bthis is fire\b|\b(is|are) (straight |absolute |pure )?fire\b",
    r"(?i)\b(price|prices|pricing|fee|fees|charge|charges|cost|this|that|it)\b[^.!?\n]{0,15}\b(is|are|'s) (a |an )?(crime|criminal|daylight robbery|robbery|extortion)\b",
    r"(?i)\bburning question\b",
    r"(?i)\b(price|prices|prix|precios?|preise?|costs?|tarifs?)\b[^.!?\n]{0,20}\b(exploded|skyrocketed|explos[ée]s?|ont explos[ée]|se han disparado|explotado|explodiert|sind explodiert)\b",
    r"(?i)\b(customer service|service|company|attitude|prices?|culture)\b[^.!?\n]{0,15}\b(is|are) (so |really |just )?toxic\b",
    r"(?i)\b(i'?m|i am) (literally |actually )?(dead|deceased|crying)\b[^.!?\n]{0,10}(😂|🤣|lol|lmao|haha)",
    r"(?i)\bshocked (at|by) (the |your )?(price|prices|cost|service|delay|wait|way|rudeness|attitude|state)\b|\bshocked at how\b|\bshocking (service|prices|customer service)\b",
    r"(?i)\bsick (of|and tired)\b",
    r"(?i)\b(makes|made) my blood boil\b|\bsaved my life\b|\b(slaps|slapped)\b",
    // Spanish
    r"(?i)\bme muero (de|por) (ganas|curiosidad|aburrimiento|risa|verg[üu]enza)\b|\bmuero por saber\b",
    r"(?i)\b(me estoy|estoy|me estaba) muriendo de (aburrimiento|risa|ganas|curiosidad)\b|\bmuert[oa] de (risa|aburrimiento)\b",
    r"(?i)\b(precio|precios|ofertas?)\b[^.!?\n]{0,30}\bme mata(n)?\b|\bes un (robo|crimen|atraco)\b",
    // French
    r"(?i)\bje meurs d'envie\b|\bmort(e)? d'ennui\b|\bmort(e)? de rire\b|\bje meurs de (curiosit[ée]|rire|faim)\b",
    r"(?i)\bc'est (du vol|un crime|du racket)\b|\b[çc]a me tue\b",
    // German
    r"(?i)\bich sterbe vor (neugier|langeweile|vorfreude|lachen)\b",
    r"(?i)\b(ist|sind) (ja )?(wucher|ein verbrechen|kriminell)\b|\bbringt mich (noch )?um\b|\btotgelacht\b",
];

/// Matched against folded text (see [`crate::cues::fold`]: the fast regex engines then apply).
static EMERGENCY: LazyLock<RegexSet> = LazyLock::new(|| crate::cues::folded_set(EMERGENCY_PATTERNS));
static FIGURES: LazyLock<Vec<Regex>> =
    LazyLock::new(|| FIGURE_OF_SPEECH_PATTERNS.iter().map(|pattern| Regex::new(pattern).expect("figure patterns compile")).collect());
/// Every figure of speech at once, on folded text: most messages have none, and this answers
/// that in one fast pass before any pattern runs on the original text.
static ANY_FIGURE: LazyLock<RegexSet> = LazyLock::new(|| crate::cues::folded_set(FIGURE_OF_SPEECH_PATTERNS));

/// What the rules saw in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetySignals {
    /// An emergency phrase, outside any figure of speech.
    pub emergency: bool,
    /// A figure of speech with alarming words was found (and blanked out before matching).
    pub figure_of_speech: bool,
}

/// The text with every figure of speech blanked out: what the emergency rules and the safety
/// gate read, so "I'm dying to know" never counts as "dying".
pub fn without_figures_of_speech(text: &str) -> Cow<'_, str> {
    // Folding keeps every match (accents dropped on both sides), so no match here means none
    // in the original either.
    if !ANY_FIGURE.is_match(&crate::cues::fold(text)) {
        return Cow::Borrowed(text);
    }
    let mut cleaned = Cow::Borrowed(text);
    for figure in FIGURES.iter() {
        if figure.is_match(&cleaned) {
            cleaned = Cow::Owned(figure.replace_all(&cleaned, " ").into_owned());
        }
    }
    cleaned
}

pub fn signals(text: &str) -> SafetySignals {
    signals_of_blanked(&without_figures_of_speech(text))
}

/// [`signals`] of a text already passed through [`without_figures_of_speech`] (owned when a
/// figure of speech was blanked).
pub fn signals_of_blanked(blanked: &Cow<'_, str>) -> SafetySignals {
    SafetySignals { emergency: EMERGENCY.is_match(&crate::cues::fold(blanked)), figure_of_speech: matches!(blanked, Cow::Owned(_)) }
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
        check("my toddler bit into a dishwasher tablet and is drooling", true, false);
        check("mi niña ha mordido una pastilla del lavavajillas", true, false);
        check("ma fille a croqué une pastille pour lave-vaisselle", true, false);
        check("meine Kleine hat auf einen Spülmaschinentab gebissen", true, false);
        check("my chest has been hurting since I drank it", true, false);
        check("me duele mucho el pecho desde que lo tomé", true, false);
        check("j'ai mal à la poitrine depuis ce matin", true, false);
        check("ich habe ein Engegefühl in der Brust", true, false);
        check("my son is not responding after the tablets", true, false);
        check("mi hijo no responde después del jarabe", true, false);
        check("mon fils ne répond plus depuis le sirop", true, false);
        check("mein Sohn reagiert nicht mehr", true, false);
        // Found by cross-validation on the training split (`eval-triage --cross-validate`):
        // German compounds, words between "dolor" and "pecho", the present tense of "vomir",
        // fire services, Portuguese.
        check("Unser Sohn (2) hat Rohrreiniger getrunken, der Verschluss ging auf", true, false);
        check("sie hat Lampenöl aus der Gartenfackel getrunken und hustet", true, false);
        check("Der Akku brennt im Treppenhaus, die Feuerwehr ist alarmiert", true, false);
        check("tiene un dolor muy fuerte en el pecho desde que tomó las cápsulas", true, false);
        check("je vomis du sang depuis trois jours", true, false);
        check("the charger melted and we called the fire brigade", true, false);
        check("o meu marido está com uma dor forte no peito", true, false);
    }

    #[test]
    fn alarming_words_about_things_are_not_emergencies() {
        check("your website is not responding", false, false);
        check("la web no responde", false, false);
        check("le site ne répond plus", false, false);
        check("die Seite reagiert nicht", false, false);
        check("the lid isn't fitting properly", false, false);
        check("Bauchkrämpfe nach dem Essen", false, false);
        check("der Rohrreiniger hat nichts gebracht, das Waschbecken ist immer noch verstopft", false, false);
        check("j'ai vomi hier soir, est-ce lié au complément ?", false, false);
    }

    #[test]
    fn figures_of_speech_are_not_emergencies() {
        check("I'm dying to know where my order is", false, true);
        check("this price is a crime", false, true);
        check("burning question: does the basket go in the dishwasher?", false, true);
        check("me estoy muriendo de aburrimiento esperando el pedido", false, true);
        check("estos precios me matan", false, true);
        check("vos prix, c'est du vol", false, true);
        check("je meurs de curiosité, où est mon colis ?", false, true);
        check("die Preise sind Wucher", false, true);
        check("ich sterbe vor Neugier, wo ist mein Paket?", false, true);
        check("this delay is killing me", false, true);
        check("nearly had a heart attack when I saw the price lol", false, true);
        check("my patience is on fire", false, true);
        check("where is my order #A10493?", false, false);
    }
}
