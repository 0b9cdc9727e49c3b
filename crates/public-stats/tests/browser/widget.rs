//! The widget as the tests see it: its stable selectors (documented in widget/README.md) and the
//! ways to reach into its open shadow root. Clicks and typing go through WebDriver (fantoccini's
//! shadow-root support: real pointer and key events); reads go through small scripts, which see
//! exactly what the page sees.

use fantoccini::Locator;
use fantoccini::elements::Element;
use serde_json::{Value, json};

use std::time::Duration;

use crate::browser::{Browser, WAIT};

/// The custom element the loader adds to `document.body`; the widget lives in its shadow root.
pub const HOST: &str = "public-stats-widget";

/// JS: the widget's shadow root (or null).
const ROOT: &str = "(document.querySelector('public-stats-widget') || {}).shadowRoot";

pub struct Widget<'a> {
    pub browser: &'a Browser,
}

impl<'a> Widget<'a> {
    pub fn new(browser: &'a Browser) -> Self {
        Widget { browser }
    }

    /// Waits until the widget has mounted, styled itself and fired `ready`; from then on every
    /// widget event is recorded in `window.__widgetEvents` (see [`Widget::events`]).
    pub async fn wait_ready(&self) {
        self.browser
            .wait_js(
                "the widget to mount (a shadow root with its header)",
                &format!("{ROOT} && {ROOT}.getElementById('psw-header')"),
            )
            .await;
        self.browser
            .js_async(
                r#"
                const done = arguments[arguments.length - 1];
                const api = window.publicStatsWidget;
                if (!window.__widgetEvents) {
                  window.__widgetEvents = [];
                  for (const name of ['ready', 'opened', 'closed', 'stats', 'hours', 'message', 'callback', 'error']) {
                    api.on(name, data => window.__widgetEvents.push({ name, data: data === undefined ? null : data }));
                  }
                }
                api.on('ready', () => done(true));
                "#,
                vec![],
            )
            .await;
        // Hidden (display: none) until its stylesheet has loaded: wait until it is laid out.
        self.wait_visible("#psw-header").await;
    }

