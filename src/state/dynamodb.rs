//! The table's items (`state::item`, written without the SDK) as the DynamoDB SDK's attribute
//! values, and back: the one place the function (`publish::StateTable`) and the signer's
//! `silence` commands cross between the two. Behind the `dynamodb` feature.

use std::collections::HashMap;

use super::item::{Attr, Item};
use aws_sdk_dynamodb::types::AttributeValue;

pub fn to_sdk(attr: Attr) -> AttributeValue {
    match attr {
        Attr::S(s) => AttributeValue::S(s),
        Attr::N(n) => AttributeValue::N(n),
        Attr::M(map) => AttributeValue::M(item_to_sdk(map)),
        Attr::L(list) => AttributeValue::L(list.into_iter().map(to_sdk).collect()),
    }
}

/// `None` for the types the table never holds (binary, sets, booleans, null).
pub fn from_sdk(value: AttributeValue) -> Option<Attr> {
    match value {
        AttributeValue::S(s) => Some(Attr::S(s)),
        AttributeValue::N(n) => Some(Attr::N(n)),
        AttributeValue::M(map) => Some(Attr::M(item_from_sdk(map))),
        AttributeValue::L(list) => list
            .into_iter()
            .map(from_sdk)
            .collect::<Option<_>>()
            .map(Attr::L),
        _ => None,
    }
}

pub fn item_to_sdk(item: Item) -> HashMap<String, AttributeValue> {
    item.into_iter()
        .map(|(name, attr)| (name, to_sdk(attr)))
        .collect()
}

/// An attribute of a type the table never holds is left out: reading the item then says it is
/// missing or invalid (`BadItem`), by its name.
pub fn item_from_sdk(map: HashMap<String, AttributeValue>) -> Item {
    map.into_iter()
        .filter_map(|(name, value)| Some((name, from_sdk(value)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_crosses_both_ways_unchanged() {
        let mut inner = Item::new();
        inner.insert("at".into(), Attr::n(7));
        let mut item = Item::new();
        item.insert("pk".into(), Attr::s("silence"));
        item.insert("n".into(), Attr::n(-12));
        item.insert("m".into(), Attr::M(inner));
        item.insert(
            "l".into(),
            Attr::L(vec![
                Attr::s("a"),
                Attr::L(Vec::new()),
                Attr::M(Item::new()),
            ]),
        );
        let sdk = item_to_sdk(item.clone());
        assert_eq!(sdk["pk"], AttributeValue::S("silence".into()));
        assert_eq!(sdk["n"], AttributeValue::N("-12".into()));
        assert_eq!(item_from_sdk(sdk), item);
    }

    #[test]
    fn types_the_table_never_holds_are_left_out() {
        let map = HashMap::from([
            ("b".to_owned(), AttributeValue::Bool(true)),
            ("ss".to_owned(), AttributeValue::Ss(vec!["a".into()])),
            (
                "l".to_owned(),
                AttributeValue::L(vec![AttributeValue::Null(true)]),
            ),
            ("s".to_owned(), AttributeValue::S("kept".into())),
        ]);
        let item = item_from_sdk(map);
        assert_eq!(item.len(), 1);
        assert_eq!(item["s"], Attr::s("kept"));
    }
}
