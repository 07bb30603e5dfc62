//! The document's own invariants, checked on the assembled document.
