//! The bare HTTP baseline of `benches/wrk/run.sh`: an axum server with the gateway's allocator and
//! runtime that parses a request's JSON body and answers a fixed small JSON body, on any path and
//! method, and no storage, rules or middleware. What it makes on the machine is the ceiling for
//! any server the harness measures there, and its p99 against its p50 is the machine's own tail.
//!
//!     cargo build --release --example bare_server
//!     target/release/examples/bare_server 127.0.0.1:18100

use axum::Router;
use axum::body::Bytes;
use axum::http::{Method, StatusCode, header};
use axum::response::IntoResponse;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ANSWER: &str = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"2819c223-7f76-453a-919d-413861904646","userName":"bjensen@example.com","meta":{"resourceType":"User","version":"W/\"1\""}}"#;

/// Parses the body as JSON (400 if it is not) and answers `ANSWER`: 201 to a POST, 200 otherwise.
async fn answer(method: Method, body: Bytes) -> impl IntoResponse {
    if !body.is_empty() && serde_json::from_slice::<serde_json::Value>(&body).is_err() {
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/scim+json")],
            "",
        );
    }
    let status = if method == Method::POST {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/scim+json")],
        ANSWER,
    )
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18100".into());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    axum::serve(listener, Router::new().fallback(answer)).await
}
