//! Filtering on every attribute, sorting, and cursor paging (RFC 9865) over users.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_scim_error, spawn_app, user};

async fn list(app: &TestApp, query: &[(&str, &str)]) -> Value {
    let response = app
        .client
        .get(app.url("/Users"))
        .query(query)
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{query:?}");
    response.json().await.unwrap()
}

fn names(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn attributes_without_columns_filter_with_case_folding_beyond_ascii() {
    let app = spawn_app().await;
    let mut muller = user("muller");
    muller["name"] = json!({"familyName": "Müller", "givenName": "Jörg"});
    muller["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
        json!({"department": "Zoë's Team"});
    muller["phoneNumbers"] = json!([{"value": "+49 30 1234", "type": "work"}]);
    app.post("/Users", &muller).await;
    app.create_user("other").await;
    for filter in [
        "name.familyName eq \"MÜLLER\"",
        "name.givenName sw \"jö\"",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department co \"ZOË\"",
        "phoneNumbers[type eq \"work\" and value sw \"+49\"]",
        "phoneNumbers.value ew \"1234\"",
        "not (name.familyName pr) or name.familyName eq \"müller\" and userName eq \"muller\"",
    ] {
        let found = names(&list(&app, &[("filter", filter)]).await);
        assert!(found.contains(&"muller".to_string()), "{filter}: {found:?}");
    }
    assert_eq!(
        names(&list(&app, &[("filter", "name.familyName eq \"MULLER\"")]).await),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn users_filter_by_group_membership() {
    let app = spawn_app().await;
    let a = app.create_user("in-group").await;
    app.create_user("outside").await;
    let group: Value = app
        .post(
            "/Groups",
            &json!({"displayName": "Night Shift", "members": [{"value": a["id"]}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let by_id = format!("groups.value eq \"{}\"", group["id"].as_str().unwrap());
    assert_eq!(
        names(&list(&app, &[("filter", by_id.as_str())]).await),
        ["in-group"]
    );
    assert_eq!(
        names(&list(&app, &[("filter", "groups[display eq \"night shift\"]")]).await),
        ["in-group"]
    );
}

#[tokio::test]
async fn sorting_by_any_singular_attribute_with_unassigned_values_last() {
    let app = spawn_app().await;
    for (name, family) in [
        ("b", Some("Zeta")),
        ("a", None),
        ("c", Some("alpha")),
        ("d", Some("Ämter")),
    ] {
        let mut u = user(name);
        match family {
            Some(f) => u["name"] = json!({"familyName": f}),
            None => {
                u.as_object_mut().unwrap().remove("name");
            }
        }
        app.post("/Users", &u).await;
    }
    assert_eq!(
        names(&list(&app, &[("sortBy", "userName")]).await),
        ["a", "b", "c", "d"]
    );
    assert_eq!(
        names(&list(&app, &[("sortBy", "userName"), ("sortOrder", "descending")]).await),
        ["d", "c", "b", "a"]
    );
    // Folded byte order: "alpha" < "zeta" < "ämter"; the user without a family name comes last.
    assert_eq!(
        names(&list(&app, &[("sortBy", "name.familyName")]).await),
        ["c", "b", "d", "a"]
    );
    assert_eq!(
        names(
            &list(
                &app,
                &[("sortBy", "name.familyName"), ("sortOrder", "DESCENDING")]
            )
            .await
        ),
        ["d", "b", "c", "a"]
    );
    assert_eq!(
        names(&list(&app, &[("sortBy", "emails"), ("count", "2")]).await),
        ["a", "b"]
    );
    let meta = names(
        &list(
            &app,
            &[("sortBy", "meta.created"), ("sortOrder", "descending")],
        )
        .await,
    );
    assert_eq!(meta, ["d", "c", "a", "b"]);
    for (k, v) in [
        ("sortBy", "nope"),
        ("sortBy", "phoneNumbers"),
        ("sortOrder", "sideways"),
    ] {
        let response = app
            .client
            .get(app.url("/Users"))
            .query(&[(k, v)])
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        assert_scim_error(response, 400, Some("invalidValue")).await;
    }
    let spc: Value = app
        .get("/ServiceProviderConfig")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(spc["sort"]["supported"], true);
    assert_eq!(spc["pagination"]["cursor"], true);
    assert_eq!(spc["pagination"]["defaultPaginationMethod"], "index");
}

/// Walks the whole list by cursor, calling `between` after each page.
async fn walk(app: &TestApp, count: &str, mut between: impl AsyncFnMut(usize)) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for page in 0.. {
        let body = list(
            app,
            &[
                ("cursor", cursor.as_str()),
                ("count", count),
                ("filter", "userName sw \"walk\""),
            ],
        )
        .await;
        assert!(body.get("startIndex").is_none());
        seen.extend(names(&body));
        match body.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
        between(page).await;
        assert!(page < 100, "the walk must end");
    }
    seen
}

#[tokio::test]
async fn a_cursor_walk_sees_everyone_who_existed_throughout_exactly_once() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(
            app.create_user(&format!("walk{i:02}")).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let mut deleted = Vec::new();
    let seen = walk(&app, "7", async |page| {
        // Between pages: delete one user already seen and one not yet seen, and add a new one.
        if page < 3 {
            let early = page * 2;
            let late = 29 - page * 3;
            for i in [early, late] {
                app.delete(&format!("/Users/{}", ids[i])).await;
                deleted.push(format!("walk{i:02}"));
            }
            app.create_user(&format!("walkextra{page}")).await;
        }
    })
    .await;
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "no user twice: {seen:?}");
    for i in 0..30 {
        let name = format!("walk{i:02}");
        if !deleted.contains(&name) {
            assert!(
                seen.contains(&name),
                "{name} existed throughout and was not seen"
            );
        }
    }
}

#[tokio::test]
async fn cursor_errors_are_scim_errors() {
    let app = spawn_app().await;
    for i in 0..3 {
        app.create_user(&format!("walk{i}")).await;
    }
    let first = list(
        &app,
        &[
            ("cursor", ""),
            ("count", "1"),
            ("filter", "userName sw \"walk\""),
        ],
    )
    .await;
    assert_eq!(first["totalResults"], 3);
    let next = first["nextCursor"].as_str().unwrap();
    let get = |query: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            app.client
                .get(app.url("/Users"))
                .query(&query)
                .bearer_auth(&app.token)
                .send()
                .await
                .unwrap()
        }
    };
    assert_scim_error(
        get(vec![("cursor", "garbage".into())]).await,
        400,
        Some("invalidCursor"),
    )
    .await;
    // The other parameters must stay the same from page to page.
    assert_scim_error(
        get(vec![
            ("cursor", next.into()),
            ("filter", "userName sw \"w\"".into()),
        ])
        .await,
        400,
        Some("invalidCursor"),
    )
    .await;
    assert_scim_error(
        get(vec![("cursor", "".into()), ("count", "-1".into())]).await,
        400,
        Some("invalidCount"),
    )
    .await;
    assert_scim_error(
        get(vec![("cursor", "".into()), ("sortBy", "userName".into())]).await,
        400,
        Some("invalidValue"),
    )
    .await;
    let second = get(vec![
        ("cursor", next.into()),
        ("count", "5".into()),
        ("filter", "userName sw \"walk\"".into()),
    ])
    .await;
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["itemsPerPage"], 2);
    assert!(second.get("nextCursor").is_none());
    let search = app
        .post("/Users/.search", &json!({"cursor": "", "count": 2}))
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert!(search["nextCursor"].is_string());
}

#[tokio::test]
async fn a_shared_email_pages_counts_and_walks_every_user_once() {
    let app = spawn_app().await;
    let shared = json!({"value": "Desk@Example.com", "type": "work"});
    let mut ids = Vec::new();
    for name in ["desk-c", "desk-a", "desk-d", "desk-b"] {
        let mut body = user(name);
        body["emails"] = if name == "desk-a" {
            // The same email twice must not make the user count twice.
            json!([shared, shared])
        } else {
            json!([shared, {"value": format!("{name}@example.com"), "type": "home"}])
        };
        let created: Value = app.post("/Users", &body).await.json().await.unwrap();
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    app.create_user("not-at-the-desk").await;
    ids.sort();
    let entra = "emails[type eq \"work\"].value eq \"desk@example.COM\"";
    let id_list = |list: &Value| -> Vec<String> {
        list["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect()
    };

    let all = list(&app, &[("filter", entra)]).await;
    assert_eq!(all["totalResults"], 4);
    assert_eq!(id_list(&all), ids, "each user once, in id order");

    let backwards = list(&app, &[("filter", entra), ("sortOrder", "descending")]).await;
    let mut reversed = ids.clone();
    reversed.reverse();
    assert_eq!(id_list(&backwards), reversed);

    let second = list(
        &app,
        &[("filter", entra), ("startIndex", "2"), ("count", "2")],
    )
    .await;
    assert_eq!(
        second["totalResults"], 4,
        "counted without the repeated email"
    );
    assert_eq!(id_list(&second), ids[1..3]);

    let by_name = list(
        &app,
        &[
            (
                "filter",
                "emails.value eq \"DESK@example.com\" and userName ne \"desk-b\"",
            ),
            ("sortBy", "userName"),
            ("sortOrder", "descending"),
        ],
    )
    .await;
    assert_eq!(names(&by_name), ["desk-d", "desk-c", "desk-a"]);

    let mut walked = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = list(
            &app,
            &[
                ("filter", entra),
                ("cursor", cursor.as_str()),
                ("count", "1"),
            ],
        )
        .await;
        walked.extend(id_list(&page));
        match page.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
        assert!(walked.len() <= ids.len(), "the walk must end: {walked:?}");
    }
    assert_eq!(walked, ids);
}
