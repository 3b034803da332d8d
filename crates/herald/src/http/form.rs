//! Form bodies in Rails bracket notation (`incident[name]=x&incident[component_ids][]=a`), as
//! older Statuspage clients send them, turned into the equivalent JSON; and the strict reading of
//! `application/x-www-form-urlencoded` text every form and query string goes through.
//!
//! Everything here is bounded: the size of the input, the number of pairs, the length and
//! bracket depth of a key. Nothing recurses on input, so no key can exhaust a stack however it
//! nests. Decoded text must be UTF-8 without NUL; anything else is refused, never patched up.

use serde_json::{Map, Value};
use std::fmt;

/// Bounds on one form or query string.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest input, in bytes.
    pub bytes: usize,
    /// Most `name=value` pairs.
    pub pairs: usize,
    /// Longest key, in bytes after decoding.
    pub key_len: usize,
    /// Most bracket groups in one key (`a[b][c]` has two).
    pub depth: usize,
}

/// The bounds on API and public forms. Statuspage's deepest real form nests three levels
/// (`incident[components][id]`); its largest has a few dozen pairs.
pub const LIMITS: Limits = Limits {
    bytes: crate::http::body::MAX_BODY_BYTES,
    pairs: 1_000,
    key_len: 256,
    depth: 8,
};

