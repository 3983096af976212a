//! Lenient, streaming deserialization: the one way every Web API answer is read.
//!
//! Spotify adds fields, drops fields, adds enum values and sends `null` (or another type) where
//! the reference documents an object. Strict models lose the whole answer over one of these
//! (rspotify #398, #477, PR #576). Here a field of the wrong type, or one broken element of a
//! list, is dropped on its own, and the answer is read straight from the bytes into the typed
//! model: no `serde_json::Value` tree and no buffered copy of any part of it, so an audio
//! analysis of a megabyte costs what its model costs, and nesting is bounded by serde_json's
//! recursion limit.
//!
//! Use the helpers with `#[serde(default)]` on the struct and
//! `#[serde(deserialize_with = "…")]` on each field: [`string`], [`number`], [`boolean`],
//! [`keyword`] (enums with an `#[serde(other)]` variant), [`object`] and [`list`]. Only syntax
//! errors, duplicate keys and a top level that is not an object fail an answer; [`from_slice`]
//! turns them into an [`ApiError::Malformed`] that says where, never what.
//!
//! Why these few visitors rather than `serde_with` (`DefaultOnError`, `VecSkipError`): a
//! streaming reader cannot go back, so `serde_with` first buffers each value into serde's
//! `Content` tree and retries from that copy. The lists of an audio analysis would be copied as
//! trees, and a value nested too deep to buffer leaves the reader mid-value, so the whole answer
//! fails (the `deep_nesting_costs_no_stack` test below). Here each field looks at the JSON type
//! as it arrives, keeps what fits and skips the rest with `IgnoredAny` (which serde_json reads
//! without recursion).

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, StrDeserializer};
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::error::{ApiError, MalformedKind};

/// Reads a JSON object from `body` into `T`. Anything but an object at the top, or trailing
/// data, is refused (a derived struct would otherwise accept an array, filling fields in order).
///
/// This is the entry point for fuzzing the models: any bytes in, a model or an error out.
pub fn from_slice<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    de.deserialize_any(TopLevel(PhantomData)).and_then(|t| de.end().map(|()| t)).map_err(|e| {
        let kind = match e.classify() {
            serde_json::error::Category::Eof => MalformedKind::Truncated,
            serde_json::error::Category::Data => MalformedKind::Shape,
            serde_json::error::Category::Syntax | serde_json::error::Category::Io => MalformedKind::Syntax,
        };
        ApiError::Malformed { kind, line: e.line(), column: e.column() }
    })
}

/// [`from_slice`] of a string.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    from_slice(text.as_bytes())
}

struct TopLevel<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for TopLevel<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

/// A JSON value reduced to what a field of ours can use; arrays and objects are skipped
/// (read through, never stored).
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Bool(bool),
    Number(f64),
    Text(String),
    /// `null`, an array, an object.
    Other,
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Number(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Number(v as f64))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Number(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Text(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }

    fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar, A::Error> {
        skip_seq(seq).map(|()| Scalar::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar, A::Error> {
        skip_map(map).map(|()| Scalar::Other)
    }
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// A string, or `None` for anything else.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::Text(s) => Some(s),
        _ => None,
    })
}

/// A finite number, or `None` for anything else (a string, an object, `null`).
pub fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::Number(n) if n.is_finite() => Some(n),
        _ => None,
    })
}

/// `true` or `false`, or `None` for anything else.
pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::Bool(b) => Some(b),
        _ => None,
    })
}

/// A string naming an enum variant (`T` should have an `#[serde(other)]` variant for values
/// Spotify adds later), or `None` for anything that is not a string.
pub fn keyword<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(match Scalar::deserialize(d)? {
        Scalar::Text(s) => T::deserialize(StrDeserializer::<de::value::Error>::new(&s)).ok(),
        _ => None,
    })
}

/// A JSON object read into `T`, or `None` for anything else. `T`'s own fields must be lenient
/// too: the object is read as it streams by, so an error inside it fails the whole answer.
pub fn object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_any(ContainerVisitor(PhantomData))
}

/// A list of objects, keeping those it can read (`null`, numbers… are dropped); anything but a
/// list is empty.
pub fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_any(ContainerVisitor(PhantomData))
}

/// One element of a [`list`]: an object, or nothing.
struct Element<T>(Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Element<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        object(d).map(Element)
    }
}

/// What [`object`] and [`list`] make of the one JSON container each reads; every other value is
/// skipped and reads as the default.
trait Container<'de>: Default {
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        skip_map(map).map(|()| Self::default())
    }

    fn from_seq<A: SeqAccess<'de>>(seq: A) -> Result<Self, A::Error> {
        skip_seq(seq).map(|()| Self::default())
    }
}

