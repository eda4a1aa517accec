//! JSON-LD: the `<script type="application/ld+json">` objects of a page (graphs and arrays flattened),
//! the article among them by `@type`, and its fields.

use std::collections::HashMap;

use serde_json::Value;

const ARTICLE_TYPES: &[&str] = &[
    "article",
    "newsarticle",
    "blogposting",
    "reportagenewsarticle",
    "analysisnewsarticle",
    "opinionnewsarticle",
    "reviewnewsarticle",
    "backgroundnewsarticle",
    "askpublicnewsarticle",
    "liveblogposting",
    "techarticle",
    "scholarlyarticle",
    "socialmediaposting",
    "report",
    "medicalwebpage",
    "howto",
    "recipe",
    "review",
    "posting",
];

/// Whether a lower-cased schema.org type names an article of some kind.
pub(crate) fn is_article_type(t: &str) -> bool {
    ARTICLE_TYPES.contains(&t)
}

#[derive(Default)]
pub(super) struct JsonLd {
    pub(super) headline: Option<String>,
    pub(super) authors: Vec<String>,
    /// Only organisations were named as authors (a byline in the page may still name a person).
    pub(super) authors_are_organisations: bool,
    pub(super) published: Option<String>,
    pub(super) modified: Option<String>,
    pub(super) image: Option<String>,
    pub(super) keywords: Vec<String>,
    pub(super) section: Option<String>,
    pub(super) description: Option<String>,
    pub(super) language: Option<String>,
    pub(super) publisher: Option<String>,
    pub(super) url: Option<String>,
    pub(super) main_type: Option<String>,
    pub(super) site_name: Option<String>,
    pub(super) not_free: bool,
    pub(super) webpage_published: Option<String>,
}

fn types_of(obj: &serde_json::Map<String, Value>) -> Vec<String> {
    match obj.get("@type") {
        Some(Value::String(s)) => vec![s.to_ascii_lowercase()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_ascii_lowercase).collect(),
        _ => Vec::new(),
    }
}

fn string_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) => a.iter().find_map(string_of),
        Value::Object(o) => o.get("@value").and_then(string_of),
        _ => None,
    }
}

fn url_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Array(a) => a.iter().find_map(url_of),
        Value::Object(o) => {
            o.get("url").or_else(|| o.get("contentUrl")).or_else(|| o.get("@id")).and_then(url_of)
        }
        _ => None,
    }
}

/// Author names from a JSON-LD `author` value: a string, a Person/Organization, an `@id` reference, or a
/// list of those. People come before organisations; organisations are kept only where no person is named.
fn authors_of(
    v: &Value,
    by_id: &HashMap<String, &serde_json::Map<String, Value>>,
    out: &mut Vec<(String, bool)>,
) {
    match v {
        Value::String(s) if !s.starts_with("http") => out.push((s.clone(), true)),
        Value::Array(a) => a.iter().for_each(|x| authors_of(x, by_id, out)),
        Value::Object(o) => {
            let resolved = match (o.get("name"), o.get("@id").and_then(Value::as_str)) {
                (None, Some(id)) => by_id.get(id).copied().unwrap_or(o),
                _ => o,
            };
            let is_org =
                types_of(resolved).iter().any(|t| t.contains("organization") || t == "newsmediaorganization");
            if let Some(name) = resolved.get("name").and_then(string_of) {
                out.push((name, !is_org));
            }
        }
        _ => {}
    }
}