/// Why a form was refused: the key at fault when there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormError {
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(k) => write!(f, "{k}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

fn refuse(field: Option<&str>, message: impl Into<String>) -> FormError {
    FormError {
        // A refused key is named by a short, printable prefix of itself.
        field: field.map(|k| k.chars().filter(|c| !c.is_control()).take(64).collect()),
        message: message.into(),
    }
}

/// Percent-decoding with `+` as a space; a `%` not followed by two hex digits stays as it is.
fn decode(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = raw.get(i + 1..i + 3).and_then(|h| {
                    let h = std::str::from_utf8(h).ok()?;
                    u8::from_str_radix(h, 16).ok()
                });
                if let Some(b) = hex {
                    out.push(b);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// Decodes one key or value, refusing invalid UTF-8 and NUL.
fn text(raw: &[u8], key: Option<&str>, what: &str) -> Result<String, FormError> {
    let s = String::from_utf8(decode(raw))
        .map_err(|_| refuse(key, format!("the {what} is not valid UTF-8")))?;
    if s.contains('\0') {
        return Err(refuse(
            key.or(Some(&s)),
            format!("the {what} holds a NUL character"),
        ));
    }
    Ok(s)
}

/// The `name=value` pairs of a form or query string, decoded, in order, repeats kept.
pub fn pairs(input: &[u8], limits: Limits) -> Result<Vec<(String, String)>, FormError> {
    if input.len() > limits.bytes {
        return Err(refuse(
            None,
            format!("the form is larger than {} bytes", limits.bytes),
        ));
    }
    let mut out = Vec::new();
    for pair in input.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        if out.len() == limits.pairs {
            return Err(refuse(
                None,
                format!("the form has more than {} fields", limits.pairs),
            ));
        }
        let (k, v) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        if k.len() > limits.key_len.saturating_mul(3) {
            // Even fully percent-encoded it could not decode to a key short enough.
            return Err(refuse(
                None,
                format!("a field name is longer than {} bytes", limits.key_len),
            ));
        }
        let key = text(k, None, "field name")?;
        if key.len() > limits.key_len {
            return Err(refuse(
                Some(&key),
                format!("the field name is longer than {} bytes", limits.key_len),
            ));
        }
        let value = text(v, Some(&key), "value")?;
        out.push((key, value));
    }
    Ok(out)
}

/// Splits `a[b][c][]` into `["a", "b", "c", ""]`, refusing more than `depth` bracket groups.
fn key_path(key: &str, depth: usize) -> Result<Vec<&str>, FormError> {
    let (head, rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    let mut parts = vec![head];
    for seg in rest.split('[').skip(1) {
        if parts.len() > depth {
            return Err(refuse(
                Some(key),
                format!("the field name nests deeper than {depth} levels"),
            ));
        }
        parts.push(seg.trim_end_matches(']'));
    }
    Ok(parts)
}

/// A scalar from a form value: booleans and `null` become JSON ones, the rest stay strings.
fn scalar(v: String) -> Value {
    match v.as_str() {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => Value::String(v),
    }
}

/// Puts `value` at `path` under `root`, walking down one level per step (no recursion). A
/// segment that meets a value of the wrong kind replaces it, as Rails does.
fn insert(root: &mut Value, path: &[&str], value: String) {
    let mut node = root;
    let mut value = Some(value);
    for (i, seg) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        if seg.is_empty() {
            // `[]`: append to an array.
            if !node.is_array() {
                *node = Value::Array(vec![]);
            }
            let Value::Array(items) = node else {
                return;
            };
            if last {
                items.push(scalar(value.take().unwrap_or_default()));
                return;
            }
            items.push(Value::Object(Map::new()));
            let Some(child) = items.last_mut() else {
                return;
            };
            node = child;
        } else {
            if !node.is_object() {
                *node = Value::Object(Map::new());
            }
            let Value::Object(map) = node else {
                return;
            };
            if last {
                map.insert(seg.to_string(), scalar(value.take().unwrap_or_default()));
                return;
            }
            node = map.entry(seg.to_string()).or_insert(Value::Null);
        }
    }
}

/// The JSON a form body stands for.
pub fn to_json(body: &[u8], limits: Limits) -> Result<Value, FormError> {
    let mut root = Value::Object(Map::new());
    for (k, v) in pairs(body, limits)? {
        let path = key_path(&k, limits.depth)?;
        insert(&mut root, &path, v);
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rails_brackets_become_nested_json() {
        let v = to_json(
            b"incident[name]=DB+down&incident[component_ids][]=a1&incident[component_ids][]=b2\
              &incident[components][a1]=major_outage&incident[deliver_notifications]=false&x=%41%zz",
            LIMITS,
        )
        .expect("a good form");
        assert_eq!(
            v,
            json!({
                "incident": {
                    "name": "DB down",
                    "component_ids": ["a1", "b2"],
                    "components": {"a1": "major_outage"},
                    "deliver_notifications": false
                },
                "x": "A%zz"
            })
        );
    }

    #[test]
    fn arrays_of_objects_and_replaced_scalars() {
        let v = to_json(b"a[][x]=1&a[][y]=2&b=1&b[c]=2&d[]=1&d[e]=2", LIMITS).expect("form");
        assert_eq!(
            v,
            json!({"a": [{"x": "1"}, {"y": "2"}], "b": {"c": "2"}, "d": {"e": "2"}})
        );
    }

    #[test]
    fn a_deep_key_is_refused_not_followed() {
        for key in [
            format!("a{}=1", "[]".repeat(5_000)),
            format!("a{}=1", "[x]".repeat(5_000)),
            format!("a{}=1", "[".repeat(100_000)),
        ] {
            let limits = Limits {
                key_len: usize::MAX,
                ..LIMITS
            };
            let e = to_json(key.as_bytes(), limits).expect_err("too deep");
            assert!(e.message.contains("deeper than 8"), "{e}");
            assert!(e.field.is_some_and(|f| f.len() <= 64));
        }
        // Eight levels are fine; nine are not.
        let ok = format!("a{}=1", "[k]".repeat(8));
        assert!(to_json(ok.as_bytes(), LIMITS).is_ok());
        let over = format!("a{}=1", "[k]".repeat(9));
        assert!(to_json(over.as_bytes(), LIMITS).is_err());
        // With the default limits a long key is refused for its length first.
        let long = format!("a{}=1", "[]".repeat(5_000));
        let e = to_json(long.as_bytes(), LIMITS).expect_err("too long");
        assert!(e.message.contains("longer than 256"), "{e}");
    }

    #[test]
    fn too_many_pairs_or_bytes_are_refused() {
        let many: Vec<String> = (0..1_001).map(|i| format!("k{i}=v")).collect();
        let e = to_json(many.join("&").as_bytes(), LIMITS).expect_err("too many");
        assert!(e.message.contains("more than 1000 fields"), "{e}");
        assert!(to_json(many[..1_000].join("&").as_bytes(), LIMITS).is_ok());
        // Empty pairs (`&&&`) do not count, but the bytes do.
        let big = vec![b'&'; LIMITS.bytes + 1];
        let e = to_json(&big, LIMITS).expect_err("too big");
        assert!(e.message.contains("larger than"), "{e}");
        assert!(to_json(&vec![b'&'; 10_000], LIMITS).is_ok());
    }

    #[test]
    fn invalid_utf8_and_nul_are_refused() {
        let e = to_json(b"name=%FF%FE", LIMITS).expect_err("bad utf-8");
        assert_eq!(e.field.as_deref(), Some("name"));
        assert!(e.message.contains("UTF-8"));
        assert!(to_json(b"na%C3me=x", LIMITS).is_err());
        assert!(to_json(b"name=\xff", LIMITS).is_err());
        let e = to_json(b"email=a%00b", LIMITS).expect_err("nul");
        assert_eq!(e.field.as_deref(), Some("email"));
        assert!(e.message.contains("NUL"));
        assert!(to_json(b"e%00vil=x", LIMITS).is_err());
        assert_eq!(
            to_json("name=%C3%A9t%C3%A9+%E2%9C%93".as_bytes(), LIMITS).expect("utf-8"),
            json!({"name": "été ✓"})
        );
    }

    /// The fuzz target's property (fuzz/fuzz_targets/form.rs) over its seeds and a stream of
    /// generated inputs built from the characters that matter, so it runs without nightly too.
    #[test]
    fn any_input_is_read_or_refused_within_bounds() {
        let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/form");
        let mut inputs: Vec<Vec<u8>> = std::fs::read_dir(&seeds)
            .expect("fuzz seeds")
            .map(|e| std::fs::read(e.expect("seed").path()).expect("read seed"))
            .collect();
        assert!(inputs.len() >= 3, "seeds missing in {}", seeds.display());
        let alphabet = b"[]=&%+0aFfz\0\xff\xc3name";
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            let mut input = vec![];
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            for k in 0..(state % 200) {
                let i = (state.rotate_left(k as u32 % 64) % alphabet.len() as u64) as usize;
                input.push(alphabet[i]);
            }
            inputs.push(input);
        }
        let small = Limits {
            bytes: 4096,
            pairs: 16,
            key_len: 32,
            depth: 3,
        };
        for input in &inputs {
            for limits in [small, LIMITS] {
                if let Ok(p) = pairs(input, limits) {
                    assert!(p.len() <= limits.pairs);
                    assert!(p
                        .iter()
                        .all(|(k, v)| !k.contains('\0') && !v.contains('\0')));
                }
                if let Ok(v) = to_json(input, limits) {
                    let mut stack = vec![(&v, 0usize)];
                    while let Some((v, depth)) = stack.pop() {
                        assert!(depth <= limits.depth + 1, "{input:?} nests {depth} deep");
                        match v {
                            Value::Array(items) => {
                                stack.extend(items.iter().map(|i| (i, depth + 1)))
                            }
                            Value::Object(m) => stack.extend(m.values().map(|i| (i, depth + 1))),
                            _ => {}
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn pairs_keep_order_and_repeats() {
        assert_eq!(
            pairs(b"a=1&b&a=2&=3", LIMITS).expect("pairs"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), String::new()),
                ("a".into(), "2".into()),
                (String::new(), "3".into()),
            ]
        );
    }
}
