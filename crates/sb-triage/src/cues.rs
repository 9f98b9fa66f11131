//! Safety cues: families of words and phrases, in English, Spanish, French and German, that
//! PRODUCT.md's safety definitions turn on (symptoms, injuries, hazards, contamination,
//! medication and label errors, expiry, recalls, data-protection requests, account
//! compromise). They are not rules: a cue adds a marker word to the text the gates read, so
//! the models learn one weight per family from every language and wording at once, instead
//! of one per surface form. "Does the body butter contain nuts? My son has an allergy" and
//! "the body butter gave my son hives" share words; only the second has a symptom cue.

use regex::RegexSet;
use std::borrow::Cow;
use std::sync::LazyLock;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// A family of cues and the marker word it adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cue {
    Symptom,
    Injury,
    Hazard,
    Contamination,
    MedicationOrLabel,
    Expiry,
    Recall,
    DataRights,
    AccountCompromise,
}

impl Cue {
    pub const ALL: [Cue; 9] =
        [Cue::Symptom, Cue::Injury, Cue::Hazard, Cue::Contamination, Cue::MedicationOrLabel, Cue::Expiry, Cue::Recall, Cue::DataRights, Cue::AccountCompromise];

    /// The marker word: one token, unlike any word of the four languages.
    pub fn marker(self) -> &'static str {
        match self {
            Cue::Symptom => "zzcuesymptom",
            Cue::Injury => "zzcueinjury",
            Cue::Hazard => "zzcuehazard",
            Cue::Contamination => "zzcuecontamination",
            Cue::MedicationOrLabel => "zzcuemedlabel",
            Cue::Expiry => "zzcueexpiry",
            Cue::Recall => "zzcuerecall",
            Cue::DataRights => "zzcuedatarights",
            Cue::AccountCompromise => "zzcuecompromise",
        }
    }

    /// Patterns that cancel the cue: the same words used about something else (an expired
    /// promo code is not expired food).
    fn unless(self) -> &'static [&'static str] {
        match self {
            Cue::Expiry => EXPIRY_UNLESS,
            Cue::Injury => INJURY_UNLESS,
            _ => &[],
        }
    }

    fn patterns(self) -> &'static [&'static str] {
        match self {
            Cue::Symptom => SYMPTOM,
            Cue::Injury => INJURY,
            Cue::Hazard => HAZARD,
            Cue::Contamination => CONTAMINATION,
            Cue::MedicationOrLabel => MEDICATION_OR_LABEL,
            Cue::Expiry => EXPIRY,
            Cue::Recall => RECALL,
            Cue::DataRights => DATA_RIGHTS,
            Cue::AccountCompromise => ACCOUNT_COMPROMISE,
        }
    }
}

