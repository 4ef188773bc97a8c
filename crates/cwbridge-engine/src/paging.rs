//! One page of a long list, as the pages and the API show it.

use serde::Serialize;

/// Page `page` (from 1) of a list, with where it stands in the whole.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// This page's rows.
    pub rows: Vec<T>,
    /// Rows in the whole list.
    pub total: usize,
    /// This page, from 1 (a page past the end is the last one).
    pub page: usize,
    /// How many pages the list has (at least 1).
    pub pages: usize,
}

impl<T> Page<T> {
    /// Page `page` of `rows` at `per_page` a page (at least 1), counting `total` rows in all.
    pub fn of<I: IntoIterator<Item = T>>(
        rows: I,
        total: usize,
        page: usize,
        per_page: usize,
    ) -> Page<T> {
        let per_page = per_page.max(1);
        let pages = total.div_ceil(per_page).max(1);
        let page = page.clamp(1, pages);
        let rows = rows
            .into_iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .collect();
        Page {
            rows,
            total,
            page,
            pages,
        }
    }

    /// The same page with each row turned into another.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            rows: self.rows.into_iter().map(f).collect(),
            total: self.total,
            page: self.page,
            pages: self.pages,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_clamped_to_the_list() {
        let p = Page::of(0..95, 95, 2, 50);
        assert_eq!((p.rows.len(), p.rows[0], p.page, p.pages), (45, 50, 2, 2));
        let past = Page::of(0..95, 95, 9, 50);
        assert_eq!((past.page, past.rows[0]), (2, 50));
        let empty = Page::of(0..0, 0, 3, 50);
        assert_eq!((empty.page, empty.pages, empty.rows.len()), (1, 1, 0));
        assert_eq!(Page::of(0..3, 3, 0, 0).rows, vec![0]);
    }
}
