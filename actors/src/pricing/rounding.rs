//! The integer rounding of pricing, and nothing else: percentages of minor units and the
//! split of an amount over lines. The rules are the ones written in the module doc of
//! [`pricing`](super); the tests below pin their edge cases.
//!
//! Invariants:
//! - Inputs are non-negative minor units and rates of `0..=BPS_MAX` basis points (asserted:
//!   a violation is a bug of the caller, which validates first), so every result is between
//!   0 and its base, and products are taken in `i128`, where they cannot overflow.
//! - [`allocate`] hands out exactly the amount asked (or every base, when the bases are
//!   smaller), never more than a base to any line.

use crate::limits::BPS_MAX;

const BPS_PER_UNIT: i128 = BPS_MAX as i128;

fn checked_inputs(amount: i64, bps: u16) -> (i128, i128) {
    assert!(amount >= 0 && bps <= BPS_MAX, "rounding inputs out of range: {amount}, {bps}");
    (i128::from(amount) * i128::from(bps), BPS_PER_UNIT)
}

/// Narrows a result that is at most its `i64` base back to `i64`.
fn narrow(value: i128) -> i64 {
    i64::try_from(value).expect("a share of an i64 amount fits i64")
}

/// `amount × bps / 10_000`, rounded to the nearest minor unit, a half to the even neighbour.
pub(super) fn percent_half_even(amount: i64, bps: u16) -> i64 {
    let (numerator, denominator) = checked_inputs(amount, bps);
    let (quotient, remainder) = (numerator / denominator, numerator % denominator);
    let rounded = match (remainder * 2).cmp(&denominator) {
        std::cmp::Ordering::Less => quotient,
        std::cmp::Ordering::Greater => quotient + 1,
        std::cmp::Ordering::Equal => quotient + (quotient % 2),
    };
    narrow(rounded)
}

/// `amount × bps / 10_000`, rounded to the nearest minor unit, a half upwards.
pub(super) fn percent_half_up(amount: i64, bps: u16) -> i64 {
    let (numerator, denominator) = checked_inputs(amount, bps);
    narrow((numerator * 2 + denominator) / (denominator * 2))
}

/// Splits `amount` over `bases` in proportion to them: each line gets the floor of its exact
/// share, and the minor units left over go one each to the lines with the largest remainders,
/// equal remainders to the earlier line. When the bases add up to no more than `amount`, each
/// line gets its whole base. Callers pass the bases in a canonical order, so the split does
/// not depend on the order of the cart.
pub(super) fn allocate(amount: i64, bases: &[i64]) -> Vec<i64> {
    let total: i128 = bases.iter().map(|base| i128::from(*base)).sum();
    if total <= i128::from(amount) {
        return bases.to_vec();
    }
    crate::money::apportion(amount, bases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_half_to_even() {
        // (amount, bps, exact value, expected)
        let cases = [
            (1, 5_000, "0.5", 0),
            (3, 5_000, "1.5", 2),
            (5, 5_000, "2.5", 2),
            (7, 5_000, "3.5", 4),
            (1, 3_333, "0.3333", 0),
            (3, 3_333, "0.9999", 1),
            (100, 3_333, "33.33", 33),
            (150, 3_333, "49.995", 50),
            (4_999, 1_000, "499.9", 500),
            (5_997, 1_500, "899.55", 900),
            (0, 10_000, "0", 0),
            (1, 10_000, "1", 1),
            (1, 1, "0.0001", 0),
            (i64::MAX, 10_000, "max", i64::MAX),
        ];
        for (amount, bps, exact, expected) in cases {
            assert_eq!(percent_half_even(amount, bps), expected, "{amount} x {bps} = {exact}");
        }
    }

    #[test]
    fn vat_rounds_half_up() {
        let cases = [
            (50, 1_900, "9.5", 10),
            (50, 700, "3.5", 4),
            (1, 1_900, "0.19", 0),
            (3, 1_900, "0.57", 1),
            (4_272, 1_900, "811.68", 812),
            (4_265, 1_900, "810.35", 810),
            (10, 500, "0.5", 1),
            (30, 500, "1.5", 2),
            (0, 1_900, "0", 0),
            (i64::MAX, 10_000, "max", i64::MAX),
        ];
        for (amount, bps, exact, expected) in cases {
            assert_eq!(percent_half_up(amount, bps), expected, "{amount} x {bps} = {exact}");
        }
    }

    #[test]
    fn allocation_hands_out_exactly_the_amount() {
        assert_eq!(allocate(500, &[4_499, 5_397]), [227, 273]);
        assert_eq!(allocate(1, &[1, 1, 1]), [1, 0, 0], "ties go to the earlier line");
        assert_eq!(allocate(2, &[1, 1, 1]), [1, 1, 0]);
        assert_eq!(allocate(100, &[10, 20]), [10, 20], "bases smaller than the amount");
        assert_eq!(allocate(10, &[0, 0]), [0, 0]);
        assert_eq!(allocate(0, &[5, 7]), [0, 0]);
        assert_eq!(allocate(10, &[1, 3, 3, 3]), [1, 3, 3, 3]);
        assert_eq!(allocate(9, &[1, 3, 3, 3]), [1, 3, 3, 2]);
        let shares = allocate(1_000, &[333, 333, 334, 1]);
        assert_eq!(shares.iter().sum::<i64>(), 1_000);
        assert!(shares.iter().zip([333, 333, 334, 1]).all(|(share, base)| *share <= base));
    }
}
