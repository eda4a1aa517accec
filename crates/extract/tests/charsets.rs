//! Pages in legacy encodings, authored here, come out as correct text whatever tells the encoding.

// Tests (and the tools beside them) may unwrap: a failure names what it expected.
#![allow(clippy::unwrap_used)]

use encoding_rs::Encoding;
use newspipe_extract::{Extraction, Options, Page, extract};

const RUSSIAN: &str = "Президент Киргизии предложил избирательной комиссии проверить нарушения на выборах в парламент, \
    которые вызвали беспорядки в столице. Протестующие захватили здание правительства в Бишкеке.";
const CHINESE: &str = "吉尔吉斯斯坦总统建议选举委员会调查议会选举中的违规行为，这次选举在首都引发了骚乱。抗议者冲进了比什凯克的政府大楼，\
    局势一度十分紧张，当局呼吁保持冷静。";
const JAPANESE: &str = "キルギスの大統領は、首都で騒乱を引き起こした議会選挙の違反を調査するよう選挙管理委員会に求めた。\
    抗議者たちはビシケクの政府庁舎を占拠し、当局は冷静さを保つよう呼びかけた。";
const CZECH: &str = "Prezident Kyrgyzstánu vyzval volební komisi, aby prošetřila porušení pravidel při volbách do \
    parlamentu, které vyvolaly nepokoje v hlavním městě. Demonstranti obsadili budovu vlády v Biškeku.";
const GREEK: &str = "Ο πρόεδρος της Κιργιζίας ζήτησε από την εκλογική επιτροπή να ερευνήσει τις παραβιάσεις στις \
    βουλευτικές εκλογές, οι οποίες προκάλεσαν αναταραχή στην πρωτεύουσα. Οι διαδηλωτές κατέλαβαν το κυβερνητικό κτίριο.";

fn page_html(head_extra: &str, title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head>{head_extra}<title>{title}</title></head><body><article><h1>{title}</h1>\
         <p>{body}</p><p>{body}</p></article></body></html>"
    )
}

fn encode(label: &str, text: &str) -> Vec<u8> {
    let encoding = Encoding::for_label(label.as_bytes()).expect("known label");
    let (bytes, _, unmappable) = encoding.encode(text);
    assert!(!unmappable, "the test text is representable in {label}");
    bytes.into_owned()
}

fn text_of(bytes: &[u8], url: &str, content_type: Option<&str>) -> String {
    let page = Page { content_type, ..Page::new(bytes, url) };
    match extract(&page, &Options::default()) {
        Ok(Extraction::Article(a)) => a.text,
        other => panic!("no article: {other:?}"),
    }
}

#[test]
fn a_windows_1251_page_declared_in_a_meta_charset_decodes() {
    let html = page_html("<meta charset=\"windows-1251\">", "Выборы", RUSSIAN);
    let text = text_of(&encode("windows-1251", &html), "https://example.com/a", None);
    assert!(text.contains("Протестующие захватили здание правительства"), "{text}");
}

#[test]
fn a_koi8_r_page_declared_in_http_equiv_decodes() {
    let html = page_html(
        "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=koi8-r\">",
        "Выборы",
        RUSSIAN,
    );
    let text = text_of(&encode("koi8-r", &html), "https://example.com/a", None);
    assert!(text.contains("Президент Киргизии"), "{text}");
}

#[test]
fn a_gbk_page_declared_only_in_the_http_header_decodes() {
    let html = page_html("", "选举", CHINESE);
    let text = text_of(&encode("gbk", &html), "https://example.com/a", Some("text/html; charset=GBK"));
    assert!(text.contains("抗议者冲进了比什凯克的政府大楼"), "{text}");
}

#[test]
fn a_shift_jis_page_decodes() {
    let html = page_html("<meta charset=shift_jis>", "選挙", JAPANESE);
    let text = text_of(&encode("shift_jis", &html), "https://example.jp/a", None);
    assert!(text.contains("抗議者たちはビシケクの政府庁舎を占拠し"), "{text}");
}

#[test]
fn iso_8859_2_and_iso_8859_7_pages_decode() {
    let html = page_html("<meta charset=\"iso-8859-2\">", "Volby", CZECH);
    let text = text_of(&encode("iso-8859-2", &html), "https://example.cz/a", None);
    assert!(text.contains("prošetřila porušení pravidel"), "{text}");
    let html = page_html("<meta charset=\"iso-8859-7\">", "Εκλογές", GREEK);
    let text = text_of(&encode("iso-8859-7", &html), "https://example.gr/a", None);
    assert!(text.contains("κατέλαβαν το κυβερνητικό κτίριο"), "{text}");
}

#[test]
fn utf_16_pages_decode_with_a_bom_and_without_one() {
    let html = page_html("", "Выборы", RUSSIAN);
    let mut le = vec![0xFF, 0xFE];
    le.extend(html.encode_utf16().flat_map(u16::to_le_bytes));
    assert!(text_of(&le, "https://example.com/a", None).contains("Президент Киргизии"));
    let mut be = vec![0xFE, 0xFF];
    be.extend(html.encode_utf16().flat_map(u16::to_be_bytes));
    assert!(text_of(&be, "https://example.com/a", None).contains("Президент Киргизии"));
    let bare: Vec<u8> = html.encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert!(text_of(&bare, "https://example.com/a", None).contains("Президент Киргизии"));
}

#[test]
fn an_undeclared_windows_1251_page_is_detected() {
    let html = page_html("", "Выборы", RUSSIAN);
    let text = text_of(&encode("windows-1251", &html), "https://example.ru/a", None);
    assert!(text.contains("Протестующие захватили здание правительства"), "{text}");
}

#[test]
fn the_http_charset_wins_over_a_wrong_meta_charset() {
    let html = page_html("<meta charset=\"iso-8859-1\">", "Выборы", RUSSIAN);
    let text = text_of(
        &encode("windows-1251", &html),
        "https://example.com/a",
        Some("text/html; charset=windows-1251"),
    );
    assert!(text.contains("Президент Киргизии"), "{text}");
}

#[test]
fn a_bom_wins_over_every_declaration() {
    let html = page_html("<meta charset=\"windows-1252\">", "Выборы", RUSSIAN);
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(html.as_bytes());
    let text = text_of(&bytes, "https://example.com/a", Some("text/html; charset=iso-8859-1"));
    assert!(text.contains("Президент Киргизии"), "{text}");
}

#[test]
fn utf_8_bytes_under_a_stale_legacy_declaration_are_read_as_utf_8() {
    let html = page_html("<meta charset=\"gb2312\">", "选举", CHINESE);
    let text = text_of(html.as_bytes(), "https://example.com/a", None);
    assert!(text.contains("抗议者冲进了比什凯克的政府大楼"), "{text}");
    let html = page_html("", "Volby", CZECH);
    let text = text_of(html.as_bytes(), "https://example.com/a", Some("text/html; charset=ISO-8859-1"));
    assert!(text.contains("prošetřila porušení pravidel"), "{text}");
}
