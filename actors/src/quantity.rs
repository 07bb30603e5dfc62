//! A requested number of units: never zero, by construction.
//!
//! Invariant: a `Quantity` holds a `NonZeroU32`, so a zero request cannot exist, in memory or
//! in a decoded journal. The upper bound (`limits::QUANTITY_MAX`) depends on the command and
//! is checked in `decide`, so an absurd request is a rejection rather than a decode failure.

use std::fmt;
use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

/// A positive number of units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Quantity(NonZeroU32);

impl Quantity {
    pub const ONE: Quantity = Quantity(NonZeroU32::MIN);

    /// `None` for zero.
    pub const fn new(units: u32) -> Option<Quantity> {
        match NonZeroU32::new(units) {
            Some(units) => Some(Quantity(units)),
            None => None,
        }
    }

    pub const fn get(self) -> u32 {
        self.0.get()
    }

    /// Both quantities together, at most `u32::MAX` (the command's own bound refuses more).
    pub const fn saturating_add(self, other: Quantity) -> Quantity {
        Quantity(self.0.saturating_add(other.get()))
    }
}

impl From<NonZeroU32> for Quantity {
    fn from(units: NonZeroU32) -> Quantity {
        Quantity(units)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_not_a_quantity() {
        assert_eq!(Quantity::new(0), None);
        assert_eq!(Quantity::new(3).map(Quantity::get), Some(3));
        assert_eq!(Quantity::ONE.get(), 1);
    }
}
