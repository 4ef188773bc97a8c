//! Whole numbers read from JSON as JSON Schema counts them: `5.0` is the integer 5, as the
//! API's document says (`type: integer`), where serde alone would refuse it. Written by hand:
//! a visitor is all it takes, and no crate does only this.

use std::fmt;

use serde::Deserializer;
use serde::de::{Error, Visitor};

struct Whole;

impl<'de> Visitor<'de> for Whole {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number")
    }

    fn visit_i64<E: Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::custom("a number too large"))
    }

    fn visit_f64<E: Error>(self, v: f64) -> Result<i64, E> {
        // 2^63 is the first float past i64; every smaller whole float converts exactly.
        const LIMIT: f64 = 9.223_372_036_854_776e18;
        if v.fract() == 0.0 && (-LIMIT..LIMIT).contains(&v) {
            Ok(v as i64)
        } else {
            Err(E::custom("a whole number"))
        }
    }
}

/// A whole number of type `T` (`5` or `5.0`).
pub fn whole<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<T, D::Error> {
    let n = d.deserialize_any(Whole)?;
    T::try_from(n).map_err(|_| D::Error::custom(format!("{n} is out of range")))
}

/// An optional whole number (`null` or absent: `None`); use with `#[serde(default)]`.
pub fn whole_opt<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<Option<T>, D::Error> {
    struct Maybe<T>(std::marker::PhantomData<T>);

    impl<'de, T: TryFrom<i64>> Visitor<'de> for Maybe<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a whole number or null")
        }

        fn visit_none<E: Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }

        fn visit_unit<E: Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
            whole(d).map(Some)
        }
    }

    d.deserialize_option(Maybe(std::marker::PhantomData))
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Deserialize)]
    struct Input {
        #[serde(deserialize_with = "super::whole")]
        id: i64,
        #[serde(default, deserialize_with = "super::whole_opt")]
        other: Option<u32>,
    }

    fn read(json: &str) -> Result<Input, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn whole_floats_are_integers_and_the_rest_are_refused() {
        let i = read(r#"{"id": -91050.0, "other": 7.0}"#).unwrap();
        assert_eq!((i.id, i.other), (-91050, Some(7)));
        assert_eq!(read(r#"{"id": 3}"#).unwrap().other, None);
        assert_eq!(read(r#"{"id": 3, "other": null}"#).unwrap().other, None);
        assert!(read(r#"{"id": 1.5}"#).is_err());
        assert!(read(r#"{"id": 1e300}"#).is_err());
        assert!(read(r#"{"id": "3"}"#).is_err());
        assert!(read(r#"{"id": 1, "other": -1}"#).is_err(), "out of u32");
        assert!(read(r#"{"id": 18446744073709551615}"#).is_err());
    }
}