const SYMPTOM: &[&str] = &[
    // English
    r"(?i)\b(rash|rashes|hives|welts|itch|itchy|itching|itches|swell|swelled|swelling|swollen|puffy|blisters?|blistering|redness|red (patches|blotches|bumps|spots)|burning sensation|stinging|stings|(face|skin|eyes?|scalp) (started to |to )?(burn|sting)|burn and go red|headaches?|migraines?|dizzy|dizziness|light-?headed|nause(a|ous|ated)|vomit\w*|threw up|throwing up|been sick|was sick|diarrh(o)?ea|stomach (ache|pain|cramps?|upset)|tummy (ache|pain)|cramps|palpitations|heart (racing|pounding)|racing heart|breakout|broke (me )?out|breaking out|pimples|spots all over|(felt|feel|feeling|felt really) (ill|sick|unwell|rough|groggy|foggy)|groggy|foggy|(dark|black|bloody) (stool|stools|poo|pee|urine)|hair (is )?(falling out|loss)|allergic reaction|reaction|side effects?|numb(ness)?|tingl\w+|(skin|lips?|face|hands?|scalp) (is |are )?(peeling|flaking|cracked|raw)|peeling skin|eczema|flared up|flare-?up|wheez\w*|fever|jittery|insomnia|bleeding|bled|sore (throat|gums|eyes|skin|mouth|paws)|eyes? (are )?(watering|streaming|burning)|sneez\w+|coughing|breathing|breathe|short of breath|limping|lethargic)\b",
    // Spanish
    r"(?i)\b(sarpullido|erupci[oó]n|ronchas|picor|picaz[oó]n|me pica|le pica|hinchaz[oó]n|hinchad[oa]s?|se me hinch\w+|ampollas?|enrojecimiento|rojez|rojeces|escozor|me escuece|dolor(es)? de (cabeza|est[oó]mago|barriga|tripa)|mareos?|maread[oa]|n[aá]useas|v[oó]mit\w*|diarrea|palpitaciones|reacci[oó]n|efectos? secundarios?|granos|granitos|heces (m[aá]s )?(oscuras|negras)|me encuentro mal|se me cae el pelo|sangr(a|ado|ando|e)|me arde|quemaz[oó]n|fiebre|respirar|somnolencia|insomnio|cojea)\b",
    // French
    r"(?i)\b([ée]ruption|boutons|plaques rouges|rougeurs?|d[ée]mangeaisons?|[çc]a gratte|gonfl[ée]e?s?|enfl[ée]e?s?|gonflement|cloques?|[çc]a br[uû]le|[çc]a pique|picotements?|mal de t[êe]te|maux de t[êe]te|migraines?|vertiges?|[ée]tourdi\w*|naus[ée]es?|vomi\w*|diarrh[ée]e|maux? de ventre|mal au ventre|mal [àa] l'estomac|crampes|palpitations|r[ée]action|effets? secondaires?|saign\w+|crevass\w+|selles (plus )?(noires|fonc[ée]es)|chute de cheveux|fi[èe]vre|tousse|respirer|somnolen\w+|insomnie|boite)\b",
    // German
    r"(?i)\b(ausschlag|quaddeln|nesselsucht|juckt|juckreiz|geschwollen|schwellung|bl[äa]schen|blasen|r[öo]tung|ger[öo]tet|brennt|brennen|kopfschmerz\w*|migr[äa]ne|schwindel\w*|[üu]belkeit|mir ist [üu]bel|erbroch\w*|erbrechen|[üu]bergeben|durchfall|bauchschmerz\w*|magenschmerz\w*|bauchkr[äa]mpfe|kr[äa]mpfe|herzrasen|herzklopfen|reaktion|nebenwirkung\w*|pickel|haarausfall|stuhl (ist )?(dunkler|schwarz)|blutet|blutung|fieber|husten|atmen|m[üu]der|schlaflos\w*|humpelt)\b",
];

const INJURY: &[&str] = &[
    r"(?i)\b(burn(ed|t|s)? (my|his|her|their|our)|burned me|burnt me|scald(ed|s)?|blistered|cut (my|his|her)|sliced|gash|injur(ed|y|ies)|hurt (my|his|her|him|herself|himself|myself|me)|bruis\w+|(chipped|broke|cracked) (a|my|his|her) tooth|electric shock|shocked me|gave (me|him|her) a shock|got a shock|stitches|a&e|emergency room|hospital|doctor|vet|poison\w*|stung|trapped (his|her|my) finger|fell (off|through|over)|came off|grazed|sprained|concussion|(dog|cat|pet|hamster|rabbit|fish|bird|budgie|puppy|kitten|tortoise|guinea pig)\b[^.!?\n]{0,30}\b(died|dead|passed away)|(nasty|bad|small|an electric) shock|shocked by|got shocked)\b",
    r"(?i)\b(me quem[eéó]|se quem[oó]|quemadura|me cort[eé]|se cort[oó]|corte profundo|herid[oa]|quemaduras|me hice da[ñn]o|se hizo da[ñn]o|puntos de sutura|me ca[ií]|rodilla abierta|herida abierta|(perro|gato|mascota|h[aá]mster|conejo|pez)\b[^.!?\n]{0,30}\b(muri[oó]|muerto|ha muerto)|descarga el[eé]ctrica|me dio (la )?corriente|calambrazo|m[eé]dic[oa]|urgencias|veterinari[oa]|hospital|intoxicaci[oó]n|envenen\w+|diente roto)\b",
    r"(?i)\b(br[uû]l[ée]e?|br[uû]lure|coup[ée]e? (au|à la|le|la)|coupure|bless[ée]e?|blessure|d[ée]charge [ée]lectrique|m[ée]decin|urgences|v[ée]t[ée]rinaire|h[ôo]pital|intoxication|empoisonn\w+|dent cass[ée]e|points de suture|entaill\w+|(chien|chat|hamster|lapin|poisson)\b[^.!?\n]{0,30}\b(est mort|morte?|d[ée]c[ée]d[ée]e?)|suis tomb[ée]e?)\b",
    r"(?i)\b(verbrannt|verbr[üu]ht|verbrennung\w*|geschnitten|schnittwunde|verletzt|verletzung\w*|stromschlag|gewischt|[äa]rzt\w*|notaufnahme|notarzt|tierarzt|krankenhaus|klinik|vergiftung|vergiftet|ver[äa]tzt|ver[äa]tzung\w*|zahn abgebrochen|gen[äa]ht|(hund|katze|hamster|kaninchen|fisch)\b[^.!?\n]{0,30}\b(gestorben|tot|verstorben)|gest[üu]rzt|umgekippt)\b",
];

