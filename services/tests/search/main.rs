//! Catalog search: ranking, filters, sorts, pagination, facet counts checked against a count
//! over the inserted documents, upsert and remove semantics, reopening, rebuild detection and
//! hostile input. Plain `#[test]`s over in-memory or temporary-directory indexes.
//!
//! `support` builds the documents and indexes; `model` is the tests' own reading of a query
//! over the documents, which `reading`, `writing` and `reopening` compare the index with;
//! `hostile` feeds it what it must refuse.

mod hostile;
mod model;
mod reading;
mod reopening;
mod support;
mod writing;
