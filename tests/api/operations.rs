//! Probes and request ids, as a load balancer and a log search see them.

use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn probes_answer_without_a_token() {
    let app = spawn_app().await;
    for (path, body) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let response = app
            .client
            .get(format!("{}{path}", app.root))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.text().await.expect("body"), body, "{path}");
    }
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_a_callers_id_is_kept() {
    let app = spawn_app().await;
    let id_of = |response: &reqwest::Response| {
        response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .expect("x-request-id")
    };
    let first = id_of(&app.get("/Users").await);
    let second = id_of(&app.get("/Users/missing").await);
    assert_ne!(first, second);
    // The same process: the same prefix, a different counter.
    assert_eq!(first.split('-').next(), second.split('-').next());

    let response = app
        .client
        .get(app.url("/Users"))
        .bearer_auth(&app.token)
        .header("x-request-id", "from-the-load-balancer-42")
        .send()
        .await
        .expect("request");
    assert_eq!(id_of(&response), "from-the-load-balancer-42");
}
