//! Text hygiene: what characters a name, title or body may hold, the same verdict whichever
//! store is behind it (PostgreSQL cannot store NUL at all; SQLite would), and how a terminal is
//! shown text that may hold anything. Also the cheap shape checks that run over JSON and TOML
//! before a parser sees them, so no input can make a parser or a later tree walk recurse deeper
//! than Herald allows.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Why a text was refused, naming the field the way the caller wrote it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct TextError {
    pub field: String,
    pub message: String,
}

fn refuse(field: &str, message: String) -> TextError {
    TextError {
        field: field.to_string(),
        message,
    }
}

/// How a refused character is named in a message: `U+001B`.
fn code(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// A single-line text (a name, a title, a URL): no control character at all except tab.
pub fn line(field: &str, s: &str) -> Result<(), TextError> {
    match s.chars().find(|&c| c.is_control() && c != '\t') {
        None => Ok(()),
        Some('\0') => Err(refuse(field, "must not contain a NUL character".into())),
        Some(c @ ('\n' | '\r')) => Err(refuse(
            field,
            format!("must be a single line (found {})", code(c)),
        )),
        Some(c) => Err(refuse(
            field,
            format!("must not contain control characters (found {})", code(c)),
        )),
    }
}

/// A text of several lines (a body, a description): newlines and tabs, and a carriage return
/// only as part of the CRLF browsers send from a textarea; no other control character.
pub fn multiline(field: &str, s: &str) -> Result<(), TextError> {
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_control() || c == '\n' || c == '\t' {
            continue;
        }
        if c == '\r' && chars.peek() == Some(&'\n') {
            continue;
        }
        return Err(match c {
            '\0' => refuse(field, "must not contain a NUL character".into()),
            _ => refuse(
                field,
                format!("must not contain control characters (found {})", code(c)),
            ),
        });
    }
    Ok(())
}

/// [`line`] for an optional field.
pub fn line_opt(field: &str, s: Option<&str>) -> Result<(), TextError> {
    s.map_or(Ok(()), |s| line(field, s))
}

/// [`multiline`] for an optional field.
pub fn multiline_opt(field: &str, s: Option<&str>) -> Result<(), TextError> {
    s.map_or(Ok(()), |s| multiline(field, s))
}

/// Text for a terminal: every control character except newline and tab is shown as an escape
/// (`\u{1b}`), so nothing read from a server or a database can move the cursor, recolour the
/// screen or rewrite what was printed before it.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`escape`] for one line of output: newlines and tabs are escaped too.
pub fn escape_line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Bounds on a structured text's shape, checked before it is parsed.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Deepest nesting of arrays and objects (TOML: tables, arrays and dotted keys).
    pub depth: usize,
    /// Most members one array or object may have.
    pub members: usize,
}

