//! `token create|rotate|revoke|list`. Commands that create a secret print it alone on stdout.

use clap::Subcommand;
use serde_json::json;

use super::time_text;
use crate::clock::now_micros;
use crate::store::{Micros, Store, TokenPrefix, TokenRecord};
use crate::tenant::{tenants, tokens};

const MICROS_PER_HOUR: Micros = 3_600_000_000;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a SCIM bearer token and print it (only once: only its hash is kept).
    Create {
        #[arg(long)]
        tenant: String,
        /// Directory connection the token belongs to (created if missing).
        #[arg(long, default_value = "default")]
        connection: String,
        /// Let the token expire after this many days.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Issue a new token for a connection; its current tokens stay valid for the grace period.
    Rotate {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "default")]
        connection: String,
        /// Hours the old tokens keep working.
        #[arg(long, default_value_t = 24)]
        grace_hours: u32,
    },
    /// Revoke a token by the prefix shown in `token list`.
    Revoke {
        #[arg(long)]
        tenant: String,
        prefix: String,
    },
    /// List a tenant's tokens (prefixes only, never secrets).
    List {
        #[arg(long)]
        tenant: String,
    },
}

fn state_of(t: &TokenRecord, now: Micros) -> &'static str {
    tokens::token_state(t.revoked_at, t.expires_at, now)
}

pub async fn run(store: &Store, cmd: TokenCommand, as_json: bool) -> anyhow::Result<()> {
    let now = now_micros();
    match cmd {
        TokenCommand::Create {
            tenant,
            connection,
            expires_in_days,
        } => {
            let expires = expires_in_days.map(|d| now + i64::from(d) * 24 * MICROS_PER_HOUR);
            let (secret, record) =
                tokens::create_token(store, &tenant, &connection, expires, now).await?;
            println!("{}", secret.expose());
            eprintln!(
                "token {} created for connection '{}' of tenant '{tenant}'",
                record.prefix, record.connection_name
            );
        }
        TokenCommand::Rotate {
            tenant,
            connection,
            grace_hours,
        } => {
            let grace = i64::from(grace_hours) * MICROS_PER_HOUR;
            let (secret, record) =
                tokens::rotate_token(store, &tenant, &connection, grace, now).await?;
            println!("{}", secret.expose());
            eprintln!(
                "token {} created; earlier tokens of '{connection}' expire in {grace_hours} h",
                record.prefix
            );
        }
        TokenCommand::Revoke { tenant, prefix } => {
            let n = tokens::revoke_token(store, &tenant, &TokenPrefix::new(prefix.as_str()), now)
                .await?;
            eprintln!("revoked {n} token(s) with prefix {prefix}");
        }
        TokenCommand::List { tenant } => {
            let tenant = tenants::find_tenant(store, &tenant).await?;
            let list = store.list_tokens(&tenant.id).await?;
            if as_json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|t| {
                        json!({"prefix": t.prefix, "connection": t.connection_name, "state": state_of(t, now),
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
                        t.connection_name,
                        state_of(t, now),
                        time_text(Some(t.created_at)),
                        time_text(t.last_used_at),
                        time_text(t.expires_at)
                    );
                }
            }
        }
    }
    Ok(())
}
