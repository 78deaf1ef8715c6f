//! Bulk requests (RFC 7644 §3.7): the BulkRequest message, `bulkId` references and the
//! BulkResponse. Executing the operations is the tenant layer's job.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::{ScimError, ScimType};

pub const BULK_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const BULK_ID_PREFIX: &str = "bulkId:";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMethod {
    Post,
    Put,
    Patch,
    Delete,
}

impl BulkMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkMethod::Post => "POST",
            BulkMethod::Put => "PUT",
            BulkMethod::Patch => "PATCH",
            BulkMethod::Delete => "DELETE",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperation {
    pub method: BulkMethod,
    pub path: String,
    pub bulk_id: Option<String>,
    pub version: Option<String>,
    pub data: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BulkRequest {
    /// Stop after this many errors (RFC 7644 §3.7.3); `None` runs every operation.
    pub fail_on_errors: Option<usize>,
    pub operations: Vec<BulkOperation>,
}

fn field<'v>(object: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Reads a BulkRequest. More operations than `max_operations` is 413, naming the limit.
pub fn parse_bulk_request(body: &Value, max_operations: usize) -> Result<BulkRequest, ScimError> {
    let Some(object) = body.as_object() else {
        return Err(ScimError::invalid_syntax(
            "a BulkRequest must be a JSON object",
        ));
    };
    let fail_on_errors = match field(object, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n > 0) => {
            n.as_u64().and_then(|n| usize::try_from(n).ok())
        }
        Some(_) => {
            return Err(ScimError::invalid_value(
                "'failOnErrors' must be a positive integer",
            ));
        }
    };
    let Some(Value::Array(ops)) = field(object, "Operations") else {
        return Err(ScimError::invalid_syntax(
            "a BulkRequest needs an 'Operations' array",
        ));
    };
    if ops.len() > max_operations {
        return Err(ScimError::new(
            413,
            None,
            format!(
                "the request has {} operations; maxOperations is {max_operations}",
                ops.len()
            ),
        ));
    }
    let mut operations = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let n = i + 1;
        let Some(op) = op.as_object() else {
            return Err(ScimError::invalid_syntax(format!(
                "operation {n} must be a JSON object"
            )));
        };
        let method_text = field(op, "method")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let method = match method_text.to_ascii_uppercase().as_str() {
            "POST" => BulkMethod::Post,
            "PUT" => BulkMethod::Put,
            "PATCH" => BulkMethod::Patch,
            "DELETE" => BulkMethod::Delete,
            _ => {
                return Err(ScimError::invalid_syntax(format!(
                    "operation {n} has method '{method_text}'; expected POST, PUT, PATCH or DELETE"
                )));
            }
        };
        let Some(path) = field(op, "path").and_then(Value::as_str) else {
            return Err(ScimError::invalid_syntax(format!(
                "operation {n} needs a 'path'"
            )));
        };
        let text = |name: &str| field(op, name).and_then(Value::as_str).map(str::to_string);
        let bulk_id = text("bulkId");
        if method == BulkMethod::Post && bulk_id.as_deref().is_none_or(str::is_empty) {
            return Err(ScimError::invalid_syntax(format!(
                "operation {n}: a POST needs a 'bulkId'"
            )));
        }
        let data = field(op, "data").filter(|d| !d.is_null()).cloned();
        if method != BulkMethod::Delete && data.is_none() {
            return Err(ScimError::invalid_syntax(format!(
                "operation {n}: {} needs 'data'",
                method.as_str()
            )));
        }
        operations.push(BulkOperation {
            method,
            path: path.to_string(),
            bulk_id,
            version: text("version"),
            data,
        });
    }
    let mut seen = Vec::new();
    for id in operations.iter().filter_map(|o| o.bulk_id.as_deref()) {
        if seen.contains(&id) {
            return Err(ScimError::bad_request(
                ScimType::Uniqueness,
                format!("bulkId '{id}' is used twice"),
            ));
        }
        seen.push(id);
    }
    Ok(BulkRequest {
        fail_on_errors,
        operations,
    })
}

