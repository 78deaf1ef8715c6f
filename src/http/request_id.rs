//! Request ids: a random prefix drawn once per process and a counter. Unique across the gateway's
//! processes like a UUID, without asking the kernel for randomness on every request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

#[derive(Clone)]
pub struct ProcessRequestIds {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl ProcessRequestIds {
    pub fn new() -> Self {
        let random = uuid::Uuid::new_v4().simple().to_string();
        Self {
            prefix: random.chars().take(16).collect::<String>().into(),
            next: Arc::new(AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for ProcessRequestIds {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n:x}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_of(ids: &mut ProcessRequestIds) -> String {
        let request = Request::new(());
        let id = ids.make_request_id(&request).expect("an id");
        id.header_value().to_str().expect("ASCII").to_string()
    }

    #[test]
    fn ids_differ_within_a_process_and_between_processes() {
        let mut first = ProcessRequestIds::new();
        let a = id_of(&mut first);
        let b = id_of(&mut first.clone());
        assert_ne!(a, b, "clones share the counter");
        let mut second = ProcessRequestIds::new();
        let c = id_of(&mut second);
        assert_ne!(a.split('-').next(), c.split('-').next());
        assert_eq!(a.len(), "0123456789abcdef-1".len());
    }
}
