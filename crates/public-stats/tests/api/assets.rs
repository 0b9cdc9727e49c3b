//! The widget's static files: the seed's paths, ETags, compression, cache headers, the demo config.

use reqwest::header;

use crate::helpers::*;

#[tokio::test]
async fn the_seed_paths_are_served() {
    let app = spawn_app().await;
    for (path, kind) in [
        ("/", "text/html"),
        ("/scripts/chat-injector.js", "javascript"),
        ("/scripts/chat-widget.js", "javascript"),
        ("/style/widget.css", "text/css"),
        ("/img/logo.svg", "image/svg+xml"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let content_type = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(content_type.contains(kind), "{path}: {content_type}");
    }
}

/// Every file of widget/ as the service serves it (the README is not served).
fn widget_files() -> Vec<String> {
    fn walk(dir: &std::path::Path, prefix: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = format!("{prefix}/{name}");
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &path, out);
            } else if path != "/README.md" {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../widget");
    walk(&root, "", &mut files);
    files.sort();
    files
}

#[tokio::test]
async fn every_text_file_says_it_is_utf8() {
    let app = spawn_app().await;
    let files = widget_files();
    assert!(
        files.iter().any(|f| f.ends_with(".svg")) && files.iter().any(|f| f.ends_with(".css")),
        "the widget's files were not found: {files:?}"
    );
    let mut checked = Vec::new();
    for path in files
        .iter()
        .map(String::as_str)
        .chain(["/", "/scripts/demo-config.js"])
    {
        for encoding in ["identity", "gzip"] {
            let response = app
                .http
                .get(app.url(path))
                .header(header::ACCEPT_ENCODING, encoding)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{path}");
            let content_type = response.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(
                content_type.ends_with("; charset=utf-8"),
                "{path} ({encoding}) is served as {content_type}: a page without a charset of its \
                 own would decode it in its own encoding"
            );
            checked.push(content_type);
        }
    }
    // A 304 carries the type too.
    let etag = app.get("/scripts/chat-widget.js").await.headers()[header::ETAG].clone();
    let again = app
        .http
        .get(app.url("/scripts/chat-widget.js"))
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(
        again.headers()[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    for kind in ["text/html", "text/javascript", "text/css", "image/svg+xml"] {
        assert!(
            checked.iter().any(|t| t.starts_with(kind)),
            "no {kind} file was checked: {checked:?}"
        );
    }
}

#[tokio::test]
async fn files_have_strong_etags_and_revalidate_with_304() {
    let app = spawn_app().await;
    let response = app.get("/scripts/chat-injector.js").await;
    let etag = response.headers()[header::ETAG]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(etag.starts_with('"'), "a strong ETag, not W/: {etag}");
    let again = app
        .http
        .get(app.url("/scripts/chat-injector.js"))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
}

#[tokio::test]
async fn text_files_are_served_compressed_when_asked() {
    let app = spawn_app().await;
    for encoding in ["br", "gzip"] {
        let response = app
            .http
            .get(app.url("/scripts/chat-widget.js"))
            .header(header::ACCEPT_ENCODING, encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response
                .headers()
                .get(header::CONTENT_ENCODING)
                .and_then(|v| v.to_str().ok()),
            Some(encoding)
        );
    }
}

#[tokio::test]
async fn html_is_revalidated_and_scripts_are_cached_briefly() {
    let app = spawn_app().await;
    let page = app.get("/").await;
    assert_eq!(page.headers()[header::CACHE_CONTROL], "no-cache");
    let script = app.get("/scripts/chat-injector.js").await;
    assert_eq!(
        script.headers()[header::CACHE_CONTROL],
        "public, max-age=300"
    );
}

#[tokio::test]
async fn the_demo_page_is_configured_for_the_sandbox_org() {
    let app = spawn_app().await;
    let script = app
        .get("/scripts/demo-config.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        script.starts_with("window.pureCloudCustomChatConfig = "),
        "{script}"
    );
    assert!(script.contains(&DEMO_SALES_QUEUE.to_string()), "{script}");
    assert!(script.contains("/sandbox/genesys/v1"), "{script}");
}

/// gzipped bytes of a file as the service serves it.
async fn gzipped_size(app: &TestApp, path: &str) -> usize {
    let response = app
        .http
        .get(app.url(path))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    assert_eq!(
        response
            .headers()
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok()),
        Some("gzip"),
        "{path} is served gzipped"
    );
    response.bytes().await.unwrap().len()
}

/// The language packs in widget/scripts/i18n, as served paths: with `more`, the second part of
/// each (`{language}-more.js`, the callback form's and the chat's strings, loaded with them),
/// otherwise the part loaded before the widget shows.
fn language_packs(more: bool) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../widget/scripts/i18n");
    let mut packs: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            format!(
                "/scripts/i18n/{}",
                entry.unwrap().file_name().to_string_lossy()
            )
        })
        .filter(|path| path.ends_with("-more.js") == more)
        .collect();
    packs.sort();
    packs
}

