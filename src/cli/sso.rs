//! `sso set|show|rotate-signing-key|new-secret-key`: a tenant's OpenID Connect settings and the
//! gateway's session signing keys.

use clap::Subcommand;

use crate::clock::now_micros;
use crate::sso::config::{SsoChange, UserClaim, describe, set_config};
use crate::sso::secret_key::SecretKey;
use crate::sso::session::rotate_signing_key;
use crate::store::Store;
use crate::tenant::tenants::find_tenant;

#[derive(Debug, Subcommand)]
pub enum SsoCommand {
    /// Set a tenant's OpenID Connect provider (needs the secret key).
    Set {
        #[arg(long)]
        tenant: String,
        /// The provider's issuer URL (https; http only on loopback).
        #[arg(long)]
        issuer: Option<String>,
        #[arg(long)]
        client_id: Option<String>,
        /// A file holding the client secret (read here, stored sealed, never printed).
        #[arg(long)]
        client_secret_file: Option<std::path::PathBuf>,
        /// The ID-token claim that names the user.
        #[arg(long, value_parser = ["email", "preferred_username", "sub", "oid"])]
        user_claim: Option<String>,
        /// The ID-token claim listing the user's groups (mapped to roles like SCIM groups).
        #[arg(long)]
        groups_claim: Option<String>,
        /// Create unknown users at their first sign-in, within the seat limit.
        #[arg(long, conflicts_with = "no_jit")]
        jit: bool,
        #[arg(long)]
        no_jit: bool,
        /// URLs a login may return to (exact match); repeat or separate by commas.
        #[arg(long, value_delimiter = ',', num_args = 1..)]
        redirect_allow: Option<Vec<String>>,
        /// Scopes to ask for (default: openid,email,profile).
        #[arg(long, value_delimiter = ',', num_args = 1..)]
        scopes: Option<Vec<String>>,
    },
    /// Show a tenant's SSO settings (never the client secret).
    Show {
        #[arg(long)]
        tenant: String,
        /// The gateway's public URL, to print the redirect URI to register at the provider.
        #[arg(long, env = "SCIM_GATEWAY_PUBLIC_URL")]
        public_url: Option<String>,
    },
    /// Start signing sessions with a new key; the old one stays published until its sessions
    /// expire. Prints the new key id.
    RotateSigningKey,
    /// Print a new random secret key for SCIM_GATEWAY_SECRET_KEY.
    NewSecretKey,
}

pub async fn run(
    store: &Store,
    cmd: SsoCommand,
    secret_key: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let secret = || -> anyhow::Result<SecretKey> {
        let text = secret_key.ok_or_else(|| {
            anyhow::anyhow!(
                "this needs the gateway's secret key: set SCIM_GATEWAY_SECRET_KEY (make one with `scim-gateway sso new-secret-key`)"
            )
        })?;
        Ok(SecretKey::parse(text)?)
    };
    match cmd {
        SsoCommand::Set {
            tenant,
            issuer,
            client_id,
            client_secret_file,
            user_claim,
            groups_claim,
            jit,
            no_jit,
            redirect_allow,
            scopes,
        } => {
            let client_secret = match client_secret_file {
                Some(path) => Some(std::fs::read_to_string(&path).map_err(|e| {
                    anyhow::anyhow!("cannot read the client secret file {}: {e}", path.display())
                })?),
                None => None,
            };
            let change = SsoChange {
                issuer,
                client_id,
                client_secret,
                scopes,
                user_claim: user_claim.as_deref().map(UserClaim::parse).transpose()?,
                groups_claim: groups_claim.map(|g| Some(g).filter(|g| !g.is_empty())),
                jit: (jit || no_jit).then_some(jit),
                redirect_allow,
            };
            let config = set_config(store, &secret()?, &tenant, change, now_micros()).await?;
            eprintln!("SSO settings of tenant '{tenant}' saved");
            if json {
                println!("{}", describe(&config, &tenant, None));
            }
        }
        SsoCommand::Show { tenant, public_url } => {
            let record = find_tenant(store, &tenant).await?;
            let config = store
                .sso_config(&record.id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("tenant '{tenant}' has no SSO settings"))?;
            let shown = describe(
                &config,
                &tenant,
                public_url.as_deref().map(|u| u.trim_end_matches('/')),
            );
            if json {
                println!("{shown}");
            } else if let Some(fields) = shown.as_object() {
                for (name, value) in fields {
                    let value = match value {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    println!("{name}\t{value}");
                }
            }
        }
        SsoCommand::RotateSigningKey => {
            let kid = rotate_signing_key(store, &secret()?, now_micros()).await?;
            println!("{kid}");
        }
        SsoCommand::NewSecretKey => println!("{}", SecretKey::generate()?),
    }
    Ok(())
}
