//! At-rest protection of secure task input (share passwords, SAS URIs), the way the real
//! service keeps them: stored sealed with a per-data-directory key and answered masked.
//! The construction is HMAC-SHA256 in counter mode with an HMAC tag; it keeps secrets out
//! of plain sight in the data directory, nothing more.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(key)
        .expect("invariant: HMAC takes keys of any length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

fn keystream_xor(key: &[u8], nonce: &[u8], data: &mut [u8]) {
    for (i, chunk) in data.chunks_mut(32).enumerate() {
        let block = mac(key, &[b"stream", nonce, &(i as u64).to_be_bytes()]);
        for (b, k) in chunk.iter_mut().zip(block) {
            *b ^= k;
        }
    }
}

/// Seals a secret: base64 of nonce ‖ ciphertext ‖ tag.
pub fn seal(key: &[u8], plain: &str) -> String {
    let mut nonce = [0u8; 16];
    rand::rng().fill_bytes(&mut nonce);
    let mut body = plain.as_bytes().to_vec();
    keystream_xor(key, &nonce, &mut body);
    let tag = mac(key, &[b"tag", &nonce, &body]);
    let mut out = nonce.to_vec();
    out.extend_from_slice(&body);
    out.extend_from_slice(&tag);
    B64.encode(out)
}

/// Opens a sealed secret; `None` when it was sealed with another key or damaged.
pub fn open(key: &[u8], sealed: &str) -> Option<String> {
    let raw = B64.decode(sealed).ok()?;
    if raw.len() < 48 {
        return None;
    }
    let (nonce, rest) = raw.split_at(16);
    let (body, tag) = rest.split_at(rest.len() - 32);
    if mac(key, &[b"tag", nonce, body]) != tag {
        return None;
    }
    let mut body = body.to_vec();
    keystream_xor(key, nonce, &mut body);
    String::from_utf8(body).ok()
}

/// The opaque 44-character value the service answers in place of a secret.
pub fn mask(key: &[u8], plain: &str) -> String {
    B64.encode(mac(key, &[b"mask", plain.as_bytes()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let key = [7u8; 32];
        let s = seal(
            &key,
            "Pa55w0rd! with a long tail that spans blocks of keystream",
        );
        assert!(!s.contains("Pa55"));
        assert_eq!(
            open(&key, &s).as_deref(),
            Some("Pa55w0rd! with a long tail that spans blocks of keystream")
        );
        assert_eq!(open(&[8u8; 32], &s), None);
        let mut raw = B64.decode(&s).unwrap();
        raw[20] ^= 1;
        assert_eq!(open(&key, &B64.encode(raw)), None);
        assert_eq!(mask(&key, "x").len(), 44);
        assert_ne!(seal(&key, "x"), seal(&key, "x"));
    }
}
