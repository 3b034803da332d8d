//! The form parser (Rails bracket notation, and the strict pairs every form and query string
//! goes through): any input is read or refused without a panic or deep recursion; what is read
//! stays within the limits, holds no NUL, and encodes back to pairs that read again identically.
#![no_main]

use herald::http::form::{self, Limits};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Small limits, so the fuzzer meets them often.
const SMALL: Limits = Limits {
    bytes: 4096,
    pairs: 16,
    key_len: 32,
    depth: 3,
};

/// Percent-encodes every byte that is not a letter or digit.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Checks a value's depth and strings without recursing.
fn check(value: &Value, limits: Limits) {
    let mut stack = vec![(value, 0usize)];
    while let Some((v, depth)) = stack.pop() {
        assert!(depth <= limits.depth + 1, "nested {depth} deep");
        match v {
            Value::String(s) => assert!(!s.contains('\0'), "a NUL got through"),
            Value::Array(items) => stack.extend(items.iter().map(|i| (i, depth + 1))),
            Value::Object(map) => {
                for (k, i) in map {
                    assert!(!k.contains('\0'), "a NUL key got through");
                    stack.push((i, depth + 1));
                }
            }
            _ => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    for limits in [SMALL, form::LIMITS] {
        if let Ok(pairs) = form::pairs(data, limits) {
            assert!(pairs.len() <= limits.pairs);
            let again: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect();
            let reread = form::pairs(again.join("&").as_bytes(), Limits { bytes: usize::MAX, ..limits })
                .expect("encoded pairs read again");
            let kept: Vec<_> = pairs.iter().filter(|(k, v)| !(k.is_empty() && v.is_empty())).collect();
            let reread: Vec<_> = reread.iter().filter(|(k, v)| !(k.is_empty() && v.is_empty())).collect();
            assert_eq!(kept, reread, "pairs do not survive encoding");
        }
        match form::to_json(data, limits) {
            Ok(v) => check(&v, limits),
            Err(e) => assert!(!e.message.is_empty()),
        }
    }
});
