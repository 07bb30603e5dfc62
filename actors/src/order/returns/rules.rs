//! The marketplace's rules for returns (`[returns]` in the cluster configuration): each
//! line's window by its category, which reasons are approved without support and up to what
//! amount, and the carrier on return labels. The gateway turns a customer's request into a
//! [`ReturnRequest`] with them; the order's rules do the rest.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{ReturnLine, ReturnReason, ReturnRequest};
use crate::limits::{ORDER_TEXT_BYTES_MAX, RETURN_WINDOW_DAYS_MAX};
use crate::money::{Currency, Money};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReturnRules {
    /// Days after delivery within which a line may be returned, unless its category has its
    /// own.
    pub window_days: u16,
    /// Days per category name; of the names on a product's category path, the most
    /// specific with an entry decides.
    pub category_window_days: BTreeMap<String, u16>,
    /// Reasons a return is approved for without support...
    pub auto_approve_reasons: Vec<ReturnReason>,
    /// ...when it refunds at most this many minor units of the order's currency.
    pub auto_approve_max_minor: i64,
    /// The carrier named on return labels.
    pub carrier: String,
}

impl Default for ReturnRules {
    fn default() -> ReturnRules {
        ReturnRules {
            window_days: 30,
            category_window_days: BTreeMap::new(),
            auto_approve_reasons: vec![
                ReturnReason::Damaged,
                ReturnReason::Defective,
                ReturnReason::WrongItem,
                ReturnReason::NotAsDescribed,
            ],
            auto_approve_max_minor: 20_000,
            carrier: "returns-post".into(),
        }
    }
}

impl ReturnRules {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        let windows = std::iter::once(&self.window_days).chain(self.category_window_days.values());
        if windows.into_iter().any(|days| *days > RETURN_WINDOW_DAYS_MAX) {
            return Err(format!("returns: a window is at most {RETURN_WINDOW_DAYS_MAX} days"));
        }
        if self.auto_approve_max_minor < 0 {
            return Err("returns.auto_approve_max_minor must not be negative".into());
        }
        if self.carrier.is_empty() || self.carrier.len() > ORDER_TEXT_BYTES_MAX {
            return Err(format!("returns.carrier must be 1 to {ORDER_TEXT_BYTES_MAX} bytes"));
        }
        Ok(())
    }

    /// The window of a product on `category_path` (most general first).
    pub fn window_days(&self, category_path: &[String]) -> u16 {
        let specific = category_path.iter().rev();
        let mut found = specific.filter_map(|name| self.category_window_days.get(name));
        found.next().copied().unwrap_or(self.window_days)
    }

    /// The request for `lines` (each with its window, from [`ReturnRules::window_days`]).
    pub fn request(
        &self,
        lines: Vec<ReturnLine>,
        reason: ReturnReason,
        comment: String,
        currency: Currency,
    ) -> ReturnRequest {
        let automatic = self.auto_approve_reasons.contains(&reason);
        ReturnRequest {
            lines,
            reason,
            comment,
            auto_approve_up_to: automatic
                .then(|| Money::new(self.auto_approve_max_minor, currency)),
            carrier: self.carrier.clone(),
            returnless: false,
            request_id: None,
        }
    }

    /// Support's refund of `lines` whose units need not come back (see
    /// [`ReturnRequest::returnless`]).
    pub fn refund_without_return(
        &self,
        lines: Vec<ReturnLine>,
        (reason, comment): (ReturnReason, String),
        request_id: String,
    ) -> ReturnRequest {
        ReturnRequest {
            lines,
            reason,
            comment,
            auto_approve_up_to: None,
            carrier: self.carrier.clone(),
            returnless: true,
            request_id: Some(request_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn the_most_specific_category_with_a_window_decides() {
        let mut rules = ReturnRules::default();
        rules.category_window_days.insert("Electronics".into(), 15);
        rules.category_window_days.insert("Phones".into(), 7);
        assert_eq!(rules.window_days(&path(&["Electronics", "Phones"])), 7);
        assert_eq!(rules.window_days(&path(&["Electronics", "Cables"])), 15);
        assert_eq!(rules.window_days(&path(&["Books"])), 30);
        assert_eq!(rules.window_days(&[]), 30);
    }

    #[test]
    fn only_listed_reasons_are_approved_without_support() {
        let rules = ReturnRules::default();
        let damaged =
            rules.request(Vec::new(), ReturnReason::Damaged, String::new(), Currency::EUR);
        assert_eq!(damaged.auto_approve_up_to, Some(Money::new(20_000, Currency::EUR)));
        let changed =
            rules.request(Vec::new(), ReturnReason::NoLongerNeeded, String::new(), Currency::EUR);
        assert_eq!(changed.auto_approve_up_to, None);
        assert_eq!(changed.carrier, "returns-post");
    }

    #[test]
    fn bad_rules_are_refused() {
        let long =
            ReturnRules { window_days: RETURN_WINDOW_DAYS_MAX + 1, ..ReturnRules::default() };
        assert!(long.validate().is_err());
        let negative = ReturnRules { auto_approve_max_minor: -1, ..ReturnRules::default() };
        assert!(negative.validate().is_err());
        let unnamed = ReturnRules { carrier: String::new(), ..ReturnRules::default() };
        assert!(unnamed.validate().is_err());
        assert!(ReturnRules::default().validate().is_ok());
    }
}