const HAZARD: &[&str] = &[
    r"(?i)\b(smok(e|ing|ed)|sparks?|sparking|sparked|overheat\w*|too hot to (touch|hold)|red hot|melt(ed|ing)|burning smell|smells? (of )?burn\w*|smell of (gas|burning)|explod\w*|swollen battery|battery (is )?(swollen|bulging|leaking)|bulging|exposed wires?|short circuit\w*|fire|flames?|scorch\w*|choking hazard|small parts|sharp (edge|edges|point)|hazard\w*|dangerous|unsafe|not safe|carbon monoxide|toxic (fumes|smell|chemicals?|to)|tastes? (of|like) (petrol|gas|diesel|chemicals|bleach|soap|plastic)|smells? (of|like) gas|gas smell|(dog|cat|puppy|kitten|pet)\b[^.!?\n]{0,15}\b(is|was|got|has been|became) (really |very )?(sick|ill|unwell)|is (it|this|that) (toxic|safe)|lead paint|live (wire|casing)|brakes? failed|failed (while|when|going)|tip(ped|s)? (over|backwards|forwards)|collapsed|snapped while|came apart while|came off while|fell apart while|entrapment|(cap|lid|lock)\b[^.!?\n]{0,30}\b(doesn'?t|won'?t|does not|will not) (lock|click|close))\b",
    r"(?i)\b(humo|echa humo|chispas?|se calienta (mucho|demasiado)|sobrecalienta\w*|derreti\w+|derriti\w+|olor a quemado|huele a quemado|explot\w+|bater[ií]a hinchada|cables? pelados?|cortocircuito|fuego|llamas|peligros[oa]|insegur[oa]|t[oó]xic[oa]|se volc[oó]|no cierra bien|huele a gas|olor a gas|(perro|gato|mascota)\b[^.!?\n]{0,15}\b(est[aá]|se puso|se ha puesto) (muy )?malo)\b",
    r"(?i)\b(fum[ée]e|fume|[ée]tincelles?|surchauffe\w*|fondu|odeur de br[uû]l[ée]|sent le br[uû]l[ée]|explos\w+|batterie gonfl[ée]e|fils? d[ée]nud[ée]s?|court-circuit|pris feu|prend feu|en feu|flammes|dangereu\w+|toxique|s'est renvers[ée]e?|ne se verrouille pas|sent le gaz|odeur de gaz|(chien|chat)\b[^.!?\n]{0,15}\b(est|a [ée]t[ée]) (tr[èe]s )?malade)\b",
    r"(?i)\b(rauch|raucht|qualmt|funken|[üu]berhitz\w*|wird (sehr|extrem|zu) hei(ß|ss)|geschmolzen|schmilzt|riecht verbrannt|brandgeruch|explodiert|aufgebl[äa]ht\w*|kabel (liegt |liegen )?blank|kurzschluss|feuer|flammen|gef[äa]hrlich|giftig|kippt|rastet nicht ein|riecht nach gas|gasgeruch|(hund|katze)\b[^.!?\n]{0,15}\b(ist|war) (sehr )?krank)\b",
];

const CONTAMINATION: &[&str] = &[
    r"(?i)\b(mou?ld(y)?|contaminat\w+|insects?|maggots?|worms?|weevils?|droppings|hair in|glass in|piece of (glass|metal|plastic)|metal (piece|shard|wire)|screw in|foreign (object|body)|rotten|off smell|smells? off|tastes? (off|weird|strange|of chemicals)|went off|bloated (pack|tin|can)|blown (tin|can))\b",
    r"(?i)\b(moho|enmohecid[oa]|contaminad[oa]|insectos?|bichos?|gusanos?|pelo en|(trozos?|pedazos?|restos) de (cristal|vidrio|metal|pl[aá]stico)|cristales en|podrid[oa]|huele (mal|raro)|sabe (raro|mal))\b",
    r"(?i)\b(moisi\w*|moisissure|contamin[ée]e?|insectes?|cheveu dans|morceaux? de (verre|m[ée]tal|plastique)|[ée]clat de (verre|m[ée]tal)|verre dans|pourri\w*|sent (mauvais|bizarre)|go[uû]t (bizarre|[ée]trange))\b",
    r"(?i)\b(schimmel\w*|verunreinigt|insekten|k[äa]fer|maden|w[üu]rmer|haar im|glassplitter|glasscherbe\w*|metallst[üu]ck|plastikst[üu]ck|st[üu]ck (blaues |hartes |scharfes )?(plastik|glas|metall)|verdorben|verfault|verschimmelt|riecht (komisch|seltsam|schlecht)|schmeckt (komisch|seltsam))\b",
];

