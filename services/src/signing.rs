//! Signed webhooks, both ways: the notices Bazaar sends its tenants' receivers, and the
//! tracking events carriers send Bazaar. A signature header is `t={unix ms},v1={hex}`, the
//! hex being HMAC-SHA256 with the shared secret over `{t}.{body}`; a receiver recomputes it,
//! compares in constant time, and refuses a time too far from its own clock, so a captured
//! request cannot be replayed later (within the window, the event's own id makes a replay
//! change nothing).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries a signature.
pub const SIGNATURE_HEADER: &str = "bazaar-signature";

/// How far a signature's time may be from the receiver's clock, in ms.
pub const TOLERANCE_MS: u64 = 5 * 60 * 1_000;

fn mac(secret: &str, at_ms: u64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{at_ms}.").as_bytes());
    mac.update(body);
    mac
}

/// The signature header's value for `body` sent at `at_ms`.
pub fn signature(secret: &str, at_ms: u64, body: &[u8]) -> String {
    format!("t={at_ms},v1={}", hex::encode(mac(secret, at_ms, body).finalize().into_bytes()))
}

/// Whether `header` signs `body` with `secret`, at a time within [`TOLERANCE_MS`] of `now_ms`.
pub fn verify(secret: &str, header: &str, body: &[u8], now_ms: u64) -> bool {
    let Some((t, v1)) = header.split_once(",v1=") else { return false };
    let Some(at_ms) = t.strip_prefix("t=").and_then(|t| t.parse::<u64>().ok()) else {
        return false;
    };
    let Ok(given) = hex::decode(v1) else { return false };
    at_ms.abs_diff(now_ms) <= TOLERANCE_MS && mac(secret, at_ms, body).verify_slice(&given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_the_time_and_the_body() {
        // RFC 4231 test case 2, the time prefix folded into the message.
        let mut rfc = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        rfc.update(b"what do ya want for nothing?");
        let rfc = hex::encode(rfc.finalize().into_bytes());
        assert_eq!(rfc, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        let signed = signature("Jefe", 12, b"body");
        let mut manual = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        manual.update(b"12.body");
        assert_eq!(signed, format!("t=12,v1={}", hex::encode(manual.finalize().into_bytes())));
    }

    #[test]
    fn verification_takes_only_the_right_secret_body_and_time() {
        let now = 10 * TOLERANCE_MS;
        let signed = signature("s3cret", now, b"{}");
        assert!(verify("s3cret", &signed, b"{}", now));
        assert!(verify("s3cret", &signed, b"{}", now + TOLERANCE_MS));
        assert!(!verify("s3cret", &signed, b"{}", now + TOLERANCE_MS + 1), "too old");
        assert!(!verify("other", &signed, b"{}", now));
        assert!(!verify("s3cret", &signed, b"{ }", now));
        for garbled in ["", "t=1", "v1=00", "t=x,v1=00", "t=1,v1=zz"] {
            assert!(!verify("s3cret", garbled, b"{}", now), "{garbled}");
        }
    }
}
