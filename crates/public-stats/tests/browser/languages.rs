//! Languages: a French page gets a French widget (from `<html lang>`), the `locale`
//! setting picks a pack whatever the page's language, and `strings` replace any built-in or
//! pack string; a tag that is not a locale falls back to English.

use serde_json::json;

use crate::axe::assert_no_violations;
use crate::helpers::spawn_app;
use crate::host::HostPages;
use crate::host_pages::open_page;
use crate::widget::Widget;

#[tokio::test]
async fn a_french_page_gets_a_french_widget_and_strings_override_the_built_in_ones() {
    let app = spawn_app().await;
    let pages = HostPages::start(app.addr).await;
    let browser = open_page(&app, &pages, "fr.html", "languages").await;
    let w = Widget::new(&browser);

    // Collapsed: the header in French, and the widget says which language it speaks.
    w.wait_text("#psw-title", "Cliquez ici pour discuter").await;
    assert_eq!(
        w.eval("return $('#psw').getAttribute('lang');").await,
        json!("fr"),
        "the widget's lang attribute"
    );
    browser.screenshot("fr-collapsed").await;
    assert_no_violations(&browser, "French page, collapsed").await;

    // The chooser: title, availability with the French plural, both tiles.
    w.open().await;
    w.wait_text("#psw-title", "Choisissez un canal").await;
    w.wait_text("#psw-agents", "3 conseillers disponibles")
        .await;
    w.wait_text("#psw-tile-chat", "Discuter avec un expert")
        .await;
    w.wait_text("#psw-tile-callback", "Être rappelé").await;
    browser.screenshot("fr-opened").await;
    assert_no_violations(&browser, "French page, chooser").await;

    // The callback form: labels and the errors of the checks before sending.
    w.click("#psw-tile-callback").await;
    w.wait_visible("#psw-callback-form").await;
    w.wait_text("#psw-callback", "Prénom").await;
    w.click("#psw-callback-submit").await;
    w.wait_text("#psw-first-error", "Saisissez votre prénom.")
        .await;
    browser.screenshot("fr-callback-errors").await;
    assert_no_violations(&browser, "French page, callback form with errors").await;

    // An English page whose configuration asks for German and overrides one string: the pack
    // is used, except where the configuration says otherwise.
    let settings = json!({ "locale": "de", "strings": { "callbackTile": "Rufen Sie mich an!" } });
    browser.goto_fresh(&pages.configured(&settings)).await;
    w.wait_ready().await;
    w.wait_text("#psw-title", "Hier klicken zum Chatten").await;
    w.open().await;
    w.wait_text("#psw-agents", "3 Mitarbeiter verfügbar").await;
    w.wait_text("#psw-tile-chat", "Mit einem Experten chatten")
        .await;
    w.wait_text("#psw-tile-callback", "Rufen Sie mich an!")
        .await;
    assert_eq!(
        w.eval("return $('#psw').getAttribute('lang');").await,
        json!("de"),
        "the widget's lang attribute with locale: 'de'"
    );
    browser.screenshot("de-overridden").await;
    assert_no_violations(&browser, "locale de with a string override, chooser").await;

    // English (the page's language) with overrides of a header text and a tile.
    let settings = json!({ "strings": { "defaultText": "Talk to us", "chatTile": "Chat now" } });
    browser.goto_fresh(&pages.configured(&settings)).await;
    w.wait_ready().await;
    w.wait_text("#psw-title", "Talk to us").await;
    w.open().await;
    w.wait_text("#psw-tile-chat", "Chat now").await;
    w.wait_text("#psw-tile-callback", "Let us call you back")
        .await;
    browser.screenshot("en-overridden").await;

    // A language tag that is not a locale (written with an underscore, as some sites do):
    // English, and the numbers still show.
    browser
        .goto_fresh(&pages.configured(&json!({ "locale": "en_US" })))
        .await;
    w.wait_ready().await;
    w.open().await;
    w.wait_text("#psw-agents", "3 agents available").await;
    browser.close().await;
}