impl<'de, T: Deserialize<'de>> Container<'de> for Option<T> {
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Some)
    }
}

impl<'de, T: Deserialize<'de>> Container<'de> for Vec<T> {
    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        // The size hint comes from the input: never trust it for an allocation.
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(Element(item)) = seq.next_element::<Element<T>>()? {
            out.extend(item);
        }
        Ok(out)
    }
}

struct ContainerVisitor<C>(PhantomData<C>);

impl<'de, C: Container<'de>> Visitor<'de> for ContainerVisitor<C> {
    type Value = C;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or a list")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<C, A::Error> {
        C::from_map(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<C, A::Error> {
        C::from_seq(seq)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<C, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_none<E: de::Error>(self) -> Result<C, E> {
        Ok(C::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<C, E> {
        Ok(C::default())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<C, E> {
        Ok(C::default())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<C, E> {
        Ok(C::default())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<C, E> {
        Ok(C::default())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<C, E> {
        Ok(C::default())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<C, E> {
        Ok(C::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(default)]
    struct Inner {
        #[serde(deserialize_with = "string")]
        name: Option<String>,
        #[serde(deserialize_with = "number")]
        n: Option<f64>,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Track,
        #[serde(other)]
        Other,
    }

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(default)]
    struct Outer {
        #[serde(deserialize_with = "boolean")]
        on: Option<bool>,
        #[serde(deserialize_with = "keyword")]
        kind: Option<Kind>,
        #[serde(deserialize_with = "object")]
        inner: Option<Inner>,
        #[serde(deserialize_with = "list")]
        items: Vec<Inner>,
    }

    fn read(json: &str) -> Outer {
        from_slice(json.as_bytes()).expect("lenient model refused a JSON object")
    }

    #[test]
    fn every_field_tolerates_every_type() {
        for value in
            ["null", "true", "1", "-1.5", "1e300", r#""text""#, "[1, [2], {}]", r#"{"a": {"b": [null]}}"#]
        {
            let json = format!(
                r#"{{"on": {value}, "kind": {value}, "inner": {value}, "items": {value}, "new": {value}}}"#
            );
            let outer = read(&json);
            assert_eq!(outer.kind.is_some(), value.starts_with('"'), "{json}");
        }
        let o = read(
            r#"{"on": true, "kind": "podcast", "inner": {"name": 5, "n": 2, "x": []},
                "items": [{"name": "a"}, null, 3, "s", [], {"n": "NaN"}]}"#,
        );
        assert_eq!(o.on, Some(true));
        assert_eq!(o.kind, Some(Kind::Other));
        assert_eq!(o.inner, Some(Inner { name: None, n: Some(2.0) }));
        assert_eq!(o.items, vec![Inner { name: Some("a".into()), n: None }, Inner::default()]);
        assert_eq!(read(r#"{"kind": "track"}"#).kind, Some(Kind::Track));
    }

    #[test]
    fn only_an_object_at_the_top_will_do() {
        for (body, kind) in [
            ("[1, 2]", MalformedKind::Shape),
            ("\"x\"", MalformedKind::Shape),
            ("null", MalformedKind::Shape),
            ("{} {}", MalformedKind::Syntax),
            ("{\"on\": tru", MalformedKind::Truncated),
            ("{\"on\": trux}", MalformedKind::Syntax),
            ("{\"on\": 1, \"on\": 2}", MalformedKind::Shape),
            ("{\"on\": ", MalformedKind::Truncated),
            ("", MalformedKind::Truncated),
        ] {
            match from_slice::<Outer>(body.as_bytes()) {
                Err(ApiError::Malformed { kind: k, .. }) => assert_eq!(k, kind, "{body:?}"),
                other => panic!("{body:?}: {other:?}"),
            }
        }
        assert_eq!(read(" {} \n"), Outer::default());
    }

    #[test]
    fn deep_nesting_costs_no_stack() {
        // What no field wants is skipped without recursion (serde_json's `IgnoredAny`)…
        for field in ["inner", "items", "on", "new"] {
            let deep = format!(r#"{{"{field}": {}{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
            assert_eq!(from_slice::<Outer>(deep.as_bytes()).unwrap(), Outer::default(), "{field}");
        }
        // …and so are unknown fields inside the objects we do read.
        let deep =
            format!(r#"{{"on": true, "inner": {}1{}}}"#, r#"{"a":"#.repeat(100_000), "}".repeat(100_000));
        assert_eq!(from_slice::<Outer>(deep.as_bytes()).unwrap().on, Some(true));
    }
}
