//! PKCE (RFC 7636) and the random strings of a login.
//!
//! The verifier is 64 bytes from the OS's CSPRNG, base64url-encoded: 86 characters, all from
//! the unreserved set RFC 7636 allows (43–128). The challenge is base64url, without padding, of
//! SHA-256 over the exact verifier string that is later sent.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::secret::PkceVerifier;

/// Random bytes in a verifier (86 characters once encoded).
const VERIFIER_BYTES: usize = 64;

/// A fresh verifier and its S256 challenge.
#[derive(Debug)]
pub struct Pkce {
    pub verifier: PkceVerifier,
    /// Public: sent in the authorize URL.
    pub challenge: String,
}

impl Pkce {
    /// A new pair from the OS's random source.
    pub fn new_random() -> Pkce {
        let verifier = PkceVerifier::new(random_string(VERIFIER_BYTES));
        let challenge = challenge_s256(&verifier);
        Pkce { verifier, challenge }
    }
}

/// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`, unpadded.
pub fn challenge_s256(verifier: &PkceVerifier) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.secret().as_bytes()))
}

/// `bytes` random bytes from the OS, base64url-encoded without padding.
pub fn random_string(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636, Appendix B.
    #[test]
    fn rfc7636_appendix_b() {
        let verifier = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(challenge_s256(&verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn verifiers_are_long_unreserved_and_unique() {
        let a = Pkce::new_random();
        let b = Pkce::new_random();
        let v = a.verifier.secret();
        assert!((43..=128).contains(&v.len()), "{}", v.len());
        assert!(v.bytes().all(|c| c.is_ascii_alphanumeric() || b"-._~".contains(&c)));
        assert_ne!(v, b.verifier.secret());
        assert_eq!(a.challenge, challenge_s256(&a.verifier));
        assert!(!a.challenge.contains('='));
    }
}
