//! SCIM responses: a JSON body as `application/scim+json`, with `ETag` and `Location` when the
//! resource has them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::scim_error_response;
use crate::scim::{SCIM_CONTENT_TYPE, ScimError};

pub struct ScimResponse {
    pub status: StatusCode,
    pub body: Option<Value>,
    pub etag: Option<String>,
    pub location: Option<String>,
}

impl ScimResponse {
    pub fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body: Some(body),
            etag: None,
            location: None,
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn with_etag(mut self, etag: String) -> Self {
        self.etag = Some(etag);
        self
    }

    pub fn with_location(mut self, location: String) -> Self {
        self.location = Some(location);
        self
    }

    pub fn empty(status: StatusCode) -> Self {
        Self {
            status,
            body: None,
            etag: None,
            location: None,
        }
    }
}

impl IntoResponse for ScimResponse {
    fn into_response(self) -> Response {
        let mut response = match self.body {
            Some(body) => {
                // Serialized through `io::Write` into one buffer: `Value`'s `Display` goes through
                // the formatting machinery, a call and a capacity check per fragment.
                let Ok(bytes) = serde_json::to_vec(&body) else {
                    return scim_error_response(&ScimError::new(
                        500,
                        None,
                        "the answer could not be serialized",
                    ));
                };
                let mut r = (self.status, bytes).into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(SCIM_CONTENT_TYPE),
                );
                r
            }
            None => self.status.into_response(),
        };
        let headers = response.headers_mut();
        if let Some(tag) = self.etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
            headers.insert(header::ETAG, tag);
        }
        if let Some(location) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LOCATION, location);
        }
        response
    }
}
