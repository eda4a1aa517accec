//! `/v1`: the versioned JSON API, and its OpenAPI 3.1 document, derived from the handlers and the types they
//! answer with (checked in as `schemas/openapi.json`; a test fails when the two drift apart).

pub mod archive;
pub mod jobs;
pub mod operations;
pub mod params;

use axum::Router;
use axum::routing::{get, post};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HttpMethod, Ref, ResponseBuilder, SecurityRequirement};

use crate::AppState;
use crate::problem::{PROBLEM_JSON, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "newspipe",
        description = "Submit URLs, feeds, sitemaps, sites and WARC files; search, list, read and export the \
            archive; watch the pipeline. Every error is `application/problem+json`. Tokens are made with \
            `newspipe token create` and sent as `Authorization: Bearer TOKEN`; scopes: read < submit < admin.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        jobs::submit, jobs::job,
        archive::search, archive::list, archive::article, archive::history, archive::export,
        operations::status, operations::dead_letter_list, operations::dead_letter_replay,
    ),
    components(schemas(Problem)),
    modifiers(&CommonResponses),
    tags(
        (name = "jobs", description = "Submitting work, and its outcomes"),
        (name = "archive", description = "The stored articles"),
        (name = "operations", description = "The pipeline: status and dead letters"),
    )
)]
struct ApiDoc;

/// The answers every operation can give, added to each (so none is left undocumented): a refused
/// request's 400, the token's 401 and 403, the rate limit's 429, a dependency's 503; bodies' 413, 415 and
/// 422; long query strings' 414.
struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A token from `newspipe token create` (np_...)"))
                    .build(),
            ),
        );
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    PROBLEM_JSON,
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
                )
                .build()
        };
        for (_, item) in openapi.paths.paths.iter_mut() {
            for (method, operation) in
                [(HttpMethod::Get, item.get.as_mut()), (HttpMethod::Post, item.post.as_mut())]
            {
                let Some(operation) = operation else { continue };
                let mut add = |code: &str, description: &str| {
                    operation
                        .responses
                        .responses
                        .entry(code.to_string())
                        .or_insert_with(|| problem(description).into());
                };
                add("400", "The request is malformed: a parameter or the body is not what the schema says");
                add("401", "No token, or one that is not valid or has been revoked");
                add("403", "The token's scope does not allow this");
                add(
                    "429",
                    "Too many requests from this caller (or failed authentications from its address): see Retry-After",
                );
                add("503", "The database or the broker is unavailable, or the request took too long");
                match method {
                    HttpMethod::Post => {
                        add("413", "The body is larger than api.max_body_bytes");
                        add("415", "The body is not application/json");
                        add("422", "The body is JSON but not what the schema says");
                    }
                    _ => add("414", "The query string is longer than api.max_query_bytes"),
                }
            }
        }
    }
}

/// The links the stateful tests (and generated clients) follow: from a submit to its job, from a listing
/// or a search to an article and its history. (operation, response, name, target, parameter, expression)
const LINKS: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("/v1/jobs", "202", "job", "get_job", "job_id", "$response.body#/jobs/0/job_id"),
    ("/v1/articles", "200", "article", "get_article", "id", "$response.body#/articles/0/id"),
    ("/v1/articles", "200", "history", "get_article_history", "id", "$response.body#/articles/0/id"),
    ("/v1/search", "200", "article", "get_article", "id", "$response.body#/results/0/id"),
];

/// The OpenAPI document, as served and checked in. With `public_read`, reads declare their security
/// optional.
pub fn openapi_value(public_read: bool) -> serde_json::Value {
    let mut doc = serde_json::to_value(openapi(public_read)).expect("the document serialises");
    for (path, code, name, target, parameter, expression) in LINKS {
        let operation = doc["paths"][*path].as_object_mut().and_then(|item| item.values_mut().next());
        let response =
            operation.map(|operation| &mut operation["responses"][*code]).expect("a documented operation");
        // Written here rather than with utoipa's `links(...)`: utoipa 5.5 writes `operation_id` instead of
        // OpenAPI's `operationId`.
        response["links"][*name] = serde_json::json!({
            "operationId": target,
            "parameters": { *parameter: expression },
        });
    }
    doc
}

/// The operations that need an admin token whatever `public_read` says.
const ADMIN_PATHS: &[&str] = &["/v1/dead-letters", "/v1/dead-letters/replay"];

/// The document's typed form: with `public_read`, reads (but the admin's) declare their security optional.
pub fn openapi(public_read: bool) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    if public_read {
        for (path, item) in doc.paths.paths.iter_mut() {
            if ADMIN_PATHS.contains(&path.as_str()) {
                continue;
            }
            if let Some(get) = item.get.as_mut() {
                get.security = Some(vec![
                    SecurityRequirement::default(),
                    SecurityRequirement::new("bearer", Vec::<String>::new()),
                ]);
            }
        }
    }
    doc
}

/// The document as checked in (`schemas/openapi.json`): the default settings' (reads need a token).
pub fn openapi_json() -> String {
    serde_json::to_string_pretty(&openapi_value(false)).expect("the document serialises")
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/jobs", post(jobs::submit))
        .route("/v1/jobs/{job_id}", get(jobs::job))
        .route("/v1/search", get(archive::search))
        .route("/v1/articles", get(archive::list))
        .route("/v1/articles/{id}", get(archive::article))
        .route("/v1/articles/{id}/history", get(archive::history))
        .route("/v1/export", get(archive::export))
        .route("/v1/status", get(operations::status))
        .route("/v1/dead-letters", get(operations::dead_letter_list))
        .route("/v1/dead-letters/replay", post(operations::dead_letter_replay))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// The checked-in document is what the code generates: regenerate it with
    /// `cargo run -p newspipe-api --example openapi > schemas/openapi.json` after changing an operation or a type.
    #[test]
    fn the_checked_in_openapi_document_is_what_the_code_generates() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/openapi.json");
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in.trim_end() == super::openapi_json().trim_end(),
            "{} is not what the code generates: run `cargo run -p newspipe-api --example openapi > \
             schemas/openapi.json` and review the change",
            path.display()
        );
    }

    #[test]
    fn with_public_reads_every_get_declares_its_token_optional_and_writes_and_admin_reads_still_need_one() {
        let doc = super::openapi_value(true);
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() >= 9, "{}", paths.len());
        assert_eq!(doc["paths"]["/v1/dead-letters"]["get"]["security"], serde_json::json!([{"bearer": []}]));
        for (path, item) in paths.iter().filter(|(path, _)| !super::ADMIN_PATHS.contains(&path.as_str())) {
            if let Some(get) = item.get("get") {
                assert_eq!(get["security"], serde_json::json!([{}, {"bearer": []}]), "GET {path}");
            }
            if let Some(post) = item.get("post") {
                assert_eq!(post["security"], serde_json::json!([{"bearer": []}]), "POST {path}");
            }
        }
    }

    #[test]
    fn every_operation_documents_the_errors_it_can_answer_as_problems() {
        let doc = super::openapi_value(false);
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let responses = operation["responses"].as_object().unwrap();
                for code in ["400", "401", "403", "429", "503"] {
                    let content = &responses[code]["content"];
                    assert!(
                        content.get("application/problem+json").is_some(),
                        "{method} {path} {code}: {content}"
                    );
                }
            }
        }
    }
}
