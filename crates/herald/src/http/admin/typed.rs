//! Admin forms read into typed structs. A form is text, so each field is read as the struct's
//! type asks: numbers are parsed, an empty field is `None`, a checkbox is on when it was sent
//! with a value. A field that does not read is refused by name, like any other bad field.
//!
//! Structs name the fields they want and ignore the rest (the CSRF token, other sections of
//! the same form); a repeated field counts by its last value, as [`Fields::get`] reads it.

use super::Fields;
use crate::http::error::AppError;
use serde::de::value::{Error, MapDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

/// Reads `form` into `T`; a field that does not read is refused with its name.
pub fn typed<T: DeserializeOwned>(form: &Fields) -> Result<T, AppError> {
    let values = form.values().into_iter().map(|(k, v)| (k, Text(v)));
    let de: MapDeserializer<'_, _, Error> = MapDeserializer::new(values);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        AppError::Invalid {
            field: (path != ".").then_some(path),
            message: e.inner().to_string(),
        }
    })
}

/// One field's text, read as whatever type wants it.
struct Text(String);

impl Text {
    fn number<T: std::str::FromStr>(&self, what: &str) -> Result<T, Error> {
        self.0
            .trim()
            .parse()
            .map_err(|_| de::Error::custom(format!("must be {what}")))
    }
}

impl<'de> IntoDeserializer<'de, Error> for Text {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

macro_rules! numbers {
    ($($method:ident => $visit:ident, $what:literal;)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                visitor.$visit(self.number($what)?)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for Text {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_string(self.0)
    }

    /// A checkbox: on when sent with a value.
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_bool(!self.0.is_empty())
    }

    /// A field left empty is no value.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.0.trim().is_empty() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    numbers! {
        deserialize_u8 => visit_u8, "a whole number";
        deserialize_u16 => visit_u16, "a whole number";
        deserialize_u32 => visit_u32, "a whole number";
        deserialize_u64 => visit_u64, "a whole number";
        deserialize_i32 => visit_i32, "a whole number";
        deserialize_i64 => visit_i64, "a whole number";
        deserialize_f64 => visit_f64, "a number";
    }

    forward_to_deserialize_any! {
        i8 i16 i128 u128 f32 char str string bytes byte_buf unit unit_struct
        newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Sample {
        name: String,
        count: Option<u32>,
        port: u16,
        ticked: bool,
        note: Option<String>,
    }

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn fields_read_as_their_types() {
        let got: Sample = typed(&fields(&[
            ("csrf_token", "t"),
            ("name", " Web "),
            ("count", " 12 "),
            ("port", "1"),
            ("port", "443"),
            ("ticked", "on"),
            ("note", "  "),
            ("other", "x"),
        ]))
        .expect("reads");
        assert_eq!(
            got,
            Sample {
                name: " Web ".into(),
                count: Some(12),
                port: 443,
                ticked: true,
                note: None,
            }
        );
        let empty: Sample = typed(&fields(&[])).expect("reads");
        assert_eq!(empty, Sample::default());
    }

    #[test]
    fn a_field_that_does_not_read_is_refused_by_name() {
        let refused = typed::<Sample>(&fields(&[("count", "often")]));
        match refused {
            Err(AppError::Invalid { field, message }) => {
                assert_eq!(field.as_deref(), Some("count"));
                assert_eq!(message, "must be a whole number");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(typed::<Sample>(&fields(&[("port", "70000")])).is_err());
    }
}
