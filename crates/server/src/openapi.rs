//! The OpenAPI 3.1 document of `/api/v1`, generated with utoipa, served at
//! `/api/v1/openapi.json`, with a self-contained interactive page at `/api/v1/docs`.
//!
//! The domain crate stays free of framework crates, so the wire shapes of its types are
//! described here by mirror structs ([`schemas`]); the operations are declared by
//! `#[utoipa::path]` items in [`paths`], one per route handler under `routes/`. A test walks
//! the `#[get("…")]`-style attributes of the handlers and fails when a route is missing from
//! the document (or the document names a route that does not exist).

use actix_web::{get, http::header, web, HttpResponse};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToResponse};

mod paths;
pub mod schemas;

/// The interactive page: plain HTML and JavaScript, no external asset.
const DOCS_PAGE: &str = include_str!("openapi_docs.html");

/// Error responses shared by the operations: `application/problem+json` bodies.
macro_rules! problem_responses {
    ($($name:ident => $description:literal),+ $(,)?) => {
        $(
            #[doc = $description]
            pub struct $name;

            impl<'s> ToResponse<'s> for $name {
                fn response() -> (&'s str, RefOr<Response>) {
                    let content = Content::new(Some(Ref::from_schema_name("Problem")));
                    let response = ResponseBuilder::new()
                        .description($description)
                        .content("application/problem+json", content)
                        .build();
                    (stringify!($name), response.into())
                }
            }
        )+
    };
}

problem_responses! {
    BadRequest => "Malformed JSON, a JSON type that does not fit, or a bad parameter.",
    Unauthorized => "No token, or a tampered, expired or revoked one.",
    Forbidden => "The caller's role may not use this route.",
    NotFound => "No such object, or one the caller may not see.",
    Conflict => "An illegal state change, or a duplicate.",
    TooLarge => "The body is too large.",
    WrongType => "The body's content type is not accepted.",
    Invalid => "A well-typed value that is not allowed (`errors` names the fields).",
    TooMany => "Rate limited; see Retry-After.",
    Unavailable => "A required external service is not configured or down.",
}

/// Adds the bearer scheme, the default security and the rate-limit answer of every route.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A staff token from /auth/login, or a donor token from POST /donor-queries.",
                    ))
                    .build(),
            ),
        );
        let (name, response) = TooMany::response();
        components.responses.insert(name.to_string(), response);
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                op.responses
                    .responses
                    .entry("429".to_string())
                    .or_insert_with(|| Ref::from_response_name(name).into());
            }
        }
    }
}

/// The document's frame: info, shared components, security.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Concierge API",
        description = "The Concierge support desk: donor queries and tasks (both tickets), \
                       messages, calls, summaries and QA. Errors are application/problem+json \
                       (RFC 9457). Lists are cursor-paginated. The WebSocket protocol of \
                       /api/v1/ws is described in API.md.",
        license(name = "MIT OR Apache-2.0")
    ),
    security(("bearer" = [])),
    components(
        schemas(schemas::Problem, schemas::FieldError),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            TooLarge,
            WrongType,
            Invalid,
            Unavailable
        )
    ),
    modifiers(&Security),
    tags(
        (name = "health", description = "Liveness and details"),
        (name = "auth", description = "Login, registration, the current user"),
        (name = "users", description = "Staff accounts"),
        (name = "donor-queries", description = "The donor-support face of tickets"),
        (name = "tasks", description = "The team-desk face of tickets"),
        (name = "messages", description = "A ticket's conversation and its files"),
        (name = "calls", description = "Call requests and sessions"),
        (name = "insights", description = "Summaries and QA reviews"),
        (name = "meta", description = "This document, the docs page, the WebSocket upgrade")
    )
)]
struct Frame;

/// The OpenAPI document of `/api/v1`.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Frame::openapi();
    doc.merge(paths::Paths::openapi());
    // The frame's modifier ran before the paths were merged in; run it again over them.
    Security.modify(&mut doc);
    doc
}