const MEDICATION_OR_LABEL: &[&str] = &[
    r"(?i)\b(say|says|said|states|shows|lists|listed)\b[^.!?\n]{0,80}\bbut\b[^.!?\n]{0,60}\b(say|says|said|states|shows|lists|label|packaging|box|tag|sticker|leaflet|website|site|listing)\b",
    r"(?i)\b(doesn'?t|does not|didn'?t|did not) (mention|list|say|show)\b[^.!?\n]{0,60}\bbut\b|\ballergen (box|info|information|list|statement|warning|advice)\b|\bno english\b|\bonly in (another|a foreign) language\b",
    r"(?i)\b(tablets|pills|capsules|medicine|medication)\b[^.!?\n]{0,30}\blooks? different\b|\bthe pharmacy (gave|sent|made a mistake|mixed up)|\bla farmacia (se equivoc[oó]|me dio)|\bla pharmacie s'est tromp[ée]e|\bdie apotheke hat (sich vertan|mir (das )?falsche)|\b(tabletten|kapseln)\b[^.!?\n]{0,30}\bsehen anders aus\b|\brichtige[sn]? medikament\b",
    r"(?i)\b(on|in) the (website|site|listing|box|label|packaging|tag|leaflet|sticker)\b[^.!?\n]{0,60}\bbut\b",
    r"(?i)\b(wrong (medication|medicine|pills?|tablets?|dose|dosage|strength|prescription|drug)|mislabel\w*|label (says|said|states|shows)|box (says|said)|leaflet (says|said)|packaging (says|said)|doesn'?t match|does not match|different (dose|strength|dosage)|dosage|undeclared|not (listed|declared|on the label)|tamper\w*|seal (was |is )?(broken|missing|open)|(tablets|pills|capsules) look different|different (brand|colou?r|shape) (than|from|to) (usual|normal|before)|right medication|is (it|this) safe for|safe to (take|use|give)|safety seal|child-?(resistant|proof)|leaflet missing|no (instructions|leaflet))\b",
    r"(?i)\b(medicamento (equivocado|incorrecto)|pastillas equivocadas|dosis|posolog[ií]a|la etiqueta (dice|pone|indica)|la caja (dice|pone)|no coincide|precinto (roto|abierto)|sin prospecto)\b",
    r"(?i)\b(mauvais (m[ée]dicament|comprim[ée]s|dosage)|posologie|dosage|l'[ée]tiquette (indique|dit)|la bo[iî]te (indique|dit)|ne correspond pas|opercule|scell[ée] (cass[ée]|ouvert)|sans notice)\b",
    r"(?i)\b(falsche[snmr]? (medikament|tabletten|dosis|dosierung|st[äa]rke)|dosierung|dosis|etikett\w*|packungsbeilage|beipackzettel|stimmt nicht [üu]berein|siegel|versiegelung|kindersicher\w*)\b",
];

const EXPIRY: &[&str] = &[
    r"(?i)\b(expired|expiry|expiration|out of date|best before|use by|past (its|the) date|sell by)\b",
    r"(?i)\b(caducad[oa]s?|caducidad|consumir preferentemente|fecha de consumo)\b",
    r"(?i)\b(p[ée]rim[ée]e?s?|p[ée]remption|dluo|dlc|[àa] consommer de pr[ée]f[ée]rence)\b",
    r"(?i)\b(abgelaufen\w*|ablaufdatum|mhd|mindesthaltbarkeit\w*|verfallsdatum|verfallen)\b",
];

