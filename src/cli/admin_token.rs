//! `admin-token create|list|revoke`: operator tokens of the admin API, which reach every tenant.
//! `create` prints the secret alone on stdout.

use clap::Subcommand;
use serde_json::json;

use super::time_text;
use crate::clock::now_micros;
use crate::store::{AdminTokenRecord, Micros, Store, TokenPrefix};
use crate::tenant::operators;

const MICROS_PER_DAY: Micros = 24 * 3_600_000_000;

#[derive(Debug, Subcommand)]
pub enum AdminTokenCommand {
    /// Create an operator token and print it (only once: only its hash is kept).
    Create {
        /// What the token is for, shown in listings.
        #[arg(long, default_value = "operator")]
        name: String,
        /// Let the token expire after this many days.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List operator tokens (prefixes only, never secrets).
    List,
    /// Revoke an operator token by the prefix shown in `admin-token list`; refused at once.
    Revoke { prefix: String },
}

fn state_of(t: &AdminTokenRecord, now: Micros) -> &'static str {
    crate::tenant::tokens::token_state(t.revoked_at, t.expires_at, now)
}

pub async fn run(store: &Store, cmd: AdminTokenCommand, as_json: bool) -> anyhow::Result<()> {
    let now = now_micros();
    match cmd {
        AdminTokenCommand::Create {
            name,
            expires_in_days,
        } => {
            let expires = expires_in_days.map(|d| now + i64::from(d) * MICROS_PER_DAY);
            let (secret, record) =
                operators::create_operator_token(store, &name, expires, now).await?;
            println!("{}", secret.expose());
            eprintln!(
                "operator token {} created ('{}')",
                record.prefix, record.name
            );
        }
        AdminTokenCommand::List => {
            let list = store.list_admin_tokens().await?;
            if as_json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|t| {
                        json!({"prefix": t.prefix, "name": t.name, "state": state_of(t, now),
                               "createdAt": time_text(Some(t.created_at)), "lastUsedAt": time_text(t.last_used_at),
                               "expiresAt": time_text(t.expires_at), "revokedAt": time_text(t.revoked_at)})
                    })
                    .collect();
                println!("{}", serde_json::Value::from(rows));
            } else {
                for t in &list {
                    println!(
                        "{}\t{}\t{}\tcreated {}\tlast used {}\texpires {}",
                        t.prefix,
                        t.name,
                        state_of(t, now),
                        time_text(Some(t.created_at)),
                        time_text(t.last_used_at),
                        time_text(t.expires_at)
                    );
                }
            }
        }
        AdminTokenCommand::Revoke { prefix } => {
            let n =
                operators::revoke_operator_token(store, &TokenPrefix::new(prefix.as_str()), now)
                    .await?;
            eprintln!("revoked {n} operator token(s) with prefix {prefix}");
        }
    }
    Ok(())
}
