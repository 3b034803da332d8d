//! Statuspage-style identifiers: 12 characters of lowercase base36.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Length of every public identifier.
pub const ID_LEN: usize = 12;
const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// A validated public identifier (`[0-9a-z]{12}`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Id(String);

/// Why a string is not an [`Id`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not an id: ids are 12 characters of 0-9 and a-z")]
pub struct BadId(pub String);

impl Id {
    /// Checks the shape of `s` and wraps it.
    pub fn parse(s: &str) -> Result<Self, BadId> {
        if s.len() == ID_LEN && s.bytes().all(|b| ALPHABET.contains(&b)) {
            Ok(Id(s.to_string()))
        } else {
            Err(BadId(s.to_string()))
        }
    }

    /// Builds an id from 64 random bits supplied by the caller (the core has no randomness).
    pub fn from_bits(mut bits: u64) -> Self {
        let mut out = [b'0'; ID_LEN];
        for slot in out.iter_mut().rev() {
            *slot = ALPHABET[(bits % 36) as usize];
            bits /= 36;
        }
        Id(String::from_utf8_lossy(&out).into_owned())
    }

    /// A stable id derived from a key, so that the same input always names the same object.
    pub fn derive(key: &str) -> Self {
        // FNV-1a, 64 bit: stable across releases and platforms, unlike std's hasher.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for b in key.bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        Id::from_bits(hash)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Id::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_only_base36_of_length_12() {
        assert!(Id::parse("kctbh9vrtdwd").is_ok());
        assert!(Id::parse("KCTBH9VRTDWD").is_err());
        assert!(Id::parse("short").is_err());
        assert!(Id::parse("kctbh9vrtdwd0").is_err());
        assert!(Id::parse("kctbh9vrt-wd").is_err());
    }

    #[test]
    fn derived_ids_are_stable_and_valid() {
        let a = Id::derive("component:API");
        assert_eq!(a, Id::derive("component:API"));
        assert_ne!(a, Id::derive("component:Web"));
        assert!(Id::parse(a.as_str()).is_ok());
        assert_eq!(Id::from_bits(0).as_str(), "000000000000");
        assert!(Id::parse(Id::from_bits(u64::MAX).as_str()).is_ok());
    }
}
