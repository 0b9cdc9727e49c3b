//! What Genesys's entity listings share: `pageSize`/`pageNumber` (capped silently, as Genesys
//! does), `sortOrder`, list parameters (comma-joined, as both official SDKs send them, or
//! repeated) and the `firstUri`/`nextUri`/… links that repeat the query.
//!
//! It knows nothing about what is listed; the listing endpoints (routing, Architect) use it.

use std::cmp::Ordering;

use crate::api::error::ApiError;

/// A request's query string as ordered pairs, since a list parameter may repeat.
pub struct ListQuery(Vec<(String, String)>);

impl ListQuery {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        ListQuery(pairs)
    }

    /// The last value of `name`, as a web framework reading one value would see it.
    pub fn single(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every value of a list parameter: repeated keys and comma-joined values alike.
    pub fn list(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .flat_map(|(_, value)| value.split(','))
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .collect()
    }
}

pub struct Paging {
    pub size: usize,
    pub number: usize,
}

impl Paging {
    /// `pageSize` (default 25) and `pageNumber` (default 1) must be positive integers. A
    /// `pageSize` over `cap` is served as `cap`: a Genesys listing returns at most its cap and
    /// says so in `pageSize`, without an error.
    pub fn read(query: &ListQuery, cap: usize) -> Result<Paging, ApiError> {
        let positive = |name: &str, default: usize| -> Result<usize, ApiError> {
            match query.single(name) {
                None => Ok(default),
                Some(raw) => raw
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "{name} must be a positive integer, got {raw:?}"
                        ))
                    }),
            }
        };
        Ok(Paging {
            size: positive("pageSize", 25)?.min(cap),
            number: positive("pageNumber", 1)?,
        })
    }

    /// The entries of this page.
    pub fn page<T>(&self, all: Vec<T>) -> Vec<T> {
        all.into_iter()
            .skip((self.number - 1).saturating_mul(self.size))
            .take(self.size)
            .collect()
    }

    pub fn page_count(&self, total: usize) -> usize {
        total.div_ceil(self.size)
    }
}

/// `sortOrder`: `asc` (the default) or `desc`, any case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    Desc,
}

impl SortOrder {
    pub fn read(query: &ListQuery) -> Result<SortOrder, ApiError> {
        match query.single("sortOrder") {
            None => Ok(SortOrder::Asc),
            Some(raw) if raw.eq_ignore_ascii_case("asc") => Ok(SortOrder::Asc),
            Some(raw) if raw.eq_ignore_ascii_case("desc") => Ok(SortOrder::Desc),
            Some(raw) => Err(ApiError::bad_request(format!(
                "Invalid sortOrder '{raw}'. Valid values: asc, desc"
            ))),
        }
    }

    /// Sorts by `key`, case-insensitively, in this order.
    pub fn sort<T>(self, items: &mut [T], key: impl Fn(&T) -> String) {
        items.sort_by(|a, b| {
            let order: Ordering = key(a).to_lowercase().cmp(&key(b).to_lowercase());
            match self {
                SortOrder::Asc => order,
                SortOrder::Desc => order.reverse(),
            }
        });
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Asc => "asc",
            SortOrder::Desc => "desc",
        }
    }
}

/// The URIs of a listing's pages: `path?pageSize=…&pageNumber=N` followed by `extra`, the other
/// parameters the request gave, so that following a link keeps the same filter.
pub struct Links<'a> {
    pub path: &'a str,
    pub size: usize,
    pub extra: Vec<(&'static str, String)>,
}

impl Links<'_> {
    pub fn page(&self, number: usize) -> String {
        let mut uri = format!("{}?pageSize={}&pageNumber={number}", self.path, self.size);
        for (name, value) in &self.extra {
            uri.push_str(&format!("&{name}={}", encode_query_value(value)));
        }
        uri
    }
}

/// Percent-encodes everything but unreserved characters (enough for a query value).
fn encode_query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(raw: &[(&str, &str)]) -> ListQuery {
        ListQuery::new(
            raw.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn list_parameters_may_be_comma_joined_or_repeated() {
        let q = query(&[("id", "a,b"), ("id", " c "), ("id", ""), ("name", "x")]);
        assert_eq!(q.list("id"), ["a", "b", "c"]);
        assert_eq!(q.single("name"), Some("x"));
    }

    #[test]
    fn page_sizes_are_capped_and_must_be_positive() {
        let capped = Paging::read(&query(&[("pageSize", "9999")]), 500).expect("valid");
        assert_eq!(capped.size, 500);
        assert!(Paging::read(&query(&[("pageSize", "0")]), 500).is_err());
        assert!(Paging::read(&query(&[("pageNumber", "x")]), 500).is_err());
    }
}
