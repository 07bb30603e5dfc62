//! When captures are deferred to shipment ("auth-only" mode), as a pure rule.
//!
//! Captures are deferred when the operator switched auth-only on (`manual`), or on their own
//! (`auto`) when no provider can take a capture now: every provider's breaker is open, or its
//! last capture ended unavailable. A capture that succeeds (or is refused: the provider
//! answered) clears its provider's mark, so auto mode ends as soon as one provider takes
//! captures again. With no provider at all, nothing is deferred: there is nothing to wait for.

/// The capture health marks and the operator's switch.
#[derive(Debug, Clone, Default)]
pub struct Deferral {
    manual: bool,
    /// Per provider, in configuration order: its last capture ended unavailable.
    capture_failing: Vec<bool>,
}

impl Deferral {
    pub fn new(providers: usize) -> Deferral {
        Deferral { manual: false, capture_failing: vec![false; providers] }
    }

    pub fn set_manual(&mut self, on: bool) {
        self.manual = on;
    }

    pub fn manual(&self) -> bool {
        self.manual
    }

    /// A capture at `provider` ended: `answered` is false when it was unavailable (timeouts,
    /// 5xx, breaker open), true when the provider answered (captured or refused).
    pub fn record_capture(&mut self, provider: usize, answered: bool) {
        if let Some(failing) = self.capture_failing.get_mut(provider) {
            *failing = !answered;
        }
    }

    /// Whether auth-only engaged by itself; `breaker_open[i]` says provider `i`'s breaker is
    /// open now (not half-open: a half-open provider may take a probe).
    pub fn auto(&self, breaker_open: &[bool]) -> bool {
        !self.capture_failing.is_empty()
            && self
                .capture_failing
                .iter()
                .enumerate()
                .all(|(i, failing)| *failing || breaker_open.get(i).copied().unwrap_or(false))
    }

    pub fn deferred(&self, breaker_open: &[bool]) -> bool {
        self.manual || self.auto(breaker_open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_switch_defers_whatever_the_providers() {
        let mut deferral = Deferral::new(2);
        assert!(!deferral.deferred(&[false, false]));
        deferral.set_manual(true);
        assert!(deferral.deferred(&[false, false]));
        assert!(!deferral.auto(&[false, false]));
        deferral.set_manual(false);
        assert!(!deferral.deferred(&[false, false]));
    }

    #[test]
    fn engages_when_every_provider_is_open_or_failing_captures() {
        let mut deferral = Deferral::new(2);
        assert!(deferral.auto(&[true, true]));
        assert!(!deferral.auto(&[true, false]));
        deferral.record_capture(1, false);
        assert!(deferral.auto(&[true, false]));
        deferral.record_capture(0, false);
        assert!(deferral.auto(&[false, false]));
    }

    #[test]
    fn disengages_when_a_capture_is_answered_again() {
        let mut deferral = Deferral::new(2);
        deferral.record_capture(0, false);
        deferral.record_capture(1, false);
        assert!(deferral.deferred(&[false, false]));
        deferral.record_capture(1, true);
        assert!(!deferral.deferred(&[false, false]));
        assert!(deferral.deferred(&[false, true]), "the answering provider's breaker opened");
    }

    #[test]
    fn no_providers_defers_nothing_and_unknown_indices_are_ignored() {
        let mut deferral = Deferral::new(0);
        deferral.record_capture(3, false);
        assert!(!deferral.deferred(&[]));
        let mut one = Deferral::new(1);
        one.record_capture(7, false);
        assert!(!one.auto(&[]));
        one.record_capture(0, false);
        assert!(one.auto(&[]));
    }
}
