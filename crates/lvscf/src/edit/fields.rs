//! A `set` object merged into a value of the model through its JSON form, so every field is
//! checked by the same types as `lvscf dump --json` writes.

use std::fmt::Display;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::EditErrorKind;

/// Fields of the model by name, with their JSON values.
pub type Fields = serde_json::Map<String, Value>;

/// `base` with the fields of `set` replaced. A bad value is reported with its field's name
/// (serde's message alone does not say which one).
pub(super) fn merged<T: Serialize + DeserializeOwned>(
    base: &T,
    set: &Fields,
    what: impl Display,
) -> Result<T, EditErrorKind> {
    let Value::Object(fields) = serde_json::to_value(base).expect("the model serialises") else {
        unreachable!("model values are structs");
    };
    match with(&fields, set) {
        Ok(v) => Ok(v),
        Err(e) => {
            // Which field: the first that fails alone (unknown fields name themselves).
            let culprit = set.iter().find(|(k, v)| {
                let one = Fields::from_iter([((*k).clone(), (*v).clone())]);
                with::<T>(&fields, &one).is_err()
            });
            let message = match culprit {
                Some((k, _)) if !e.to_string().contains(&format!("`{k}`")) => {
                    format!("{k}: {e}")
                }
                _ => e.to_string(),
            };
            Err(EditErrorKind::Invalid {
                what: what.to_string(),
                message,
            })
        }
    }
}

fn with<T: DeserializeOwned>(fields: &Fields, set: &Fields) -> Result<T, serde_json::Error> {
    let mut all = fields.clone();
    for (k, v) in set {
        all.insert(k.clone(), v.clone());
    }
    serde_json::from_value(Value::Object(all))
}