const EXPIRY_UNLESS: &[&str] = &[
    r"(?i)\b(link|code|voucher|coupon|promo\w*|discount|points|password|session|offer|token|gift ?card|card|subscription|membership|passport|enlace|c[oó]digo|cup[oó]n|tarjeta|puntos|oferta|lien|bon|carte|abonnement|gutschein\w*|karte|punkte|angebot|rabatt\w*|passwort)\b[^.!?\n]{0,40}\b(expired|expir\w+|out of date|caducad\w*|caduca\w*|p[ée]rim\w*|expir\w*|abgelaufen\w*|verfallen|verf[äa]llt)\b",
    r"(?i)\b(expired|out of date|caducad\w*|p[ée]rim\w*|abgelaufen\w*|verfallen)\b[^.!?\n]{0,30}\b(link|code|voucher|coupon|promo\w*|points|password|card|tarjeta|puntos|carte|points|gutschein\w*|karte|punkte)\b",
];

const INJURY_UNLESS: &[&str] = &[
    r"(?i)\b(nobody|no one|no-one|noone)\b[^.!?\n]{0,20}\b(hurt|injured|cut)\b|\bnadie\b[^.!?\n]{0,20}\b(herid|cort|da[ñn]o)|\bpersonne\b[^.!?\n]{0,20}\b(bless|coup)|\b(verletzt hat sich niemand|niemand\b[^.!?\n]{0,20}\bverletzt)",
];

const RECALL: &[&str] = &[
    r"(?i)\b(recall\w*|safety (notice|alert|warning)|batch (number|code)|lot number|withdrawn from sale)\b",
    r"(?i)\b(retirada del mercado|afectad[oa]s? por la retirada|la retirada|retirad[oa]s? (del mercado|de la venta)|alerta sanitaria|n[uú]mero de lote|lote)\b",
    r"(?i)\b(rappel\w*|rappel[ée]e?s?|num[ée]ro de lot)\b",
    r"(?i)\b(r[üu]ckruf\w*|zur[üu]ckgerufen|chargennummer|chargen-nr)\b",
];

const DATA_RIGHTS: &[&str] = &[
    r"(?i)\b(gdpr|ccpa|dpo|data protection|personal data|my data|what data|data you (hold|have|keep|store|collect)|delete (all )?(of )?my (data|account|information|details|records|history)|erase|erasure|right to be forgotten|subject access|access request|do not sell|sell my|selling my|sharing my|share my (data|details|information)|(to|with) third part(y|ies)|consent|opt(ed)? out of (the )?(sale|sharing|profiling)|tracking (pixel|cookies|me)|track(ing)? my (location|browsing)|cookie (banner|consent|settings)|cctv|camera footage|recording me|recorded|privacy|(data|security) (breach|leak)|in the leak|retention|profiling|automated decision\w*|what (data |information )?you (record|collect|store|keep|know|hold)|sell(ing)? (my|customer|customers'?) (data|email|details|information|number|address)|(personali[sz]ed|targeted) (ads|advertising|marketing)|(have|hold|keep|store|know) (about|on) me|correct(ion of)? my (data|date of birth|records?|details in your records)|track(ing)? (everything|what) i (buy|do)|(remove|delete|erase|wipe) (my|all) [^.!?\n]{0,40}from your (system|systems|records|database|servers)|(delete|erase|remove) everything you (have|hold|keep)|erased|recordings? of (my|me|our)|my location|stop (using|storing|sharing|tracking) my)\b",
    r"(?i)\b(rgpd|lopd|protecci[oó]n de datos|datos personales|mis datos|derecho al olvido|derecho de acceso|supresi[oó]n|consentimiento|terceros|grabaci[oó]n|grabad[oa]s?|privacidad|filtraci[oó]n|brecha|(eliminad|eliminen|borrad|borren|suprimid|supriman|elimin[eé]is) (mis|todas mis|todos mis|mi) (datos|conversaciones|transcripciones|grabaciones|historial|informaci[oó]n)|toda mi informaci[oó]n|datos m[ií]os|corregid|corrijan|rectific\w+|cookies de seguimiento|grab[aá]is|llamadas grabadas|(vend[eé]is|vendes|venden|compart[ií]s|comparten) (mi|mis)|publicidad personalizada|mi ubicaci[oó]n)\b",
    r"(?i)\b(rgpd|protection des donn[ée]es|donn[ée]es personnelles|mes donn[ée]es|droit [àa] l'oubli|droit d'acc[èe]s|effacement|consentement|des tiers|[àa] des tiers|tiers partenaires|vie priv[ée]e|confidentialit[ée]|fuite de donn[ée]es|supprim(ez|er) (mes|toutes mes|mon) (donn[ée]es|conversations|enregistrements|historique)|(vendez|partagez|c[ée]dez)(-vous)? (mes|mon)|publicit[ée] cibl[ée]e|informations personnelles|(avez|d[ée]tenez|conservez|gardez)-vous sur moi|rectifi\w+|corriger ma date|cookies de suivi|ma localisation)\b",
    r"(?i)\b(dsgvo|datenschutz\w*|personenbezogen\w*|meine daten|daten l[öo]schen|l[öo]schung|auskunft (über|nach|gem[äa](ß|ss))|auskunftsersuchen|einwilligung|zustimmung|an dritte|dritten|aufzeichn\w*|aufgezeichnet|privatsph[äa]re|datenleck|datenpanne|l[öo]scht (meine[nmrs]?|mein)|l[öo]schen sie (meine[nmrs]?|mein)|verkauft ihr (meine[nmrs]?|mein)|an andere firmen|personalisierte werbung|pers[öo]nlichen daten|[üu]ber mich gespeichert|berichtigung|korrigieren sie mein\w*|tracking-cookies|meinen standort)\b",
];

