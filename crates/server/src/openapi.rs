//! The OpenAPI 3.1 document of `/api/v1`, generated with utoipa, served at
//! `/api/v1/openapi.json`, with a self-contained interactive page at `/api/v1/docs`.
//!
//! Every handler under `routes/` carries its own `#[utoipa::path]` above its actix-web route
//! attribute, which gives the path and the method. The routes are registered through
//! utoipa-actix-web, so the document is collected from what is actually registered (see
//! `startup::document`); this module holds its frame (info, tags, security, the `Problem`
//! responses, the 429 of every operation, the bearer token of every operation that names no
//! security of its own) and [`Aliases`] for one handler on several paths.
//! Bodies and parameters are described by the types the handlers read and send (`crate::wire`,
//! the route modules' own structs, [`Problem`](crate::problem::Problem)). A snapshot test pins
//! the whole document.

use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::web::Bytes;
use actix_web::{get, guard, http::header, web, HttpResponse, Route};
use std::collections::BTreeMap;
use utoipa::openapi::path::Paths;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi, ToResponse};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::OpenApiFactory;

/// The interactive page: plain HTML and JavaScript, no external asset.
const DOCS_PAGE: &str = include_str!("openapi_docs.html");

/// Error responses shared by the operations: `application/problem+json` bodies, each with its
/// status. Each is a component (`ToResponse`) and, named in a handler's `responses(...)`, a
/// `$ref` to it under its status (`IntoResponses`).
macro_rules! problem_responses {
    ($($name:ident($status:literal) => $description:literal),+ $(,)?) => {
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

            impl IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<Response>> {
                    let reference = Ref::from_response_name(stringify!($name));
                    BTreeMap::from([($status.to_string(), reference.into())])
                }
            }
        )+
    };
}

problem_responses! {
    BadRequest(400) => "Malformed JSON, a JSON type that does not fit, or a bad parameter.",
    Unauthorized(401) => "No token, or a tampered, expired or revoked one.",
    Forbidden(403) => "The caller's role may not use this route.",
    NotFound(404) => "No such object, or one the caller may not see.",
    Conflict(409) => "An illegal state change, or a duplicate.",
    TooLarge(413) => "The body is too large.",
    WrongType(415) => "The body's content type is not accepted.",
    Invalid(422) => "A well-typed value that is not allowed (`errors` names the fields).",
    TooMany(429) => "Rate limited; see Retry-After.",
    Unavailable(503) => "A required external service is not configured or down.",
}

/// Sets of problem responses that many operations share, named in `responses(...)` beside
/// the operation's own success response and the single problems above.
macro_rules! problem_sets {
    ($($(#[doc = $doc:literal])+ $name:ident = [$($part:ident),+ $(,)?];)+) => {
        $(
            $(#[doc = $doc])+
            pub struct $name;

            impl IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<Response>> {
                    let mut responses = BTreeMap::new();
                    $(responses.extend($part::responses());)+
                    responses
                }
            }
        )+
    };
}

problem_sets! {
    /// A route behind a token and a role: a bad parameter, no good token, a role that may not.
    Guarded = [BadRequest, Unauthorized, Forbidden];
    /// A guarded route on one object, which may not exist or be hidden from the caller.
    GuardedItem = [Guarded, NotFound];
    /// A request body: malformed, too large, of a content type not accepted, or not allowed.
    WithBody = [BadRequest, TooLarge, WrongType, Invalid];
}

/// Adds the bearer scheme, and to every operation the rate-limit answer and, unless its
/// handler names its own security, the bearer token.
struct Security;

/// The bearer scheme has no scopes.
const NO_SCOPES: [&str; 0] = [];

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
        let too_many = TooMany::responses();
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
                op.security
                    .get_or_insert_with(|| vec![SecurityRequirement::new("bearer", NO_SCOPES)]);
                for (status, response) in &too_many {
                    op.responses
                        .responses
                        .entry(status.clone())
                        .or_insert_with(|| response.clone());
                }
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
        schemas(crate::problem::Problem, crate::problem::Invalid),
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
        (name = "search", description = "Tickets and messages matching a query"),
        (name = "webhooks", description = "Endpoints that receive events, and their deliveries"),
        (name = "audit", description = "The audit trail: who did what, as a hash chain"),
        (name = "sla", description = "SLA policies and business-hours calendars"),
        (name = "meta", description = "This document, the docs page, the WebSocket upgrade")
    )
)]
struct Frame;