    /// An element of the shadow root, for WebDriver interaction.
    pub async fn find(&self, selector: &str) -> Element {
        let host = self
            .browser
            .client
            .find(Locator::Css(HOST))
            .await
            .unwrap_or_else(|e| panic!("the widget's host element <{HOST}>: {e}"));
        let root = host
            .shadow_root()
            .await
            .expect("the widget's open shadow root");
        root.find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("{selector} in the widget: {e}"))
    }

    /// Clicks an element once it has stopped moving: the panel grows over `expandAnimationMs`,
    /// and WebDriver clicks where the element was when the click began.
    pub async fn click(&self, selector: &str) {
        self.wait_still(selector).await;
        self.find(selector)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {selector}: {e}"));
    }

    /// Clicks the header and waits until the panel has finished growing.
    pub async fn open(&self) {
        self.click("#psw-header").await;
        self.wait_visible("#psw-panel").await;
        self.wait_still("#psw-panel").await;
    }

    /// Waits until the element is laid out and its box is the same for three animation frames.
    pub async fn wait_still(&self, selector: &str) {
        let still = self
            .browser
            .js_async(
                &format!(
                    r#"
                    const done = arguments[arguments.length - 1];
                    const selector = arguments[0];
                    const root = {ROOT};
                    const start = performance.now();
                    let last = null, same = 0, frames = 0;
                    const seen = [];
                    (function frame() {{
                      const e = root && root.querySelector(selector);
                      const r = e && e.getBoundingClientRect();
                      const key = r && r.width > 0 && [r.x, r.y, r.width, r.height].join();
                      same = key && key === last ? same + 1 : 0;
                      last = key;
                      frames++;
                      if (key !== seen[seen.length - 1]) seen.push(key || 'not laid out');
                      if (same >= 3) return done(true);
                      if (performance.now() - start > 5000) return done({{ frames, boxes: seen.slice(-6) }});
                      requestAnimationFrame(frame);
                    }})();
                    "#
                ),
                vec![json!(selector)],
            )
            .await;
        assert_eq!(
            still,
            json!(true),
            "{selector} never stood still in 5 s (its last boxes, in frames): {still}"
        );
    }

    /// Types into a field of the widget, as the visitor would (focus, then key events).
    pub async fn type_into(&self, selector: &str, text: &str) {
        self.find(selector)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into {selector}: {e}"));
    }

    /// Runs `body` with `root` bound to the shadow root and `$` to its querySelector.
    pub async fn eval(&self, body: &str) -> Value {
        self.browser
            .js(
                &format!(
                    "const root = {ROOT}; const $ = s => root && root.querySelector(s); {body}"
                ),
                vec![],
            )
            .await
    }

    /// Waits until the expression `expr` (with `root` and `$` bound) is truthy.
    pub async fn wait(&self, what: &str, expr: &str) -> Value {
        self.wait_for(what, expr, WAIT).await
    }

    pub async fn wait_for(&self, what: &str, expr: &str, timeout: Duration) -> Value {
        self.browser
            .wait_js_for(
                what,
                &format!(
                    "(() => {{ const root = {ROOT}; const $ = s => root && root.querySelector(s); \
                     return {expr}; }})()"
                ),
                timeout,
            )
            .await
    }

    /// The rendered text of an element (`innerText`: what is visible, whitespace-collapsed).
    pub async fn text(&self, selector: &str) -> String {
        self.eval(&format!(
            "const e = $({s}); return e ? e.innerText : null;",
            s = json!(selector)
        ))
        .await
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("{selector} is not in the widget"))
    }

    /// Waits until the element's text contains `needle`; the failure shows the text it had.
    pub async fn wait_text(&self, selector: &str, needle: &str) -> String {
        self.wait_text_for(selector, needle, WAIT).await
    }

    pub async fn wait_text_for(&self, selector: &str, needle: &str, timeout: Duration) -> String {
        // Not yet: `{pending: text}`, so a timeout shows what the element said instead.
        let expr = format!(
            "(() => {{ const t = $({s}) ? $({s}).innerText : null; \
             return t !== null && t.includes({n}) ? t : {{ pending: t }}; }})()",
            s = json!(selector),
            n = json!(needle)
        );
        self.wait_for(&format!("{selector} to say '{needle}'"), &expr, timeout)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Whether an element takes up space on screen (not hidden, not display: none, non-zero box).
    pub async fn is_visible(&self, selector: &str) -> bool {
        self.eval(&format!("return {};", visible_js(selector)))
            .await
            .as_bool()
            .unwrap_or(false)
    }

    pub async fn wait_visible(&self, selector: &str) {
        self.wait(&format!("{selector} to be visible"), &visible_js(selector))
            .await;
    }

    pub async fn wait_hidden(&self, selector: &str) {
        self.wait(
            &format!("{selector} to be hidden"),
            &format!("!{}", visible_js(selector)),
        )
        .await;
    }

    /// The element's bounding box in CSS pixels: `[x, y, width, height]`.
    pub async fn rect(&self, selector: &str) -> [f64; 4] {
        let v = self
            .eval(&format!(
                "const r = $({}).getBoundingClientRect(); return [r.x, r.y, r.width, r.height];",
                json!(selector)
            ))
            .await;
        let n = |i: usize| v[i].as_f64().unwrap_or(f64::NAN);
        [n(0), n(1), n(2), n(3)]
    }

    /// A computed style property of an element of the widget.
    pub async fn style(&self, selector: &str, property: &str) -> String {
        self.eval(&format!(
            "return getComputedStyle($({})).getPropertyValue({});",
            json!(selector),
            json!(property)
        ))
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// The id of the element that has the keyboard focus inside the widget ("" when the focus is
    /// outside it).
    pub async fn focused(&self) -> String {
        self.eval(
            "return document.activeElement && document.activeElement.localName === 'public-stats-widget' \
             && root.activeElement ? (root.activeElement.id || root.activeElement.outerHTML.slice(0, 80)) : '';",
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// `aria-expanded` of the header button.
    pub async fn expanded(&self) -> String {
        self.eval("return $('#psw-header').getAttribute('aria-expanded');")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The widget events recorded since [`Widget::wait_ready`], by name.
    pub async fn events(&self, name: &str) -> Vec<Value> {
        self.browser
            .js(
                "return (window.__widgetEvents || []).filter(e => e.name === arguments[0]).map(e => e.data);",
                vec![json!(name)],
            )
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

fn visible_js(selector: &str) -> String {
    format!(
        "(() => {{ const e = $({s}); if (!e) return false; const r = e.getBoundingClientRect(); \
         const c = getComputedStyle(e); return r.width > 0 && r.height > 0 && \
         c.visibility !== 'hidden' && !e.closest('[hidden]'); }})()",
        s = json!(selector)
    )
}
