//! `serve --demo`: a `demo` tenant with a SCIM token and an operator token for the admin pages,
//! printed with how to use them. The first time, the tenant is seeded through the running
//! server's own APIs, as an identity provider and an operator would: a few users, a group mapped
//! to a role, a suspension and one refused request, so that the first look at the pages is a
//! populated dashboard.

use std::time::Duration;

use serde_json::{Value, json};

use crate::clock::now_micros;
use crate::store::Store;
use crate::tenant::{TenantSlug, operators, tenants, tokens};

const SLUG: &str = "demo";
/// How long the printed operator token lasts: a demo's, not a deployment's.
const OPERATOR_TOKEN_HOURS: i64 = 24;

/// What the demo prints, and whether the tenant is new (and so to be seeded).
pub struct Demo {
    scim_token: String,
    operator_token: String,
    fresh: bool,
}

/// Ensures the `demo` tenant exists, and issues a fresh SCIM token (earlier demo tokens stop
/// working: only a hash of a token is kept, so an old one cannot be shown again) and an operator
/// token for the pages.
pub async fn prepare(store: &Store) -> anyhow::Result<Demo> {
    let now = now_micros();
    let slug = TenantSlug::parse(SLUG)?;
    let fresh = store.tenant_by_slug(slug.as_str()).await?.is_none();
    if fresh {
        tenants::create_tenant(store, &slug, Some("Demo tenant"), Some(100), now).await?;
    }
    let (scim, _) = tokens::rotate_token(store, SLUG, "demo", 0, now).await?;
    let expires = now.saturating_add(OPERATOR_TOKEN_HOURS * 3600 * 1_000_000);
    let (operator, _) =
        operators::create_operator_token(store, "demo pages", Some(expires), now).await?;
    Ok(Demo {
        scim_token: scim.expose().to_string(),
        operator_token: operator.expose().to_string(),
        fresh,
    })
}

impl Demo {
    /// Prints how to use the demo.
    pub fn announce(&self, public_url: &str) {
        let base = format!("{public_url}/scim/v2/{SLUG}");
        println!(
            "\nscim-gateway demo is running.\n\n  Admin pages:    {public_url}/ui   (sign in with the operator token)\n  \
             Operator token: {operator}   (valid {OPERATOR_TOKEN_HOURS} hours)\n\n  \
             SCIM base URL:  {base}\n  Bearer token:   {token}\n\n\
             Provision a user:\n\n  curl -s -X POST '{base}/Users' \\\n    -H 'Authorization: Bearer {token}' \\\n    \
             -H 'Content-Type: application/scim+json' \\\n    \
             -d '{{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"ada@example.com\",\
             \"name\":{{\"givenName\":\"Ada\",\"familyName\":\"Lovelace\"}},\"emails\":[{{\"value\":\"ada@example.com\",\
             \"type\":\"work\",\"primary\":true}}]}}'\n\n\
             List users:\n\n  curl -s '{base}/Users' -H 'Authorization: Bearer {token}'\n\n\
             Point Entra ID or Okta at the base URL with the token (see README.md). Single sign-on needs\n\
             SCIM_GATEWAY_SECRET_KEY (`scim-gateway sso new-secret-key`) and `scim-gateway sso set` (README,\n\
             \"Single sign-on\"). Stop with Ctrl-C.\n",
            token = self.scim_token,
            operator = self.operator_token,
        );
    }

    /// Seeds a new demo tenant through the server at `root` once it answers; a tenant seeded
    /// before is left as it is.
    pub async fn seed(self, root: String) {
        if !self.fresh {
            return;
        }
        if let Err(err) = seed(&root, &self.scim_token, &self.operator_token).await {
            tracing::warn!(error = %err, "the demo tenant could not be seeded");
        }
    }
}

fn person(user_name: &str, given: &str, family: &str, user_type: &str, extra: Value) -> Value {
    let mut user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "displayName": format!("{given} {family}"),
        "name": {"givenName": given, "familyName": family},
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "userType": user_type,
        "externalId": format!("demo-{given}").to_lowercase(),
    });
    if let (Some(user), Value::Object(extra)) = (user.as_object_mut(), extra) {
        user.extend(extra);
    }
    user
}

async fn seed(root: &str, scim_token: &str, operator_token: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client
            .get(format!("{root}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let scim = format!("{root}/scim/v2/{SLUG}");
    let admin = format!("{root}/admin/v1/tenants/{SLUG}");
    let send = |request: reqwest::RequestBuilder, body: Value| async move {
        let response = request.json(&body).send().await?;
        Ok::<Value, anyhow::Error>(response.json().await.unwrap_or(Value::Null))
    };
    for (name, permissions) in [
        (
            "Agent",
            json!(["conversations:view", "conversations:create"]),
        ),
        (
            "Supervisor",
            json!(["conversations:*", "users:view", "analytics:view"]),
        ),
    ] {
        send(
            client
                .post(format!("{admin}/roles"))
                .bearer_auth(operator_token),
            json!({"name": name, "permissions": permissions}),
        )
        .await?;
    }
    client
        .put(format!("{admin}/roles/Supervisor/groups/Team%20Leads"))
        .bearer_auth(operator_token)
        .send()
        .await?;
    let agent = json!({"roles": [{"value": "Agent"}],
        "urn:ietf:params:scim:schemas:extension:gateway:2.0:User":
            {"skills": ["billing", "returns"], "maxChats": 4, "maxEmails": 6, "voiceCalls": true}});
    let people = [
        person(
            "ada@demo.example",
            "Ada",
            "Lovelace",
            "agent",
            agent.clone(),
        ),
        person("alan@demo.example", "Alan", "Turing", "agent", agent),
        person(
            "grace@demo.example",
            "Grace",
            "Hopper",
            "supervisor",
            json!({}),
        ),
        person(
            "katherine@demo.example",
            "Katherine",
            "Johnson",
            "analyst",
            json!({}),
        ),
        person(
            "linus@demo.example",
            "Linus",
            "Pauling",
            "agent",
            json!({"active": false}),
        ),
    ];
    let mut ids = Vec::new();
    for user in people {
        let created = send(
            client.post(format!("{scim}/Users")).bearer_auth(scim_token),
            user,
        )
        .await?;
        ids.push(
            created
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        );
    }
    if let Some(grace) = ids.get(2) {
        send(
            client
                .post(format!("{scim}/Groups"))
                .bearer_auth(scim_token),
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                   "displayName": "Team Leads", "members": [{"value": grace}]}),
        )
        .await?;
    }
    // One refused request: the userName is locked once set.
    if let Some(ada) = ids.first() {
        send(
            client.patch(format!("{scim}/Users/{ada}")).bearer_auth(scim_token),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "replace", "path": "userName", "value": "ada.l@demo.example"}]}),
        )
        .await?;
    }
    Ok(())
}
