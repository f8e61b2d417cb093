//! The browser pages (`/`, `/support`, `/console`) and their assets, embedded in the binary
//! from `crates/server/pages/` (docs/pages.md). They use only the public API; they are not part
//! of `/api/v1` and not in its OpenAPI document.

use actix_web::http::header::{self, HeaderValue};
use actix_web::web::{self, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};

/// Only this origin: no inline script or style, no other host, no framing.
const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// One embedded file: its path, content type, and bytes.
struct Page {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! pages {
    ($(($path:literal, $type:expr, $file:literal)),* $(,)?) => {
        &[$(Page {
            path: $path,
            content_type: $type,
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/pages/", $file)),
        }),*]
    };
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

static PAGES: &[Page] = pages![
    ("/", HTML, "index.html"),
    ("/support", HTML, "support.html"),
    ("/console", HTML, "console.html"),
    ("/assets/app.css", "text/css; charset=utf-8", "app.css"),
    ("/assets/client.js", JS, "client.js"),
    ("/assets/support.js", JS, "support.js"),
    ("/assets/console.js", JS, "console.js"),
    ("/favicon.ico", "image/x-icon", "favicon.ico"),
];

/// A strong validator from the bytes (FNV-1a), so a reload revalidates cheaply.
fn etag(body: &[u8]) -> String {
    let hash = body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("\"{hash:016x}\"")
}

async fn serve(req: HttpRequest) -> HttpResponse {
    let Some(page) = PAGES.iter().find(|p| p.path == req.path()) else {
        return HttpResponse::NotFound().finish();
    };
    let tag = etag(page.body);
    // Pages and scripts change with the binary: revalidate every time; the icon may be kept.
    let cache = if page.path == "/favicon.ico" {
        "public, max-age=86400"
    } else {
        "no-cache"
    };
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::ETAG, tag));
    if page.content_type == HTML {
        response.insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ));
    }
    if fresh {
        return response.finish();
    }
    response.content_type(page.content_type).body(page.body)
}

/// Registers every page and asset for `GET` (and `HEAD`).
pub fn routes(cfg: &mut ServiceConfig) {
    for page in PAGES {
        cfg.route(page.path, web::get().to(serve))
            .route(page.path, web::head().to(serve));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test as actix_test;
    use actix_web::App;

    #[actix_web::test]
    async fn every_page_is_served_with_its_type_and_policy() {
        let app = actix_test::init_service(App::new().configure(routes)).await;
        for page in PAGES {
            let res = actix_test::call_service(
                &app,
                actix_test::TestRequest::get().uri(page.path).to_request(),
            )
            .await;
            assert_eq!(res.status(), 200, "{}", page.path);
            let headers = res.headers();
            assert_eq!(
                headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok()),
                Some(page.content_type),
                "{}",
                page.path
            );
            assert_eq!(
                headers.contains_key(header::CONTENT_SECURITY_POLICY),
                page.content_type == HTML,
                "{}",
                page.path
            );
            let tag = headers.get(header::ETAG).cloned().expect("an ETag");
            let again = actix_test::TestRequest::get()
                .uri(page.path)
                .insert_header((header::IF_NONE_MATCH, tag))
                .to_request();
            assert_eq!(
                actix_test::call_service(&app, again).await.status(),
                304,
                "{}",
                page.path
            );
            let head = actix_test::TestRequest::default()
                .method(actix_web::http::Method::HEAD)
                .uri(page.path)
                .to_request();
            assert_eq!(
                actix_test::call_service(&app, head).await.status(),
                200,
                "{}",
                page.path
            );
        }
    }

    #[test]
    fn pages_fetch_nothing_from_elsewhere_and_stay_small() {
        for page in PAGES.iter().filter(|p| p.content_type != "image/x-icon") {
            let text = std::str::from_utf8(page.body).unwrap_or_default();
            for needle in ["http://", "https://", "//cdn", "<script>", "style=\""] {
                assert!(!text.contains(needle), "{} contains {needle}", page.path);
            }
        }
        let script: usize = PAGES
            .iter()
            .filter(|p| p.content_type == JS)
            .map(|p| p.body.len())
            .sum();
        assert!(script < 100 * 1024, "{script} bytes of JavaScript");
    }
}