/// Checks a JSON text's nesting and member counts without parsing it: a single pass over the
/// bytes that follows strings and escapes, so brackets inside strings do not count. Malformed
/// JSON is left for the parser to refuse with its own message.
pub fn json_shape(bytes: &[u8], shape: Shape) -> Result<(), String> {
    // Members seen so far in each open container; its length is the depth.
    let mut open: Vec<usize> = Vec::new();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    if open.len() >= shape.depth {
                        return Err(format!("nests deeper than {} levels", shape.depth));
                    }
                    open.push(1);
                }
                b']' | b'}' => {
                    open.pop();
                }
                b',' => {
                    if let Some(n) = open.last_mut() {
                        *n += 1;
                        if *n > shape.members {
                            return Err(format!(
                                "an array or object has more than {} members",
                                shape.members
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    Ok(())
}

/// Whether a JSON text holds a `\u0000` escape inside a string (a raw NUL is not JSON at all,
/// and the parser refuses it).
pub fn json_holds_nul(bytes: &[u8]) -> bool {
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match (in_string, bytes[i]) {
            (false, b'"') => in_string = true,
            (true, b'"') => in_string = false,
            (true, b'\\') => {
                if bytes.get(i + 1..i + 6) == Some(&b"u0000"[..]) {
                    return true;
                }
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// Checks a TOML text's nesting without parsing it. Depth counts open arrays and inline tables
/// plus the dots of the key being written (`a.b.c = 1`, `[a.b.c]`): either builds a level of
/// tables. Strings and comments are skipped; a dot in a value (a float, a time) does not count.
/// Also refuses a NUL anywhere and an escape that decodes to one. Member counts are bounded per
/// array and inline table.
pub fn toml_shape(text: &str, shape: Shape) -> Result<(), String> {
    let bytes = text.as_bytes();
    if bytes.contains(&0) {
        return Err("holds a NUL character".into());
    }
    let too_deep = || format!("nests deeper than {} levels", shape.depth);
    // Each open array (`false`) or inline table (`true`) with its members so far.
    let mut open: Vec<(bool, usize)> = Vec::new();
    // Dots in the key being written, and whether a key (not a value) is being read.
    let mut dots = 0usize;
    let mut in_key = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' => {
                i = skip_toml_string(bytes, i)?;
                continue;
            }
            b'\n' => {
                dots = 0;
                if open.is_empty() {
                    in_key = true;
                }
            }
            b'=' => {
                in_key = false;
                dots = 0;
            }
            b'.' if in_key => {
                dots += 1;
                if open.len() + dots >= shape.depth {
                    return Err(too_deep());
                }
            }
            // A table header (`[a.b]`, `[[a.b]]`) opens nothing; its dots count as a key's.
            b'[' if in_key && open.is_empty() => {}
            b'[' | b'{' => {
                if open.len() + dots >= shape.depth {
                    return Err(too_deep());
                }
                open.push((b == b'{', 1));
                in_key = b == b'{';
                dots = 0;
            }
            b']' | b'}' => {
                open.pop();
                in_key = false;
            }
            b',' => {
                dots = 0;
                if let Some((table, n)) = open.last_mut() {
                    *n += 1;
                    if *n > shape.members {
                        return Err(format!(
                            "an array or table has more than {} members",
                            shape.members
                        ));
                    }
                    in_key = *table;
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Skips the TOML string starting at `start` (basic or literal, single or triple quoted),
/// returning where it ends; an escape that decodes to NUL is refused.
fn skip_toml_string(bytes: &[u8], start: usize) -> Result<usize, String> {
    let quote = bytes[start];
    let basic = quote == b'"';
    let triple = bytes.get(start..start + 3) == Some(&[quote, quote, quote][..]);
    let mut i = start + if triple { 3 } else { 1 };
    while let Some(&c) = bytes.get(i) {
        if basic && c == b'\\' {
            let rest = &bytes[i + 1..];
            if rest.starts_with(b"u0000")
                || rest.starts_with(b"U00000000")
                || rest.starts_with(b"x00")
            {
                return Err("a string holds a NUL character (an escape for U+0000)".into());
            }
            i += 2;
            continue;
        }
        if c == quote {
            if !triple {
                return Ok(i + 1);
            }
            if bytes.get(i..i + 3) == Some(&[quote, quote, quote][..]) {
                i += 3;
                // A closing run may hold up to two more quotes.
                while bytes.get(i) == Some(&quote) {
                    i += 1;
                }
                return Ok(i);
            }
        }
        if !triple && c == b'\n' {
            return Ok(i);
        }
        i += 1;
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_lines_refuse_controls_and_newlines() {
        assert!(line("name", "API\tgateway — ok ✓").is_ok());
        for bad in [
            "a\0b",
            "a\nb",
            "a\rb",
            "\u{1b}[31mred",
            "x\u{7f}",
            "x\u{85}",
            "x\u{9b}2J",
        ] {
            let e = line("name", bad).expect_err(bad);
            assert_eq!(e.field, "name");
        }
        assert!(line("name", "a\0")
            .expect_err("nul")
            .message
            .contains("NUL"));
        assert!(line("name", "a\nb")
            .expect_err("lf")
            .message
            .contains("single line"));
    }

    #[test]
    fn bodies_keep_newlines_tabs_and_crlf_only() {
        assert!(multiline("body", "line one\r\nline two\n\tindented").is_ok());
        assert!(multiline("body", "a\rb").is_err());
        assert!(multiline("body", "end\r").is_err());
        assert!(multiline("body", "a\0").is_err());
        assert!(multiline("body", "\u{1b}]0;title\u{7}").is_err());
        assert!(multiline("body", "\u{90}").is_err());
    }

    #[test]
    fn escape_shows_controls_as_escapes() {
        assert_eq!(escape("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(escape("\u{1b}[2Jgone"), "\\u{1b}[2Jgone");
        assert_eq!(escape("a\rb\0"), "a\\u{d}b\\u{0}");
        assert_eq!(escape_line("a\nb"), "a\\u{a}b");
        assert!(matches!(escape("fine"), Cow::Borrowed(_)));
    }

    const SHAPE: Shape = Shape {
        depth: 8,
        members: 3,
    };

    #[test]
    fn json_shape_counts_structure_not_strings() {
        assert!(json_shape(br#"{"a":[1,2,3],"b":{"c":"[[[[[[[[[[[[,,,,"}}"#, SHAPE).is_ok());
        assert!(json_shape(&[b'['; 9], SHAPE).is_err());
        assert!(json_shape(&[b'['; 8], SHAPE).is_ok());
        assert!(json_shape(b"[1,2,3,4]", SHAPE).is_err());
        assert!(json_holds_nul(br#"{"a":"x\u0000"}"#));
        assert!(!json_holds_nul(br#"{"a":"x\\u0000"}"#));
        assert!(json_shape(br#"["esc\"[[[[[[[[[["]"#, SHAPE).is_ok());
    }

    #[test]
    fn toml_shape_counts_tables_arrays_and_dotted_keys() {
        let ok = "# a [comment [[[[[[[[[[\n[page]\nname = \"a.b.c.d.e.f.g.h.i\"\nx = 1.5\n\
                  [[components]]\nname = 'x'\nlist = [1, 2, 3]\nt = { a = 1, b.c = 2 }\n\
                  s = \"\"\"\n[[[[[[[[[[[[\n\"\"\"\n";
        assert_eq!(toml_shape(ok, SHAPE), Ok(()));
        assert!(toml_shape(&format!("a = {}", "[".repeat(9)), SHAPE).is_err());
        assert!(toml_shape(&format!("{} = 1", ["k"; 9].join(".")), SHAPE).is_err());
        assert!(toml_shape(&format!("[{}]", ["k"; 9].join(".")), SHAPE).is_err());
        assert!(toml_shape(&format!("a = {}", "{b = ".repeat(9)), SHAPE).is_err());
        assert!(toml_shape("a = [1, 2, 3, 4]", SHAPE).is_err());
        assert!(toml_shape("a = \"\\u0000\"", SHAPE).is_err());
        assert!(toml_shape("a = '\\u0000'", SHAPE).is_ok());
        assert!(toml_shape("a = \"\0\"", SHAPE).is_err());
    }
}
