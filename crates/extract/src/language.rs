//! Language: what the markup says, confirmed (or supplied) by detection on the text.

/// ISO 639-3 codes that whatlang reports, to the ISO 639-1 codes BCP 47 uses where one exists.
fn iso639_1(code3: &str) -> &str {
    match code3 {
        "eng" => "en",
        "rus" => "ru",
        "cmn" => "zh",
        "spa" => "es",
        "por" => "pt",
        "ita" => "it",
        "ben" => "bn",
        "fra" => "fr",
        "deu" => "de",
        "ukr" => "uk",
        "kat" => "ka",
        "ara" => "ar",
        "hin" => "hi",
        "jpn" => "ja",
        "heb" => "he",
        "yid" => "yi",
        "pol" => "pl",
        "amh" => "am",
        "jav" => "jv",
        "kor" => "ko",
        "nob" => "nb",
        "dan" => "da",
        "swe" => "sv",
        "fin" => "fi",
        "tur" => "tr",
        "nld" => "nl",
        "hun" => "hu",
        "ces" => "cs",
        "ell" => "el",
        "bul" => "bg",
        "bel" => "be",
        "mar" => "mr",
        "kan" => "kn",
        "ron" => "ro",
        "slv" => "sl",
        "hrv" => "hr",
        "srp" => "sr",
        "mkd" => "mk",
        "lit" => "lt",
        "lav" => "lv",
        "est" => "et",
        "tam" => "ta",
        "vie" => "vi",
        "urd" => "ur",
        "tha" => "th",
        "guj" => "gu",
        "uzb" => "uz",
        "pan" => "pa",
        "aze" => "az",
        "ind" => "id",
        "tel" => "te",
        "pes" => "fa",
        "mal" => "ml",
        "ori" => "or",
        "mya" => "my",
        "nep" => "ne",
        "sin" => "si",
        "khm" => "km",
        "tuk" => "tk",
        "aka" => "ak",
        "zul" => "zu",
        "sna" => "sn",
        "afr" => "af",
        "lat" => "la",
        "slk" => "sk",
        "cat" => "ca",
        "tgl" => "tl",
        "hye" => "hy",
        "epo" => "eo",
        "cym" => "cy",
        "kaz" => "kk",
        "sqi" => "sq",
        "bos" => "bs",
        "glg" => "gl",
        "isl" => "is",
        "mlt" => "mt",
        "msa" => "ms",
        "gle" => "ga",
        "eus" => "eu",
        other => other,
    }
}

/// Detects the language of `text`; `None` when the sample is too short or detection is unsure.
pub(crate) fn detect(text: &str) -> Option<(String, bool)> {
    let sample = crate::dom::truncate_str(text, 800);
    if sample.chars().filter(|c| c.is_alphabetic()).count() < 40 {
        return None;
    }
    let info = whatlang::detect(sample)?;
    Some((iso639_1(info.lang().code()).to_string(), info.is_reliable()))
}

/// Chooses the page language: the declared one unless detection reliably says otherwise (pages keep a
/// template's `lang="en"` on translated articles); the detected one when none is declared.
pub(crate) fn choose(declared: Option<&str>, text: &str) -> Option<String> {
    let detected = detect(text);
    match (declared, detected) {
        (Some(declared), Some((lang, true))) => {
            let primary = declared.split('-').next().unwrap_or(declared);
            if primary.eq_ignore_ascii_case(&lang) || (primary == "no" && lang == "nb") {
                Some(declared.to_string())
            } else {
                Some(lang)
            }
        }
        (Some(declared), _) => Some(declared.to_string()),
        (None, Some((lang, _))) => Some(lang),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declared_language_confirmed_by_the_text_keeps_its_region() {
        let text = "The president of the country has advised election authorities to investigate the results \
                    of a disputed parliament race that has stoked chaotic unrest in the capital city.";
        assert_eq!(choose(Some("en-GB"), text).as_deref(), Some("en-GB"));
    }

    #[test]
    fn a_template_language_contradicted_by_the_text_is_corrected() {
        let text = "El presidente del país ha pedido a las autoridades electorales que investiguen los \
                    resultados de una disputada elección parlamentaria que ha provocado disturbios en la capital.";
        assert_eq!(choose(Some("en"), text).as_deref(), Some("es"));
    }

    #[test]
    fn detection_supplies_a_missing_language() {
        let text = "Der Präsident des Landes hat die Wahlbehörden aufgefordert, die Ergebnisse einer \
                    umstrittenen Parlamentswahl zu untersuchen, die in der Hauptstadt Unruhen ausgelöst hat.";
        assert_eq!(choose(None, text).as_deref(), Some("de"));
    }
}