/// The document's frame, into which the registered operations are collected.
pub fn frame() -> utoipa::openapi::OpenApi {
    Frame::openapi()
}

/// Completes a collected document: the frame's modifier ran before the operations were added,
/// so it runs again over them (every operation may answer 429).
pub fn complete(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    Security.modify(&mut doc);
    doc
}

/// The document as pretty-printed JSON.
pub fn render(doc: &utoipa::openapi::OpenApi) -> String {
    doc.to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot render the document: {e}\"}}"))
}

/// The rendered document an app serves at `/openapi.json` (its app data).
pub struct Served(Bytes);

impl Served {
    /// Renders `doc` once for serving.
    pub fn new(doc: &utoipa::openapi::OpenApi) -> Self {
        Self(Bytes::from(render(doc)))
    }
}

/// One GET handler served on several paths: the API's alias routes. The handler's
/// `#[utoipa::path]` documents its own path; each alias is published as a copy of that
/// operation under its own path, operation id and summary.
pub struct Aliases<D> {
    doc: D,
    route: Box<dyn Fn() -> Route>,
    aliases: Vec<Alias>,
}

struct Alias {
    path: &'static str,
    operation_id: &'static str,
    summary: &'static str,
}

impl<D: utoipa::Path> Aliases<D> {
    /// `handler` on the path of `doc` (the `__path_` item of its `#[utoipa::path]`).
    pub fn get<F, Args>(doc: D, handler: F) -> Self
    where
        F: actix_web::Handler<Args>,
        Args: actix_web::FromRequest + 'static,
        F::Output: actix_web::Responder + 'static,
    {
        Self {
            doc,
            route: Box::new(move || web::get().to(handler.clone())),
            aliases: Vec::new(),
        }
    }

    /// The handler on `path` too, published as `operation_id` with `summary`.
    pub fn alias(
        mut self,
        path: &'static str,
        operation_id: &'static str,
        summary: &'static str,
    ) -> Self {
        self.aliases.push(Alias {
            path,
            operation_id,
            summary,
        });
        self
    }
}

impl<D: utoipa::Path> HttpServiceFactory for Aliases<D> {
    fn register(self, config: &mut AppService) {
        let mut paths = vec![D::path()];
        paths.extend(self.aliases.iter().map(|a| a.path.to_string()));
        // One resource per path, so each request's matched pattern (the metrics' route label)
        // is its own path; guarded like `#[get]`, so other methods on these paths reach their
        // own handlers.
        for path in paths {
            web::resource(path)
                .guard(guard::Get())
                .route((self.route)())
                .register(config);
        }
    }
}

impl<D: utoipa::Path + OpenApiFactory> OpenApiFactory for Aliases<D> {
    fn paths(&self) -> Paths {
        let mut paths = self.doc.paths();
        let Some(item) = paths.paths.get(&D::path()).cloned() else {
            return paths;
        };
        for alias in &self.aliases {
            let mut item = item.clone();
            if let Some(operation) = item.get.as_mut() {
                operation.operation_id = Some(alias.operation_id.to_string());
                operation.summary = Some(alias.summary.to_string());
            }
            paths.paths.insert(alias.path.to_string(), item);
        }
        paths
    }

    fn schemas(&self, schemas: &mut Vec<(String, RefOr<utoipa::openapi::schema::Schema>)>) {
        self.doc.schemas(schemas);
    }
}

/// `GET /api/v1/openapi.json`: the document.
#[utoipa::path(
    tag = "meta",
    operation_id = "openapi_document",
    summary = "This document",
    responses(
        (status = 200, body = std::collections::HashMap<String, serde_json::Value>, description = "The OpenAPI 3.1 document")
    ),
    security(()),
)]
#[get("/openapi.json")]
async fn openapi_document(doc: web::Data<Served>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .content_type("application/json")
        .body(doc.0.clone())
}

