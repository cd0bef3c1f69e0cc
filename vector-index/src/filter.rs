//! Metadata (a small map of scalar fields per vector) and the filters evaluated on it.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A scalar metadata value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// A signed integer.
    Int(i64),
    /// A finite float (NaN and infinities are rejected on insert).
    Float(f64),
    /// A string.
    Str(String),
    /// A boolean.
    Bool(bool),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl Value {
    /// Order two values of comparable types: numbers with numbers (ints and floats mix),
    /// strings with strings, booleans with booleans. `None` for anything else.
    fn compare(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
            (Value::Int(a), Value::Float(b)) => (*a as f64).partial_cmp(b),
            (Value::Float(a), Value::Int(b)) => a.partial_cmp(&(*b as f64)),
            (Value::Float(a), Value::Float(b)) => a.partial_cmp(b),
            (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    pub(crate) fn is_finite(&self) -> bool {
        !matches!(self, Value::Float(f) if !f.is_finite())
    }
}

/// The metadata of one vector: field name → scalar value.
pub type Metadata = BTreeMap<String, Value>;

/// A predicate over [`Metadata`], applied while the graph is searched.
///
/// A field that is missing, or holds a value of another type, does not match (except
/// under [`Filter::Not`]).
///
/// ```
/// use vector_index::{Filter, Metadata, Value};
/// let f = Filter::And(vec![
///     Filter::eq("lang", "en"),
///     Filter::range("year", Some(2020i64.into()), None),
///     Filter::is_in("tag", vec!["a".into(), "b".into()]),
/// ]);
/// let mut m = Metadata::new();
/// m.insert("lang".into(), "en".into());
/// m.insert("year".into(), Value::Int(2024));
/// m.insert("tag".into(), "b".into());
/// assert!(f.matches(&m));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// The field equals the value.
    Eq(String, Value),
    /// The field lies within the bounds (both inclusive; `None` is unbounded).
    Range {
        /// The field.
        field: String,
        /// Lower bound, inclusive.
        min: Option<Value>,
        /// Upper bound, inclusive.
        max: Option<Value>,
    },
    /// The field equals one of the values.
    In(String, Vec<Value>),
    /// Every filter matches.
    And(Vec<Filter>),
    /// At least one filter matches.
    Or(Vec<Filter>),
    /// The filter does not match.
    Not(Box<Filter>),
}

impl Filter {
    /// `field == value`.
    pub fn eq(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Filter::Eq(field.into(), value.into())
    }

    /// `min <= field <= max`, either bound optional.
    pub fn range(field: impl Into<String>, min: Option<Value>, max: Option<Value>) -> Self {
        Filter::Range {
            field: field.into(),
            min,
            max,
        }
    }

    /// `field in values`.
    pub fn is_in(field: impl Into<String>, values: Vec<Value>) -> Self {
        Filter::In(field.into(), values)
    }

    /// Whether `metadata` satisfies the filter.
    pub fn matches(&self, metadata: &Metadata) -> bool {
        match self {
            Filter::Eq(field, want) => metadata
                .get(field)
                .is_some_and(|v| v.compare(want) == Some(Ordering::Equal)),
            Filter::Range { field, min, max } => metadata.get(field).is_some_and(|v| {
                let above = min.as_ref().is_none_or(|lo| {
                    matches!(v.compare(lo), Some(Ordering::Greater | Ordering::Equal))
                });
                let below = max.as_ref().is_none_or(|hi| {
                    matches!(v.compare(hi), Some(Ordering::Less | Ordering::Equal))
                });
                above && below
            }),
            Filter::In(field, values) => metadata.get(field).is_some_and(|v| {
                values
                    .iter()
                    .any(|want| v.compare(want) == Some(Ordering::Equal))
            }),
            Filter::And(all) => all.iter().all(|f| f.matches(metadata)),
            Filter::Or(any) => any.iter().any(|f| f.matches(metadata)),
            Filter::Not(f) => !f.matches(metadata),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(pairs: &[(&str, Value)]) -> Metadata {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn ranges_are_inclusive_and_mix_ints_with_floats() {
        let m = meta(&[("x", Value::Int(5))]);
        assert!(Filter::range("x", Some(Value::Float(5.0)), Some(Value::Int(5))).matches(&m));
        assert!(!Filter::range("x", Some(Value::Float(5.5)), None).matches(&m));
        assert!(!Filter::range("x", None, Some(Value::Int(4))).matches(&m));
    }

    #[test]
    fn missing_fields_and_other_types_do_not_match() {
        let m = meta(&[("x", Value::Str("5".into()))]);
        assert!(!Filter::eq("x", 5i64).matches(&m));
        assert!(!Filter::eq("y", "5").matches(&m));
        assert!(Filter::Not(Box::new(Filter::eq("y", "5"))).matches(&m));
        assert!(Filter::is_in("x", vec!["4".into(), "5".into()]).matches(&m));
        assert!(Filter::Or(vec![Filter::eq("x", "4"), Filter::eq("x", "5")]).matches(&m));
    }
}
