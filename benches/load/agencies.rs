//! The `agencies` scenario: what an agency user holds in an environment three levels below their
//! agency (`Store::inherited_roles`: one statement up the chain, the nearest override on the way,
//! the user's own roles at the agency), beside what a user holds in their own tenant through the
//! rules (`effective_of_user`: the user, their groups, the catalog and their assignments, read
//! apiece), at agencies of N users. Library calls with the benchmark's concurrent clients, no
//! HTTP: the cost of the lookup itself.

use std::sync::Arc;

use scim_gateway::clock::now_micros;
use scim_gateway::tenant::roles;
use scim_gateway::tenant::tenants::create_tenant_by;

use super::{TENANT, bench_tenant, drive, engine_name, seed_users_fast};

/// Users given the agency's role by an admin's assignment, and looked up.
const HOLDERS: usize = 1_000;
const LOOKUPS: usize = 20_000;

pub async fn agencies_scenario(sizes: &[usize]) {
    let mut lines = Vec::new();
    let mut engine = "";
    for &size in sizes {
        let (database, store, tenant, _, _) = bench_tenant("bench").await;
        engine = engine_name(&database);
        let ids = seed_users_fast(&store, &tenant.id, size).await;
        let now = now_micros();
        let supervise = ["users:view".to_string(), "conversations:*".to_string()];
        roles::create_role(&store, TENANT, "Supervisor", &supervise, None, false, now)
            .await
            .unwrap();
        roles::map_group(&store, TENANT, "Leads", "Supervisor", false, now)
            .await
            .unwrap();
        let holders = HOLDERS.min(ids.len());
        for i in 0..holders {
            let name = format!("user{i:07}@bench.example");
            roles::assign_role(&store, TENANT, &name, "Supervisor", false, now)
                .await
                .unwrap();
        }
        let mut parent = TENANT.to_string();
        let mut environments = Vec::new();
        for level in 1..=3 {
            let slug = scim_gateway::tenant::TenantSlug::parse(&format!("env-{level}")).unwrap();
            let env = create_tenant_by(&store, "bench", &slug, None, None, Some(&parent), now)
                .await
                .unwrap();
            parent = env.slug.clone();
            environments.push(env.id);
        }
        let deepest = environments[2].clone();
        let store = Arc::new(store);
        let holder_ids = Arc::new(ids[..holders].to_vec());

        let (s, h, t) = (store.clone(), holder_ids.clone(), tenant.id.clone());
        let own = drive(
            "own tenant: the user, then effective roles (rules)",
            LOOKUPS,
            move |i| {
                let (s, h, t) = (s.clone(), h.clone(), t.clone());
                async move {
                    let id = &h[i % h.len()];
                    let user = s.user_by_id(&t, id).await.unwrap().unwrap();
                    let held = roles::effective_of_user(&s, &t, &user, &[]).await.unwrap();
                    assert_eq!(held.roles, ["Supervisor"]);
                    reqwest::StatusCode::OK
                }
            },
        )
        .await;
        let (s, h) = (store.clone(), holder_ids.clone());
        let inherited = drive(
            "3 levels below the agency: inherited roles (one statement)",
            LOOKUPS,
            move |i| {
                let (s, h, env) = (s.clone(), h.clone(), deepest.clone());
                async move {
                    let id = &h[i % h.len()];
                    let held = s.inherited_roles(&env, id).await.unwrap().unwrap();
                    assert_eq!(held.roles.len(), 1);
                    reqwest::StatusCode::OK
                }
            },
        )
        .await;
        lines.push(format!("| {size} {}", own.row()));
        lines.push(format!("| {size} {}", inherited.row()));
        if let Ok(store) = Arc::try_unwrap(store) {
            store.close().await;
        }
    }
    println!("\nAgencies on {engine} (library calls, no HTTP)\n");
    println!(
        "| agency users | row | lookups/s | p50 ms | p99 ms | | | |\n| ---: | --- | ---: | ---: | ---: | --- | --- | --- |"
    );
    for line in lines {
        println!("{line}");
    }
}
