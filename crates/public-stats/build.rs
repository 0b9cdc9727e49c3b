// Embeds the widget's files (../../widget) into the binary, pre-compressed, so a deployment is one
// file. memory-serve does the embedding, ETags and gzip/brotli negotiation.
//
// The sources are written to be read; what is served is smaller. The files are copied to
// $OUT_DIR/widget first, and in the .js and .css files the comments (but not `/*!` banners), the
// indentation and the blank lines are left out (see `strip`). Nothing is renamed and no lines are
// joined: the served code is the source's, line for line.
//
// Why by hand rather than a minifier crate: the JavaScript minifiers on crates.io either pull a
// whole compiler front end into the build (swc, oxc) or tokenise JavaScript themselves and have
// broken valid code on regular expressions and template literals before (minifier, minify-js).
// Dropping whole comment lines and indentation never touches a token, needs no JavaScript
// grammar, and the browser tests run against exactly this output; the few bytes a real minifier
// would save more are not needed inside the size budget.

use std::fs;
use std::path::Path;
use std::time::SystemTime;

const SOURCE: &str = "../../widget";

fn main() {
    println!("cargo::rerun-if-changed={SOURCE}");
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR (run by cargo)")).join("widget");
    if out.exists() {
        fs::remove_dir_all(&out).expect("remove the old copy of the widget");
    }
    copy(Path::new(SOURCE), &out);
    memory_serve::load_directory(&out);
}

/// Copies `from` to `to`, stripping the .js and .css files. Each copy gets its source's
/// modification time: memory-serve asks cargo to watch the copy, and copies newer than this run
/// would make cargo run this script again on every build.
fn copy(from: &Path, to: &Path) {
    let modified = |path: &Path| -> SystemTime {
        fs::metadata(path)
            .and_then(|m| m.modified())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    if from.is_dir() {
        fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
        let mut entries: Vec<_> = fs::read_dir(from)
            .unwrap_or_else(|e| panic!("{}: {e}", from.display()))
            .map(|entry| entry.expect("a directory entry").file_name())
            .collect();
        entries.sort();
        for name in entries {
            copy(&from.join(&name), &to.join(&name));
        }
    } else {
        let name = from.to_string_lossy();
        let stripped = if name.ends_with(".js") {
            Some(strip(&read(from), Language::JavaScript, &name))
        } else if name.ends_with(".css") {
            Some(strip(&read(from), Language::Css, &name))
        } else {
            None
        };
        match stripped {
            Some(text) => fs::write(to, text),
            None => fs::copy(from, to).map(|_| ()),
        }
        .unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    }
    // A directory's time is set after its files, whose creation changed it.
    fs::File::open(to)
        .and_then(|file| file.set_modified(modified(from)))
        .unwrap_or_else(|e| panic!("{}: {e}", to.display()));
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[derive(Clone, Copy, PartialEq)]
enum Language {
    JavaScript,
    Css,
}

/// Leaves out what only a reader needs: comments, indentation, blank lines.
///
/// Line by line, without parsing, so it relies on two habits of the widget's sources, checked
/// here where they can be: a comment to leave out starts its line (`// …`, or a `/* … */` block
/// with no code after its end; a comment after code stays, since a `//` inside a string or a
/// regular expression cannot be told from one), and no string or template literal spans lines
/// (its indentation would go). CSS comments go wherever they are (`/* */` cannot be in a CSS
/// string of this widget). `/*! … */` banners stay.
fn strip(text: &str, language: Language, name: &str) -> String {
    let text = match language {
        Language::Css => strip_css_comments(text, name),
        Language::JavaScript => text.to_owned(),
    };
    let mut out = String::with_capacity(text.len());
    let mut in_comment = false;
    let mut in_banner = false;
    for line in text.lines() {
        let line = line.trim();
        if in_comment || in_banner {
            let end = line.find("*/");
            if let Some(end) = end {
                assert!(
                    line[end + 2..].trim().is_empty(),
                    "{name}: code after the end of a comment block, on its line: {line}"
                );
            }
            if in_banner {
                out.push_str(line);
                out.push('\n');
            }
            if end.is_some() {
                in_comment = false;
                in_banner = false;
            }
            continue;
        }
        if language == Language::JavaScript {
            assert!(
                !line.ends_with('\\'),
                "{name}: a line continued with a backslash: {line}"
            );
            if line.starts_with("//") {
                continue;
            }
            if let Some(comment) = line.strip_prefix("/*") {
                let banner = comment.starts_with('!');
                match comment.find("*/") {
                    Some(end) => assert!(
                        comment[end + 2..].trim().is_empty(),
                        "{name}: code after a comment, on its line: {line}"
                    ),
                    None => {
                        in_comment = !banner;
                        in_banner = banner;
                    }
                }
                if !banner {
                    continue;
                }
            }
        }
        if !line.is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(!in_comment && !in_banner, "{name}: a comment is not closed");
    out
}

/// CSS without its comments (except `/*! … */`).
fn strip_css_comments(text: &str, name: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        let end = rest[start + 2..]
            .find("*/")
            .unwrap_or_else(|| panic!("{name}: a comment is not closed"))
            + start
            + 4;
        out.push_str(&rest[..start]);
        if rest[start..].starts_with("/*!") {
            out.push_str(&rest[start..end]);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}
