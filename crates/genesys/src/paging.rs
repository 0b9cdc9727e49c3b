//! What Genesys's entity listings share: a page of `entities` with `pageCount` and/or `total`,
//! and when to stop asking for the next one.
//!
//! It knows no endpoint; the capability modules (`routing`, `architect`) build the requests.

use serde::Deserialize;

/// Genesys's largest page size for most listings.
pub(crate) const DEFAULT_PAGE_SIZE: u32 = 100;
/// A server that keeps saying "more pages" must not keep the client looping.
pub(crate) const MAX_PAGES: u32 = 1_000;

/// One page of an `…EntityListing`. Only what paging needs is read; the links are not, since
/// the next page is asked for by number.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Page<T> {
    #[serde(default = "Vec::new")]
    pub entities: Vec<T>,
    pub page_count: Option<u32>,
    pub total: Option<u64>,
}

impl<T> Page<T> {
    /// Trusts `pageCount` when given, then `total`, then a short or empty page. `collected`
    /// counts the entities of every page so far, this one included.
    pub(crate) fn is_last(&self, page_number: u32, collected: usize, page_size: u32) -> bool {
        let received = self.entities.len();
        if received == 0 {
            return true;
        }
        if let Some(page_count) = self.page_count {
            return page_number >= page_count;
        }
        if let Some(total) = self.total {
            return collected as u64 >= total;
        }
        received < page_size as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_stops_on_page_count_total_or_short_page() {
        let page = |entities: usize, page_count, total| Page {
            entities: vec![(); entities],
            page_count,
            total,
        };
        assert!(!page(1, Some(3), None).is_last(2, 2, 1));
        assert!(page(1, Some(3), None).is_last(3, 3, 1));
        assert!(!page(1, None, Some(3)).is_last(2, 2, 1));
        assert!(page(1, None, Some(3)).is_last(3, 3, 1));
        assert!(page(1, None, None).is_last(1, 1, 2));
        assert!(page(0, Some(9), None).is_last(1, 0, 2));
    }
}
