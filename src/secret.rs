//! Salted slow digests of secrets (share passwords, SAS URIs): what state and plan files
//! keep instead of the secret, enough to notice that it changed. PBKDF2-HMAC-SHA256 with
//! 600,000 rounds and a random 16-byte salt, written `pbkdf2-sha256$ROUNDS$SALT$DIGEST`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Mutex;

/// The `*_sensitive` mask of Terraform's JSON formats for secret attribute paths
/// (`driver_share.password` → `{"driver_share": {"password": true}}`).
pub fn sensitive_mask<'a>(paths: impl IntoIterator<Item = &'a str>) -> serde_json::Value {
    let mut m = serde_json::json!({});
    for p in paths {
        let mut parts = p.split('.');
        if let (Some(block), Some(leaf)) = (parts.next(), parts.next()) {
            m[block][leaf] = serde_json::Value::Bool(true);
        }
    }
    m
}

/// Rounds for new digests (OWASP's figure for PBKDF2-HMAC-SHA256).
pub const ROUNDS: u32 = 600_000;
/// Fewest rounds a stored digest may claim; weaker ones are treated as not matching.
pub const MIN_ROUNDS: u32 = 100_000;

/// PBKDF2-HMAC-SHA256 with a 32-byte output (one block). The round loop runs on the raw
/// SHA-256 compression function with the HMAC pads precomputed: two compressions a round.
pub fn pbkdf2_sha256(password: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(password)
        .expect("invariant: HMAC takes keys of any length");
    mac.update(salt);
    mac.update(&1u32.to_be_bytes());
    let mut u: [u8; 32] = mac.finalize().into_bytes().into();
    let mut t = u;
    let key: Vec<u8> = if password.len() > 64 {
        <Sha256 as sha2::Digest>::digest(password).to_vec()
    } else {
        password.to_vec()
    };
    let pad = |byte: u8| {
        let mut block = [byte; 64];
        for (b, k) in block.iter_mut().zip(&key) {
            *b ^= k;
        }
        let mut state = SHA256_IV;
        sha2::block_api::compress256(&mut state, &[block]);
        state
    };
    let (inner, outer) = (pad(0x36), pad(0x5c));
    // A 32-byte message after one 64-byte pad block: 96 bytes = 768 bits, one padded block.
    let mut block = [0u8; 64];
    block[32] = 0x80;
    block[56..].copy_from_slice(&768u64.to_be_bytes());
    for _ in 1..rounds {
        block[..32].copy_from_slice(&u);
        let mut s = inner;
        sha2::block_api::compress256(&mut s, &[block]);
        write_words(&s, &mut block[..32]);
        let mut s = outer;
        sha2::block_api::compress256(&mut s, &[block]);
        write_words(&s, &mut u);
        for (a, b) in t.iter_mut().zip(u) {
            *a ^= b;
        }
    }
    t
}

const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

fn write_words(state: &[u32; 8], out: &mut [u8]) {
    for (chunk, w) in out.chunks_mut(4).zip(state) {
        chunk.copy_from_slice(&w.to_be_bytes());
    }
}

fn format_digest(rounds: u32, salt: &[u8], dk: &[u8]) -> String {
    format!(
        "pbkdf2-sha256${rounds}${}${}",
        B64.encode(salt),
        B64.encode(dk)
    )
}

fn parse_digest(d: &str) -> Option<(u32, Vec<u8>, Vec<u8>)> {
    let mut it = d.split('$');
    if it.next()? != "pbkdf2-sha256" {
        return None;
    }
    let rounds: u32 = it.next()?.parse().ok()?;
    let salt = B64.decode(it.next()?).ok()?;
    let dk = B64.decode(it.next()?).ok()?;
    it.next().is_none().then_some((rounds, salt, dk))
}

/// (salt, secret): what one derivation depends on.
type MemoKey = (Vec<u8>, String);

/// Computes digests, remembering each (salt, secret) pair for the life of one run so a
/// secret shared by many resources costs one derivation. Holds secrets in memory only.
#[derive(Default)]
pub struct Digester {
    salt: Mutex<Option<Vec<u8>>>,
    memo: Mutex<HashMap<MemoKey, [u8; 32]>>,
}

impl Digester {
    pub fn new() -> Digester {
        Digester::default()
    }

    fn derive(&self, secret: &str, salt: &[u8], rounds: u32) -> [u8; 32] {
        let key = (salt.to_vec(), secret.to_string());
        if rounds == ROUNDS
            && let Some(dk) = self.memo.lock().ok().and_then(|m| m.get(&key).copied())
        {
            return dk;
        }
        let dk = pbkdf2_sha256(secret.as_bytes(), salt, rounds);
        if rounds == ROUNDS
            && let Ok(mut m) = self.memo.lock()
        {
            m.insert(key, dk);
        }
        dk
    }

    /// A new digest of `secret` with this run's random salt.
    pub fn digest(&self, secret: &str) -> String {
        let salt = {
            let mut s = self.salt.lock().unwrap_or_else(|p| p.into_inner());
            s.get_or_insert_with(|| {
                let mut b = vec![0u8; 16];
                rand::rng().fill_bytes(&mut b);
                b
            })
            .clone()
        };
        format_digest(ROUNDS, &salt, &self.derive(secret, &salt, ROUNDS))
    }

    /// Whether `secret` is the one `digest` was made from.
    pub fn matches(&self, secret: &str, digest: &str) -> bool {
        let Some((rounds, salt, dk)) = parse_digest(digest) else {
            return false;
        };
        if rounds < MIN_ROUNDS {
            return false;
        }
        let got = self.derive(secret, &salt, rounds);
        // Constant-time comparison.
        dk.len() == got.len() && dk.iter().zip(got).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7914_vector() {
        let dk = pbkdf2_sha256(b"passwd", b"salt", 1);
        let hex: String = dk.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
    }

    #[test]
    fn rfc7914_many_rounds_and_long_keys() {
        let dk = pbkdf2_sha256(b"Password", b"NaCl", 80000);
        let hex: String = dk.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
        );
        // Keys longer than a block are hashed first; compare with HMAC done the slow way.
        let long = [7u8; 100];
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&long).unwrap();
        mac.update(b"s\0\0\0\x01");
        let u1: [u8; 32] = mac.finalize().into_bytes().into();
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&long).unwrap();
        mac.update(&u1);
        let u2: [u8; 32] = mac.finalize().into_bytes().into();
        let want: Vec<u8> = u1.iter().zip(u2).map(|(a, b)| a ^ b).collect();
        assert_eq!(pbkdf2_sha256(&long, b"s", 2).to_vec(), want);
    }

    #[test]
    fn digests_match_only_their_secret() {
        let d = Digester::new();
        let a = d.digest("hunter2");
        assert!(a.starts_with("pbkdf2-sha256$600000$"));
        assert!(!a.contains("hunter2"));
        assert!(d.matches("hunter2", &a));
        assert!(!d.matches("hunter3", &a));
        // Another run (another salt) still verifies.
        assert!(Digester::new().matches("hunter2", &a));
        assert!(!d.matches("hunter2", "sha256$abc"));
        let weak = format_digest(10, b"salt", &pbkdf2_sha256(b"hunter2", b"salt", 10));
        assert!(
            !d.matches("hunter2", &weak),
            "digests below the minimum rounds are refused"
        );
    }
}