/// `GET /api/v1/docs`: the interactive page.
#[utoipa::path(
    tag = "meta",
    operation_id = "docs_page",
    summary = "The interactive documentation page",
    responses(
        (status = 200, body = String, content_type = "text/html", description = "An HTML page")
    ),
    security(()),
)]
#[get("/docs")]
async fn docs_page() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .content_type("text/html; charset=utf-8")
        .body(DOCS_PAGE)
}

/// Registers `/openapi.json` and `/docs` (inside the `/api/v1` scope).
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(openapi_document).service(docs_page);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::startup::{document, openapi_json, with_api};
    use actix_web::test as actix_test;
    use actix_web::{put, App};
    use utoipa_actix_web::AppExt;

    /// The document served at `/api/v1/openapi.json`, pinned: a handler whose path, parameters
    /// or response types change fails here until the snapshot is reviewed and updated.
    #[actix_web::test]
    async fn the_served_document_matches_its_snapshot() {
        let (app, doc) = with_api(App::new());
        let app = actix_test::init_service(app.app_data(web::Data::new(Served::new(&doc)))).await;
        let request = actix_test::TestRequest::get()
            .uri("/api/v1/openapi.json")
            .to_request();
        let body = actix_test::call_and_read_body(&app, request).await;
        let served: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(
            served,
            serde_json::to_value(document()).expect("the document as JSON")
        );
        insta::assert_json_snapshot!("openapi.json", served);
    }

    #[utoipa::path(
        get,
        path = "/things/{id}",
        operation_id = "thing",
        summary = "A thing",
        params(("id" = i64, Path, description = "The id.")),
        responses((status = 200, body = String, description = "The id back"))
    )]
    async fn thing(id: web::Path<i64>, req: actix_web::HttpRequest) -> String {
        format!("thing {id} at {}", req.match_pattern().unwrap_or_default())
    }

    #[put("/things/{id}")]
    async fn put_thing() -> &'static str {
        "put"
    }

    #[actix_web::test]
    async fn aliases_serve_one_handler_on_every_path_and_document_each() {
        let (app, doc) = App::new()
            .into_utoipa_app()
            .service(utoipa_actix_web::scope("/api").configure(|cfg| {
                cfg.service(Aliases::get(__path_thing, thing).alias(
                    "/stuff/{id}",
                    "stuff",
                    "Stuff",
                ))
                .map(|cfg| cfg.service(put_thing));
            }))
            .split_for_parts();
        let app = actix_test::init_service(app).await;
        for (method, uri, status, body) in [
            ("GET", "/api/things/5", 200, "thing 5 at /api/things/{id}"),
            ("GET", "/api/stuff/7", 200, "thing 7 at /api/stuff/{id}"),
            // The GET guard lets other methods on an alias's path reach their own handlers.
            ("PUT", "/api/things/5", 200, "put"),
            ("POST", "/api/stuff/7", 404, ""),
        ] {
            let request = actix_test::TestRequest::default()
                .method(method.parse().expect("method"))
                .uri(uri)
                .to_request();
            let reply = actix_test::call_service(&app, request).await;
            assert_eq!(reply.status().as_u16(), status, "{method} {uri}");
            assert_eq!(
                actix_test::read_body(reply).await,
                body.as_bytes(),
                "{method} {uri}"
            );
        }
        let doc = serde_json::to_value(doc).expect("JSON");
        let thing = &doc["paths"]["/api/things/{id}"]["get"];
        let stuff = &doc["paths"]["/api/stuff/{id}"]["get"];
        assert_eq!(thing["operationId"], "thing");
        assert_eq!(stuff["operationId"], "stuff");
        assert_eq!(stuff["summary"], "Stuff");
        assert_eq!(stuff["parameters"], thing["parameters"]);
        assert_eq!(stuff["responses"], thing["responses"]);
        assert!(thing["parameters"][0]["name"] == "id");
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
