//! PLACEHOLDER until the filter-policy matcher lands from its own branch: exact strings only.

use serde_json::Value;

use crate::event::Attributes;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter(Vec<(String, Vec<String>)>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(String);

impl Filter {
    pub fn parse(policy: &Value) -> Result<Filter, FilterError> {
        let object = policy
            .as_object()
            .ok_or_else(|| FilterError("not an object".into()))?;
        let mut keys = Vec::new();
        for (key, values) in object {
            let values = values
                .as_array()
                .ok_or_else(|| FilterError(format!("{key:?}: not a list")))?
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| FilterError(format!("{key:?}: unsupported")))?;
            keys.push((key.clone(), values));
        }
        Ok(Filter(keys))
    }

    pub fn matches(&self, attributes: &Attributes) -> bool {
        self.0.iter().all(|(key, values)| {
            attributes
                .pairs()
                .iter()
                .any(|(name, value)| name == key && values.iter().any(|v| v == value))
        })
    }
}
