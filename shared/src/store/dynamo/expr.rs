//! A SET/REMOVE/ADD update expression built field by field, for an
//! `UpdateItem` or a transaction's `Update`. Every attribute goes through a
//! `#name` placeholder, so reserved words (`user`, `token`) are safe.

use aws_sdk_dynamodb::types::AttributeValue;

use super::{Item, StoreError, StoreResult};

#[derive(Default)]
pub(super) struct UpdateExpr {
    set: Vec<String>,
    remove: Vec<String>,
    add: Vec<String>,
    names: Vec<(String, String)>,
    values: Vec<(String, AttributeValue)>,
}

impl UpdateExpr {
    /// Sets `field`, or removes it when `value` is `None`.
    pub fn set(&mut self, field: &str, value: Option<AttributeValue>) {
        self.names.push((format!("#{field}"), field.to_owned()));
        match value {
            Some(v) => {
                self.set.push(format!("#{field} = :{field}"));
                self.values.push((format!(":{field}"), v));
            }
            None => self.remove.push(format!("#{field}")),
        }
    }

    /// Adds `by` to the number `field` (absent counts as 0).
    pub fn add(&mut self, field: &str, by: i64) {
        self.names.push((format!("#{field}"), field.to_owned()));
        self.add.push(format!("#{field} :{field}"));
        self.values
            .push((format!(":{field}"), AttributeValue::N(by.to_string())));
    }

    /// Sets `field` only where the item has none yet.
    pub fn set_if_absent(&mut self, field: &str, value: AttributeValue) {
        self.names.push((format!("#{field}"), field.to_owned()));
        self.set.push(format!("#{field} = if_not_exists(#{field}, :{field})"));
        self.values.push((format!(":{field}"), value));
    }

    /// Sets every attribute of `item` but its key (only those it lacks, if
    /// `if_absent`).
    pub fn set_all(&mut self, item: Item, if_absent: bool) {
        let mut fields: Vec<_> = item.into_iter().filter(|(k, _)| k != "pk" && k != "sk").collect();
        // A stable expression, whatever the map's order.
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        for (field, value) in fields {
            if if_absent {
                self.set_if_absent(&field, value);
            } else {
                self.set(&field, Some(value));
            }
        }
    }

    /// This update on an `UpdateItem` request (more names and values may
    /// follow, for its condition).
    pub fn on(
        self,
        request: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        request
            .update_expression(self.expression())
            .set_expression_attribute_names(Some(self.names.into_iter().collect()))
            .set_expression_attribute_values(Some(self.values.into_iter().collect()))
    }

    fn expression(&self) -> String {
        let mut parts = Vec::new();
        if !self.set.is_empty() {
            parts.push(format!("SET {}", self.set.join(", ")));
        }
        if !self.remove.is_empty() {
            parts.push(format!("REMOVE {}", self.remove.join(", ")));
        }
        if !self.add.is_empty() {
            parts.push(format!("ADD {}", self.add.join(", ")));
        }
        parts.join(" ")
    }

    /// This update as one item of a `TransactWriteItems`.
    pub fn in_transaction(
        self,
        table: &str,
        key: Item,
        condition: &str,
    ) -> StoreResult<aws_sdk_dynamodb::types::TransactWriteItem> {
        self.transaction_item(table, key, condition, None)
    }

    /// The same, handing the item back when `condition` fails, so the
    /// caller can tell why.
    pub fn in_transaction_returning_old(
        self,
        table: &str,
        key: Item,
        condition: &str,
    ) -> StoreResult<aws_sdk_dynamodb::types::TransactWriteItem> {
        let all_old = aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld;
        self.transaction_item(table, key, condition, Some(all_old))
    }

    fn transaction_item(
        self,
        table: &str,
        key: Item,
        condition: &str,
        on_failure: Option<aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure>,
    ) -> StoreResult<aws_sdk_dynamodb::types::TransactWriteItem> {
        let update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(table)
            .set_key(Some(key))
            .update_expression(self.expression())
            .condition_expression(condition)
            .set_expression_attribute_names(Some(self.names.into_iter().collect()))
            .set_expression_attribute_values(Some(self.values.into_iter().collect()))
            .set_return_values_on_condition_check_failure(on_failure)
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder()
            .update(update)
            .build())
    }
}