/// The OpenAPI document as pretty-printed JSON (for `concierge openapi`).
pub fn openapi_json() -> String {
    document()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot render the document: {e}\"}}"))
}

/// `GET /api/v1/openapi.json`: the document.
#[get("/openapi.json")]
async fn openapi_document() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .content_type("application/json")
        .body(openapi_json())
}

/// `GET /api/v1/docs`: the interactive page.
#[get("/docs")]
async fn docs_page() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .content_type("text/html; charset=utf-8")
        .body(DOCS_PAGE)
}

/// Registers `/openapi.json` and `/docs` (inside the `/api/v1` scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(openapi_document).service(docs_page);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// `(METHOD, /api/v1/path)` of every `#[get("…")]`-style handler attribute under `src/`.
    fn registered_routes() -> BTreeSet<(String, String)> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut files = vec![format!("{root}/openapi.rs")];
        for entry in std::fs::read_dir(format!("{root}/routes")).expect("routes dir") {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "rs") {
                files.push(path.to_string_lossy().into_owned());
            }
        }
        let mut routes = BTreeSet::new();
        for file in files {
            let source = std::fs::read_to_string(&file).expect("read source");
            for line in source.lines().map(str::trim) {
                for method in ["get", "post", "put", "patch", "delete"] {
                    let Some(rest) = line.strip_prefix(&format!("#[{method}(\"")) else {
                        continue;
                    };
                    let path = rest.split('"').next().expect("a quoted path");
                    routes.insert((method.to_uppercase(), format!("/api/v1{path}")));
                }
            }
        }
        routes
    }

    fn documented_routes() -> BTreeSet<(String, String)> {
        let doc = serde_json::to_value(document()).expect("document as JSON");
        let mut routes = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in ["get", "post", "put", "patch", "delete"] {
                if item.get(method).is_some() {
                    routes.insert((method.to_uppercase(), path.clone()));
                }
            }
        }
        routes
    }

    #[test]
    fn every_route_is_documented_and_every_documented_route_exists() {
        let registered = registered_routes();
        let documented = documented_routes();
        assert!(registered.len() > 50, "found only {registered:?}");
        let missing: Vec<_> = registered.difference(&documented).collect();
        assert!(
            missing.is_empty(),
            "routes missing from OpenAPI: {missing:?}"
        );
        let extra: Vec<_> = documented.difference(&registered).collect();
        assert!(
            extra.is_empty(),
            "OpenAPI names routes that do not exist: {extra:?}"
        );
    }

    #[test]
    fn the_document_is_openapi_3_1_with_bearer_security_and_problem_errors() {
        let doc: serde_json::Value = serde_json::from_str(&openapi_json()).expect("valid JSON");
        assert!(doc["openapi"].as_str().expect("version").starts_with("3.1"));
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        assert!(doc["components"]["schemas"]["Problem"].is_object());
        assert!(doc["components"]["schemas"]["Ticket"].is_object());
        let login = &doc["paths"]["/api/v1/auth/login"]["post"];
        assert!(login["responses"]["200"].is_object());
        assert!(login["responses"]["429"].is_object());
        // Every $ref points at something that exists.
        let text = doc.to_string();
        for part in text.split("\"$ref\":\"#/components/").skip(1) {
            let target = part.split('"').next().expect("ref");
            let (kind, name) = target.split_once('/').expect("kind/name");
            assert!(
                doc["components"][kind][name].is_object(),
                "dangling $ref {target}"
            );
        }
    }

    #[test]
    fn the_docs_page_fetches_nothing_from_elsewhere() {
        assert!(DOCS_PAGE.contains("/api/v1/openapi.json"));
        for needle in ["http://", "https://", "//cdn", "<link", "src=\""] {
            assert!(!DOCS_PAGE.contains(needle), "docs page contains {needle}");
        }
    }
}