const ACCOUNT_COMPROMISE: &[&str] = &[
    r"(?i)\b(hack(ed|er|ers)?|compromised|someone (else )?(has |is |was )?(logged|log|accessed|access|used|using|got into|in) (in|into|my)|someone is in|not me|wasn'?t me|i didn'?t (make|place|order|buy|authori[sz]e)|i never (made|placed|ordered|bought|authori[sz]ed)|never made|unauthori[sz]ed|unknown (device|login|location)|login from|logged in from|sign-?in from|new device|password (was|has been) (changed|reset)|(changed|reset) my password without|phishing|suspicious (login|email)|(account|it) (was |got |has been )?taken over|account takeover|identity theft|scam(mer|mers)? [^.!?\n]{0,40}(my|name|address|order)|(used|using) my (saved|stored) card|i didn'?t (do|change) (it|that|this)|(someone|somebody) [^.!?\n]{0,30}(used|using|changed|redeemed|got into|ordered|spent|logged|accessing|accessed)|got into by|never asked for|none of (this|it) was me|signed in on \d+ devices|(address|device|location|number|phone) i (don'?t|do not) (know|recogni[sz]e)|i never (set up|signed up for)|(someone|somebody) (has access|added|has added|has been)|devices? i (don'?t|do not) (own|have|recogni[sz]e)|knows my password)\b",
    r"(?i)\b(hacke\w+|alguien (ha )?(entrado|entr[oó]|accedido|us[oó]|usado)|no fui yo|no he sido yo|yo no (hice|he hecho|ped[ií])|sin (mi )?autorizaci[oó]n|no autorizad[oa]s?|inicio de sesi[oó]n desde|cambiado la contrase[ñn]a|suplantaci[oó]n|me han vaciado|(usado|usaron|utilizado) mi tarjeta guardada|yo no lo (hice|he hecho)|(sabe|conoce|sabiendo) mi contrase[ñn]a|yo no he sido|que no ped[ií])\b",
    r"(?i)\b(pirat[ée]e?|pirat\w+|quelqu'un (a |s'est )?(acc[ée]d[ée]|connect[ée]|utilis[ée])|ce n'est pas moi|ce n'[ée]tait pas moi|je n'ai (jamais )?(pass[ée]|fait|command[ée]|autoris[ée])|non autoris[ée]e?s?|connexion depuis|mot de passe (a [ée]t[ée] )?chang[ée]|usurpation|ma carte enregistr[ée]e a servi|je ne l'ai pas fait|quelqu'un [^.!?\n]{0,20}(utilis|connect|acc[ée]d|command)\w*|conna[îi]t (toujours |encore )?mon mot de passe)\b",
    r"(?i)\b(gehackt|gekapert|jemand (hat sich )?(eingeloggt|angemeldet|zugegriffen|benutzt)|fremde[rsnm]? (ger[äa]t|anmeldung|zugriff)|nicht ich|ich habe (nie|nicht|keine) (bestellt|gemacht|ge[äa]ndert)|nicht autorisiert|unbefugt\w*|anmeldung (aus|von)|passwort (wurde )?ge[äa]ndert|identit[äa]tsdiebstahl|die ich nicht (gemacht|bestellt|get[äa]tigt) habe|meine gespeicherte karte (wurde )?benutzt|kennt (noch |immer noch )?mein passwort|nicht aufgegeben|das war ich nicht|war nicht ich)\b",
];