#[tokio::test]
async fn the_widget_stays_within_its_size_budgets() {
    // The widget's promise to the pages that embed it: the loader ≤ 2 KB gzipped; everything loaded before a chat starts (JS, CSS,
    // images, and the largest language pack a page may ask for) ≤ 15 KB gzipped; the chat module,
    // loaded when a chat starts, ≤ 10 KB. The other modules are loaded when the visitor (or the
    // page) needs them: outside the budgets, printed.
    const LOADER_BUDGET: usize = 2 * 1024;
    const BEFORE_CHAT_BUDGET: usize = 15 * 1024;
    let app = spawn_app().await;
    let loader = gzipped_size(&app, "/scripts/chat-injector.js").await;
    assert!(
        loader <= LOADER_BUDGET,
        "the loader is {loader} B gzipped, over {LOADER_BUDGET}"
    );
    let mut before_chat = loader;
    for path in [
        "/scripts/chat-widget.js",
        "/style/widget.css",
        "/img/logo.svg",
    ] {
        before_chat += gzipped_size(&app, path).await;
    }
    let packs = language_packs(false);
    assert!(!packs.is_empty(), "the widget ships language packs");
    let mut largest_pack = 0;
    for pack in &packs {
        largest_pack = largest_pack.max(gzipped_size(&app, pack).await);
    }
    before_chat += largest_pack;
    assert!(
        before_chat <= BEFORE_CHAT_BUDGET,
        "everything before a chat is {before_chat} B gzipped, over {BEFORE_CHAT_BUDGET}"
    );
    println!("loader {loader} B, before a chat (largest language) {before_chat} B gzipped");
    // The chat module, loaded when a chat starts (its script and the stylesheet it adds at once),
    // has a budget of its own.
    const CHAT_BUDGET: usize = 10 * 1024;
    let mut chat = 0;
    for path in ["/scripts/chat-messaging.js", "/style/chat-rich.css"] {
        chat += gzipped_size(&app, path).await;
    }
    assert!(
        chat <= CHAT_BUDGET,
        "the chat module is {chat} B gzipped, over {CHAT_BUDGET}"
    );
    println!("chat module (chat-messaging.js, chat-rich.css) {chat} B gzipped");
    for path in on_demand_modules().into_iter().chain(language_packs(true)) {
        println!(
            "on demand: {path} {} B gzipped",
            gzipped_size(&app, &path).await
        );
    }
}

/// The widget's modules loaded on demand: every `scripts/chat-*.js` but the loader, the widget
/// itself and the chat module (which are measured above), read from the directory so that a new
/// module is listed without being named here.
fn on_demand_modules() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../widget/scripts");
    let mut modules: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("chat-") && name.ends_with(".js"))
        .filter(|name| {
            !matches!(
                name.as_str(),
                "chat-injector.js" | "chat-widget.js" | "chat-messaging.js"
            )
        })
        .map(|name| format!("/scripts/{name}"))
        .collect();
    modules.sort();
    modules
}
