//! The `import` scenario: a CSV of N users through the real `scim-gateway import`, as an admin
//! onboarding a tenant runs it: the first import, a re-run of the same file (every row
//! unchanged), its wall time, rows per second and the process's peak memory; beside it, in the
//! same run, the same users' creates through the running server's SCIM API (what an IdP's push
//! costs) and the file's parse alone (the floor).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use super::{
    TENANT, bench_tenant, drive, engine_name, free_port, peak_rss_mib, start_gateway, wait_ready,
};

/// SCIM creates in the baseline row: enough for a steady rate.
const SCIM_CREATES: usize = 2_000;

/// Writes a CSV of `rows` users with the columns an HR export has.
fn write_csv(rows: usize) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join("scim-gateway-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("import-{rows}.csv"));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(
        out,
        "userName,email,givenName,familyName,displayName,externalId,userType,roles,skills,maxChats,voiceCalls"
    )
    .unwrap();
    for i in 0..rows {
        writeln!(
            out,
            "user{i}@example.com,user{i}@example.com,Given{i},Family{i},\"Family{i}, Given{i}\",ext-{i},agent,agent,\"billing;french\",{},true",
            i % 11
        )
        .unwrap();
    }
    out.flush().unwrap();
    path
}

/// Runs `scim-gateway import` to its end: wall time and the highest peak memory seen.
fn run_import(database: &str, file: &std::path::Path) -> (Duration, f64) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_scim-gateway"))
        .args(["--database", database, "import", "--tenant", TENANT])
        .arg(file)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start scim-gateway import");
    let mut peak: f64 = 0.0;
    loop {
        peak = peak.max(peak_rss_mib(child.id()));
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "the import failed: {status}");
            return (started.elapsed(), peak);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub async fn import_scenario(sizes: &[usize]) {
    let client = reqwest::Client::new();
    let mut lines = Vec::new();
    let mut engine = "";
    for &size in sizes {
        let file = write_csv(size);
        let parsed = Instant::now();
        let check =
            scim_gateway::tenant::import::check_file(std::fs::File::open(&file).unwrap()).unwrap();
        let parse = parsed.elapsed();
        assert_eq!(check.rows, size as u64);

        let (database, store, _, token, _) = bench_tenant("entra").await;
        engine = engine_name(&database);
        store.close().await;
        let (first, first_peak) = run_import(&database, &file);
        let (again, again_peak) = run_import(&database, &file);

        // The same kind of users pushed over SCIM by the running server, in this run.
        let port = free_port();
        let mut gateway = start_gateway(&database, port);
        wait_ready(&client, port).await;
        let url = format!("http://127.0.0.1:{port}/scim/v2/{TENANT}/Users");
        let token = token.expose().to_string();
        let pushed = {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            drive("POST /Users", SCIM_CREATES, move |i| {
                let (c, u, t) = (client.clone(), url.clone(), token.clone());
                async move {
                    let user = json!({
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": format!("pushed{i}@example.com"),
                        "name": {"givenName": format!("Given{i}"), "familyName": format!("Family{i}")},
                        "emails": [{"value": format!("pushed{i}@example.com"), "type": "work", "primary": true}],
                        "externalId": format!("pushed-{i}"),
                        "userType": "agent",
                        "roles": [{"value": "agent"}],
                    });
                    c.post(u).bearer_auth(t).json(&user).send().await.unwrap().status()
                }
            })
            .await
        };
        gateway.kill().ok();
        gateway.wait().ok();
        let rate = |d: Duration| size as f64 / d.as_secs_f64();
        lines.push(format!(
            "| {size} | {:.1} | {:.0} | {first_peak:.1} | {:.1} | {:.0} | {again_peak:.1} | {:.2} | {:.0} |",
            first.as_secs_f64(),
            rate(first),
            again.as_secs_f64(),
            rate(again),
            parse.as_secs_f64(),
            pushed.rate(),
        ));
    }
    println!(
        "\nCSV import on {engine} (real `scim-gateway import` processes; baselines from the same run)\n"
    );
    println!(
        "| rows | first import s | rows/s | peak MiB | re-run s (all unchanged) | rows/s | peak MiB | parse alone s | SCIM POST /Users creates/s |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for line in lines {
        println!("{line}");
    }
}
