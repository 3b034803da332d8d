//! Form bodies in Rails bracket notation (`incident[name]=x&incident[component_ids][]=a`), as
//! older Statuspage clients send them, turned into the equivalent JSON.

use serde_json::{Map, Value};

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() && s.is_char_boundary(i + 3) {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits `a[b][c][]` into `["a", "b", "c", ""]`.
fn key_path(key: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let (head, rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    parts.push(head.to_string());
    for seg in rest.split('[').skip(1) {
        parts.push(seg.trim_end_matches(']').to_string());
    }
    parts
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

fn insert(node: &mut Value, path: &[String], value: String) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if first.is_empty() {
        // `[]`: append to an array.
        if !node.is_array() {
            *node = Value::Array(vec![]);
        }
        if let Value::Array(items) = node {
            if rest.is_empty() {
                items.push(scalar(value));
            } else {
                let mut child = Value::Object(Map::new());
                insert(&mut child, rest, value);
                items.push(child);
            }
        }
        return;
    }
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    if let Value::Object(map) = node {
        if rest.is_empty() {
            map.insert(first.clone(), scalar(value));
        } else {
            let child = map.entry(first.clone()).or_insert(Value::Null);
            insert(child, rest, value);
        }
    }
}

/// The JSON a form body stands for.
pub fn to_json(body: &[u8]) -> Value {
    let text = String::from_utf8_lossy(body);
    let mut root = Value::Object(Map::new());
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        insert(&mut root, &key_path(&decode(k)), decode(v));
    }
    root
}

#[cfg(test)]
mod tests {
    use super::to_json;
    use serde_json::json;

    #[test]
    fn rails_brackets_become_nested_json() {
        let v = to_json(
            b"incident[name]=DB+down&incident[component_ids][]=a1&incident[component_ids][]=b2\
              &incident[components][a1]=major_outage&incident[deliver_notifications]=false&x=%41%zz",
        );
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
}