/// Compiles patterns for matching against [`fold`]ed text: the same folding is applied to the
/// pattern source, so `[ée]` becomes `[ee]` and `hei(ß|ss)` becomes `hei(ss|ss)`.
/// The lazy DFA's transition cache gets 8 MiB instead of 2: these sets are large
/// alternations, and a cache that fills up is cleared and rebuilt again and again.
pub(crate) fn folded_set(patterns: &[&str]) -> RegexSet {
    regex::RegexSetBuilder::new(patterns.iter().map(|pattern| fold(pattern))).dfa_size_limit(8 << 20).build().expect("folded patterns compile")
}

static CUES: LazyLock<Vec<(Cue, RegexSet, RegexSet)>> = LazyLock::new(|| Cue::ALL.iter().map(|&cue| (cue, folded_set(cue.patterns()), folded_set(cue.unless()))).collect());

/// `text` in ASCII, for pattern matching only: accents dropped (é → e, ü → u), the few Latin
/// letters without a decomposition spelled out (ß → ss, œ → oe), typographic quotes and
/// dashes made plain, anything else outside ASCII turned into a space.
///
/// Why: the regex crate's fast engines (the lazy DFA) cannot evaluate a Unicode `\b` once
/// they meet a non-ASCII byte and fall back to the PikeVM, which on these multilingual
/// pattern sets cost about ten times as much per message (a quarter of all triage time on the
/// taxonomy test split). On ASCII text every pattern keeps its meaning and the DFA runs.
pub(crate) fn fold(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    let mut folded = String::with_capacity(text.len());
    for c in text.nfd() {
        if c.is_ascii() {
            folded.push(c);
            continue;
        }
        match c {
            'ß' => folded.push_str("ss"),
            'ẞ' => folded.push_str("SS"),
            'æ' => folded.push_str("ae"),
            'Æ' => folded.push_str("AE"),
            'œ' => folded.push_str("oe"),
            'Œ' => folded.push_str("OE"),
            'ø' => folded.push('o'),
            'Ø' => folded.push('O'),
            'ł' => folded.push('l'),
            'Ł' => folded.push('L'),
            'đ' => folded.push('d'),
            'Đ' => folded.push('D'),
            '\u{2018}' | '\u{2019}' | '\u{02bc}' | '\u{00b4}' => folded.push('\''),
            '\u{201c}' | '\u{201d}' | '\u{00ab}' | '\u{00bb}' => folded.push('"'),
            '\u{2010}'..='\u{2015}' => folded.push('-'),
            c if is_combining_mark(c) => {}
            _ => folded.push(' '),
        }
    }
    Cow::Owned(folded)
}

/// Every cue pattern, for keying cached models trained with them.
pub fn fingerprint() -> String {
    Cue::ALL.iter().flat_map(|cue| cue.patterns().iter().chain(cue.unless()).copied()).collect::<Vec<_>>().join("|")
}

/// The cues found in `text`, in [`Cue::ALL`] order.
pub fn find(text: &str) -> Vec<Cue> {
    let folded = fold(text);
    CUES.iter().filter(|(_, patterns, unless)| patterns.is_match(&folded) && !unless.is_match(&folded)).map(|(cue, ..)| *cue).collect()
}

/// The text the taxonomy models read, at training and at triage time alike: figures of
/// speech blanked (so "dying to know" is not "dying"), then the cue markers appended.
pub fn marked_text(model_text: &str) -> String {
    mark(&crate::safety::without_figures_of_speech(model_text)).0
}

/// The marked text of a text whose figures of speech are already blanked, and the cues behind
/// its markers, found once.
pub fn mark(blanked: &str) -> (String, Vec<Cue>) {
    let cues = find(blanked);
    (append_markers(blanked, &cues), cues)
}

/// `text` followed by the marker word of every cue it contains.
pub fn with_markers(text: &str) -> String {
    append_markers(text, &find(text))
}

