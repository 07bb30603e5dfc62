//! Cutting text to a bound in bytes without splitting a character.

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let end = (0..=max).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::prefix;

    #[test]
    fn a_prefix_fits_and_never_splits_a_character() {
        assert_eq!(prefix("abc", 5), "abc");
        assert_eq!(prefix("abc", 2), "ab");
        assert_eq!(prefix("éé", 3), "é", "é is two bytes");
        assert_eq!(prefix("é", 1), "");
    }
}