/// The `bulkId`s an operation refers to, in its path or anywhere in its data.
pub fn references(op: &BulkOperation) -> Vec<String> {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) => {
                if let Some(id) = s.strip_prefix(BULK_ID_PREFIX) {
                    out.push(id.to_string());
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            Value::Object(fields) => fields.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for segment in op.path.split('/') {
        if let Some(id) = segment.strip_prefix(BULK_ID_PREFIX) {
            out.push(id.to_string());
        }
    }
    if let Some(data) = &op.data {
        walk(data, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

/// Replaces `bulkId:X` references with the ids the referenced operations created.
pub fn substitute(op: &mut BulkOperation, created: &HashMap<String, String>) {
    fn walk(value: &mut Value, created: &HashMap<String, String>) {
        match value {
            Value::String(s) => {
                if let Some(id) = s.strip_prefix(BULK_ID_PREFIX).and_then(|b| created.get(b)) {
                    *s = id.clone();
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, created)),
            Value::Object(fields) => fields.values_mut().for_each(|v| walk(v, created)),
            _ => {}
        }
    }
    op.path = op
        .path
        .split('/')
        .map(|segment| {
            match segment
                .strip_prefix(BULK_ID_PREFIX)
                .and_then(|b| created.get(b))
            {
                Some(id) => id.clone(),
                None => segment.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    if let Some(data) = &mut op.data {
        walk(data, created);
    }
}

/// The result of one operation, as the BulkResponse reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkResult {
    pub method: BulkMethod,
    pub bulk_id: Option<String>,
    pub location: Option<String>,
    pub version: Option<String>,
    pub status: u16,
    pub error: Option<ScimError>,
}

pub fn bulk_response(results: &[BulkResult]) -> Value {
    let operations: Vec<Value> = results
        .iter()
        .map(|r| {
            let mut op = Map::new();
            op.insert("method".into(), r.method.as_str().into());
            if let Some(id) = &r.bulk_id {
                op.insert("bulkId".into(), id.clone().into());
            }
            if let Some(location) = &r.location {
                op.insert("location".into(), location.clone().into());
            }
            if let Some(version) = &r.version {
                op.insert("version".into(), version.clone().into());
            }
            op.insert("status".into(), r.status.to_string().into());
            if let Some(error) = &r.error {
                op.insert("response".into(), error.to_json());
            }
            Value::Object(op)
        })
        .collect();
    // Built by hand: `json!` would serialize the operations into a copy.
    let mut body = Map::new();
    body.insert("schemas".into(), json!([BULK_RESPONSE_URN]));
    body.insert("Operations".into(), Value::Array(operations));
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_and_references_found_and_replaced() {
        let request = parse_bulk_request(
            &json!({"schemas": [BULK_REQUEST_URN], "failOnErrors": 2, "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "u1", "data": {"userName": "a"}},
                {"method": "post", "path": "/Groups", "bulkId": "g1", "data": {"displayName": "G", "members": [{"value": "bulkId:u1"}]}},
                {"method": "DELETE", "path": "/Users/bulkId:u1"}
            ]}),
            10,
        )
        .expect("valid");
        assert_eq!(request.fail_on_errors, Some(2));
        assert_eq!(references(&request.operations[1]), ["u1"]);
        let mut delete = request.operations[2].clone();
        assert_eq!(references(&delete), ["u1"]);
        substitute(
            &mut delete,
            &HashMap::from([("u1".to_string(), "real-id".to_string())]),
        );
        assert_eq!(delete.path, "/Users/real-id");
    }

    #[test]
    fn bad_requests_are_refused_with_the_limit_named() {
        let ops = json!({"Operations": [{"method": "DELETE", "path": "/Users/1"}, {"method": "DELETE", "path": "/Users/2"}]});
        let err = parse_bulk_request(&ops, 1).expect_err("too many");
        assert_eq!(err.status, 413);
        assert!(err.detail.contains("maxOperations is 1"));
        for bad in [
            json!({"Operations": [{"method": "POST", "path": "/Users", "data": {}}]}),
            json!({"Operations": [{"method": "GET", "path": "/Users"}]}),
            json!({"Operations": [{"method": "PUT", "path": "/Users/1"}]}),
            json!({"Operations": [{"method": "POST", "path": "/Users", "bulkId": "x", "data": {}}, {"method": "POST", "path": "/Users", "bulkId": "x", "data": {}}]}),
            json!({"failOnErrors": 0, "Operations": []}),
        ] {
            assert_eq!(
                parse_bulk_request(&bad, 10).expect_err("refused").status,
                400,
                "{bad}"
            );
        }
    }
}