fn append_markers(text: &str, cues: &[Cue]) -> String {
    let mut marked = String::with_capacity(text.len() + 64);
    marked.push_str(text);
    for cue in cues {
        marked.push(' ');
        marked.push_str(cue.marker());
    }
    marked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_keeps_ascii_and_spells_out_the_rest() {
        for (text, expected) in [
            ("plain ascii stays", "plain ascii stays"),
            ("Ça brûle, j'ai des rougeurs", "Ca brule, j'ai des rougeurs"),
            ("Übelkeit und Schwindel, es wird heiß", "Ubelkeit und Schwindel, es wird heiss"),
            ("contraseña cambiada sin autorización", "contrasena cambiada sin autorizacion"),
            ("it\u{2019}s \u{201c}hot\u{201d} \u{2014} œuf", "it's \"hot\" - oeuf"),
            ("日本 ok", "   ok"),
        ] {
            assert_eq!(fold(text), expected, "{text}");
            assert!(fold(text).is_ascii());
        }
        assert!(matches!(fold("ascii"), Cow::Borrowed(_)));
    }

    #[test]
    fn marked_text_and_its_cues_agree() {
        let text = "the cream gave me a rash and my face is swollen";
        let (marked, cues) = mark(&crate::safety::without_figures_of_speech(text));
        assert_eq!(cues, vec![Cue::Symptom]);
        assert_eq!(marked, marked_text("the cream gave me a rash and my face is swollen"));
        assert!(marked.ends_with(" zzcuesymptom"));
    }

    fn check(text: &str, expected: &[Cue]) {
        assert_eq!(find(text), expected, "{text}");
    }

    #[test]
    fn cues_in_four_languages() {
        check("the face cream gave me a rash and my cheeks are itchy", &[Cue::Symptom]);
        check("la crema me ha dado un sarpullido", &[Cue::Symptom]);
        check("la crème m'a donné des démangeaisons", &[Cue::Symptom]);
        check("nach der Creme habe ich einen Ausschlag", &[Cue::Symptom]);
        check("the charger sparked and smells of burning", &[Cue::Hazard]);
        check("el cargador echa humo", &[Cue::Hazard]);
        check("le chargeur fait des étincelles", &[Cue::Hazard]);
        check("das Ladegerät qualmt", &[Cue::Hazard]);
        check("found mould in the bread", &[Cue::Contamination]);
        check("el pan tiene moho", &[Cue::Contamination]);
        check("il y a de la moisissure dans le pain", &[Cue::Contamination]);
        check("im Brot ist Schimmel", &[Cue::Contamination]);
        check("the yoghurt is past its best before date", &[Cue::Expiry]);
        check("el yogur está caducado", &[Cue::Expiry]);
        check("le yaourt est périmé", &[Cue::Expiry]);
        check("der Joghurt ist abgelaufen", &[Cue::Expiry]);
        check("please delete my personal data under GDPR", &[Cue::DataRights]);
        check("borrad mis datos personales", &[Cue::DataRights]);
        check("supprimez mes données personnelles", &[Cue::DataRights]);
        check("bitte meine Daten löschen", &[Cue::DataRights]);
        check("my account was hacked", &[Cue::AccountCompromise]);
        check("me han hackeado la cuenta", &[Cue::AccountCompromise]);
        check("mon compte a été piraté", &[Cue::AccountCompromise]);
        check("mein Konto wurde gehackt", &[Cue::AccountCompromise]);
        check("the website says 250°C but the tag says 150°C", &[Cue::MedicationOrLabel]);
        check("en la web pone sin gluten pero la etiqueta dice trigo y no coincide", &[Cue::MedicationOrLabel]);
        check("l'étiquette indique 500 mg, ça ne correspond pas", &[Cue::MedicationOrLabel]);
        check("das Etikett stimmt nicht überein", &[Cue::MedicationOrLabel]);
        check("is my heater part of the recall?", &[Cue::Recall]);
        check("¿mi estufa está afectada por la retirada del mercado?", &[Cue::Recall]);
        check("mon radiateur est-il concerné par le rappel ?", &[Cue::Recall]);
        check("ist mein Heizlüfter vom Rückruf betroffen?", &[Cue::Recall]);
    }

    #[test]
    fn the_same_words_about_something_else_are_not_cues() {
        check("my promo code says it has expired", &[]);
        check("el código de descuento ha caducado", &[]);
        check("le code promo a expiré", &[]);
        check("der Gutscheincode ist abgelaufen", &[]);
        check("the mirror arrived smashed, nobody hurt", &[]);
        check("el espejo llegó roto, nadie se ha hecho daño", &[]);
        check("le miroir est arrivé cassé, personne ne s'est blessé", &[]);
        check("der Spiegel kam kaputt an, verletzt hat sich niemand", &[]);
    }

    #[test]
    fn everyday_messages_have_no_cues() {
        check("where is my order?", &[]);
        check("¿dónde está mi pedido?", &[]);
        check("où est ma commande ?", &[]);
        check("wo ist meine Bestellung?", &[]);
    }

    #[test]
    fn markers_follow_the_text() {
        assert_eq!(with_markers("is this rash normal"), "is this rash normal zzcuesymptom");
        assert_eq!(with_markers("thanks!"), "thanks!");
    }
}