fn collect_objects<'v>(v: &'v Value, out: &mut Vec<&'v serde_json::Map<String, Value>>, depth: usize) {
    if depth > 8 {
        return;
    }
    match v {
        Value::Array(a) => a.iter().for_each(|x| collect_objects(x, out, depth + 1)),
        Value::Object(o) => {
            out.push(o);
            if let Some(g) = o.get("@graph") {
                collect_objects(g, out, depth + 1);
            }
            if let Some(m) = o.get("mainEntity") {
                collect_objects(m, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// The JSON values of `<script type="application/ld+json">` texts (HTML comments and CDATA markers around
/// them dropped); scripts that are not JSON are left out.
fn parse_scripts(scripts: &[String]) -> Vec<Value> {
    scripts
        .iter()
        .filter_map(|s| {
            let s = s.trim().trim_start_matches("<!--").trim_end_matches("-->");
            let s = s.trim().trim_start_matches("//<![CDATA[").trim_end_matches("//]]>");
            serde_json::from_str::<Value>(s.trim()).ok()
        })
        .collect()
}

/// The `articleBody` texts of the article objects (by `@type`, also inside `@graph` and `mainEntity`),
/// longest first: the body of pages whose markup has none (see `crate::embedded`).
pub(crate) fn article_bodies(scripts: &[String]) -> Vec<String> {
    let values = parse_scripts(scripts);
    let mut objects = Vec::new();
    for v in &values {
        collect_objects(v, &mut objects, 0);
    }
    let mut bodies: Vec<String> = objects
        .iter()
        .filter(|o| types_of(o).iter().any(|t| ARTICLE_TYPES.contains(&t.as_str())))
        .filter_map(|o| match o.get("articleBody")? {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Array(a) => {
                Some(a.iter().filter_map(Value::as_str).map(str::trim).collect::<Vec<_>>().join("\n\n"))
            }
            _ => None,
        })
        .filter(|s| !s.is_empty())
        .collect();
    bodies.sort_by_key(|b| std::cmp::Reverse(b.len()));
    bodies
}

pub(super) fn parse_json_ld(scripts: &[String]) -> JsonLd {
    let mut ld = JsonLd::default();
    let values = parse_scripts(scripts);
    let mut objects = Vec::new();
    for v in &values {
        collect_objects(v, &mut objects, 0);
    }
    let by_id: HashMap<String, &serde_json::Map<String, Value>> =
        objects.iter().filter_map(|o| Some((o.get("@id")?.as_str()?.to_string(), *o))).collect();
    let article = objects
        .iter()
        .find(|o| {
            types_of(o).iter().any(|t| ARTICLE_TYPES.contains(&t.as_str())) && o.get("headline").is_some()
        })
        .or_else(|| objects.iter().find(|o| types_of(o).iter().any(|t| ARTICLE_TYPES.contains(&t.as_str()))));
    for o in &objects {
        let types = types_of(o);
        if types.iter().any(|t| t == "website") {
            ld.site_name = ld.site_name.take().or_else(|| o.get("name").and_then(string_of));
        }
        if types.iter().any(|t| t.ends_with("page")) {
            if ld.main_type.is_none() && article.is_none() {
                ld.main_type = types.first().cloned();
            }
            ld.webpage_published =
                ld.webpage_published.take().or_else(|| o.get("datePublished").and_then(string_of));
        }
    }
    let Some(article) = article else {
        if ld.main_type.is_none() {
            ld.main_type = objects.iter().find_map(|o| types_of(o).into_iter().next());
        }
        return ld;
    };
    ld.main_type = types_of(article).into_iter().next();
    ld.headline = article.get("headline").or_else(|| article.get("name")).and_then(string_of);
    let mut authors = Vec::new();
    if let Some(a) = article.get("author").or_else(|| article.get("creator")) {
        authors_of(a, &by_id, &mut authors);
    }
    let people: Vec<String> = authors.iter().filter(|(_, p)| *p).map(|(n, _)| n.clone()).collect();
    ld.authors_are_organisations = people.is_empty() && !authors.is_empty();
    ld.authors = if people.is_empty() { authors.into_iter().map(|(n, _)| n).collect() } else { people };
    ld.published = article
        .get("datePublished")
        .or_else(|| article.get("dateCreated"))
        .or_else(|| article.get("uploadDate"))
        .and_then(string_of);
    ld.modified = article.get("dateModified").and_then(string_of);
    ld.image = article.get("image").or_else(|| article.get("thumbnailUrl")).and_then(url_of);
    ld.keywords = match article.get("keywords") {
        Some(Value::String(s)) => {
            s.split(',').map(|k| k.trim().to_string()).filter(|k| !k.is_empty()).collect()
        }
        Some(Value::Array(a)) => a.iter().filter_map(string_of).collect(),
        _ => Vec::new(),
    };
    ld.section = article.get("articleSection").and_then(string_of);
    ld.description = article.get("description").and_then(string_of);
    ld.language = article.get("inLanguage").and_then(string_of);
    ld.publisher = article.get("publisher").and_then(|p| match p {
        Value::Object(o) => {
            let o = match (o.get("name"), o.get("@id").and_then(Value::as_str)) {
                (None, Some(id)) => by_id.get(id).copied().unwrap_or(o),
                _ => o,
            };
            o.get("name").and_then(string_of)
        }
        other => string_of(other),
    });
    ld.url = article.get("url").and_then(url_of).or_else(|| article.get("mainEntityOfPage").and_then(url_of));
    ld.not_free = matches!(article.get("isAccessibleForFree"), Some(Value::Bool(false)))
        || article
            .get("isAccessibleForFree")
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("false"));
    ld
}
