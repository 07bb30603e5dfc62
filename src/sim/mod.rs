//! `bazaar sim`: the load tester. Drives a marketplace (one it starts itself, or a running
//! node) through a seeded scenario, open or closed loop, then audits it through the API and
//! writes a [`report::Report`].

pub mod limits;
pub mod report;
pub mod scenario;
