//! A tenant's OpenID Connect settings: which provider, which client, which claim names the user,
//! whether unknown users may be created on first login, and where a login may return to.

use super::SsoError;
use super::secret_key::SecretKey;
use crate::store::{Micros, Store, TenantId};
pub use crate::store::{SsoConfig, UserClaim};
use crate::tenant::tenants::find_tenant;
use crate::tenant::{Caller, audit};

impl UserClaim {
    /// The claim a setting names; anything else is a configuration error naming the choices.
    pub fn parse(text: &str) -> Result<Self, SsoError> {
        Self::from_name(text).ok_or_else(|| {
            SsoError::Config(format!(
                "unknown user claim '{text}': use email, preferred_username, sub or oid"
            ))
        })
    }
}

/// Scopes asked for when the configuration names none.
pub const DEFAULT_SCOPES: [&str; 3] = ["openid", "email", "profile"];

impl SsoConfig {
    /// Where a finished login goes: `return_to` when it is on the allow list or one of the
    /// gateway's own pages of the tenant (compared exactly), else the tenant's
    /// `/sso/{tenant}/me` page. Anything else is refused, never followed.
    pub fn return_target(
        &self,
        requested: Option<&str>,
        own: &OwnTargets,
    ) -> Result<String, SsoError> {
        match requested.filter(|r| !r.is_empty()) {
            None => Ok(own.me.clone()),
            Some(url)
                if url == own.me
                    || url == own.pages
                    || self.redirect_allow.iter().any(|a| a == url) =>
            {
                Ok(url.to_string())
            }
            Some(url) => Err(SsoError::ReturnToNotAllowed(url.to_string())),
        }
    }

    /// The context a client secret is sealed under: bound to its tenant.
    pub fn secret_context(tenant_id: &TenantId) -> String {
        format!("sso client secret of tenant {tenant_id}")
    }
}

/// The gateway's own pages a sign-in may return to without being on the tenant's list: the
/// signed-in user's `/sso/{tenant}/me` (the default) and the tenant's admin pages.
#[derive(Debug, Clone)]
pub struct OwnTargets {
    pub me: String,
    pub pages: String,
}

/// What `sso set` asks for; `None` keeps the stored value (a first `set` needs issuer, client
/// id and secret).
#[derive(Debug, Clone, Default)]
pub struct SsoChange {
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub user_claim: Option<UserClaim>,
    pub groups_claim: Option<Option<String>>,
    pub jit: Option<bool>,
    pub redirect_allow: Option<Vec<String>>,
}

/// Stores a tenant's SSO settings, the client secret sealed, and audits the change (without the
/// secret).
pub async fn set_config(
    store: &Store,
    secret_key: &SecretKey,
    slug: &str,
    change: SsoChange,
    now: Micros,
) -> Result<SsoConfig, SsoError> {
    let tenant = find_tenant(store, slug).await?;
    let existing = store.sso_config(&tenant.id).await?;
    let required = |what: &str| SsoError::Config(format!("{what} is required the first time"));
    let issuer = match (change.issuer, &existing) {
        (Some(issuer), _) => validate_issuer(&issuer)?,
        (None, Some(old)) => old.issuer.clone(),
        (None, None) => return Err(required("--issuer")),
    };
    let client_id = match (change.client_id, &existing) {
        (Some(id), _) if !id.trim().is_empty() => id.trim().to_string(),
        (Some(_), _) => return Err(SsoError::Config("the client id is empty".into())),
        (None, Some(old)) => old.client_id.clone(),
        (None, None) => return Err(required("--client-id")),
    };
    let client_secret_sealed = match (change.client_secret, &existing) {
        (Some(secret), _) => {
            let secret = secret.trim();
            if secret.is_empty() {
                return Err(SsoError::Config("the client secret file is empty".into()));
            }
            secret_key.seal(secret.as_bytes(), &SsoConfig::secret_context(&tenant.id))?
        }
        (None, Some(old)) => {
            // Kept, but only if it still opens: a changed key would break every sign-in later.
            secret_key.open(
                &old.client_secret_sealed,
                &SsoConfig::secret_context(&tenant.id),
            )?;
            old.client_secret_sealed.clone()
        }
        (None, None) => return Err(required("--client-secret-file")),
    };
    let mut scopes = change
        .scopes
        .or_else(|| existing.as_ref().map(|c| c.scopes.clone()))
        .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect());
    if !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".into());
    }
    let redirect_allow = match change.redirect_allow {
        Some(list) => list
            .iter()
            .map(|u| validate_redirect(u))
            .collect::<Result<Vec<_>, _>>()?,
        None => existing
            .as_ref()
            .map(|c| c.redirect_allow.clone())
            .unwrap_or_default(),
    };
    let config = SsoConfig {
        tenant_id: tenant.id.clone(),
        issuer,
        client_id,
        client_secret_sealed,
        scopes,
        user_claim: change
            .user_claim
            .or(existing.as_ref().map(|c| c.user_claim))
            .unwrap_or(UserClaim::Email),
        groups_claim: change
            .groups_claim
            .unwrap_or_else(|| existing.as_ref().and_then(|c| c.groups_claim.clone())),
        jit: change
            .jit
            .or(existing.as_ref().map(|c| c.jit))
            .unwrap_or(false),
        redirect_allow,
        created_at: existing.as_ref().map_or(now, |c| c.created_at),
        updated_at: now,
    };
    let caller = Caller {
        tenant: tenant.into(),
        connection_id: None,
        actor: "cli",
        request_summary: Some("sso set".into()),
        token_id: None,
    };
    let mut event = audit::event(&caller, "sso.configure", now);
    event.target_type = Some("Tenant".into());
    event.target_id = Some(caller.tenant.id.to_string());
    event.target_name = Some(caller.tenant.slug.clone());
    event.changed_attributes = changed_fields(existing.as_ref(), &config);
    let mut tx = store.begin().await?;
    tx.upsert_sso_config(&config).await?;
    tx.insert_audit(&event).await?;
    tx.commit().await?;
    Ok(config)
}

/// The names of the settings that differ (the secret by its sealed form: any new secret counts).
fn changed_fields(old: Option<&SsoConfig>, new: &SsoConfig) -> Vec<String> {
    let Some(old) = old else {
        return vec!["sso".into()];
    };
    let mut out = Vec::new();
    let mut check = |name: &str, differs: bool| {
        if differs {
            out.push(name.to_string());
        }
    };
    check("issuer", old.issuer != new.issuer);
    check("clientId", old.client_id != new.client_id);
    check(
        "clientSecret",
        old.client_secret_sealed != new.client_secret_sealed,
    );
    check("scopes", old.scopes != new.scopes);
    check("userClaim", old.user_claim != new.user_claim);
    check("groupsClaim", old.groups_claim != new.groups_claim);
    check("jit", old.jit != new.jit);
    check("redirectAllow", old.redirect_allow != new.redirect_allow);
    out
}

/// A tenant's SSO settings as shown to an operator: everything but the client secret.
pub fn describe(config: &SsoConfig, slug: &str, public_url: Option<&str>) -> serde_json::Value {
    let mut out = serde_json::json!({
        "tenant": slug,
        "issuer": config.issuer,
        "clientId": config.client_id,
        "clientSecret": "(set; never shown)",
        "scopes": config.scopes,
        "userClaim": config.user_claim.as_str(),
        "groupsClaim": config.groups_claim,
        "jit": config.jit,
        "redirectAllow": config.redirect_allow,
    });
    if let (Some(base), Some(fields)) = (public_url, out.as_object_mut()) {
        fields.insert(
            "redirectUri".into(),
            format!("{base}/sso/{slug}/callback").into(),
        );
        fields.insert("loginUrl".into(), format!("{base}/sso/{slug}/login").into());
    }
    out
}

/// Checks an issuer URL: https, or http on a loopback host (local test providers only).
pub fn validate_issuer(issuer: &str) -> Result<String, SsoError> {
    let issuer = issuer.trim().trim_end_matches('/').to_string();
    check_url(&issuer, "issuer")?;
    Ok(issuer)
}

/// Checks an entry of the return-to allow list: an absolute http(s) URL without a fragment.
pub fn validate_redirect(url: &str) -> Result<String, SsoError> {
    let url = url.trim().to_string();
    check_url(&url, "redirect target")?;
    if url.contains('#') {
        return Err(SsoError::Config(format!(
            "redirect target '{url}' must not have a fragment"
        )));
    }
    Ok(url)
}

fn check_url(url: &str, what: &str) -> Result<(), SsoError> {
    let bad = |why: &str| SsoError::Config(format!("{what} '{url}' {why}"));
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        let host = host_of(rest);
        let loopback = host == "localhost"
            || host == "[::1]"
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback && what == "issuer" {
            return Err(bad(
                "must use https (http is allowed for loopback hosts only)",
            ));
        }
        rest
    } else {
        return Err(bad("must be an absolute http(s) URL"));
    };
    if host_of(rest).is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("is not a valid URL"));
    }
    Ok(())
}

/// The host of `rest` (a URL after its scheme), without port.
fn host_of(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if authority.starts_with('[') {
        // An IPv6 literal: the host runs to the closing bracket.
        return authority
            .find(']')
            .and_then(|end| authority.get(..=end))
            .unwrap_or("");
    }
    authority.split(':').next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(allow: &[&str]) -> SsoConfig {
        SsoConfig {
            tenant_id: TenantId::new("t"),
            issuer: "https://idp.example".into(),
            client_id: "c".into(),
            client_secret_sealed: "v1.x".into(),
            scopes: vec!["openid".into()],
            user_claim: UserClaim::Email,
            groups_claim: None,
            jit: false,
            redirect_allow: allow.iter().map(|s| s.to_string()).collect(),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn return_to_must_match_the_allow_list_exactly() {
        let c = config(&["https://app.example/home"]);
        let own = OwnTargets {
            me: "https://gw.example/sso/t/me".into(),
            pages: "https://gw.example/ui/t/t".into(),
        };
        let me = &own;
        assert_eq!(c.return_target(None, me).unwrap(), own.me);
        assert_eq!(
            c.return_target(Some("https://gw.example/ui/t/t"), me)
                .unwrap(),
            own.pages
        );
        assert_eq!(
            c.return_target(Some("https://app.example/home"), me)
                .unwrap(),
            "https://app.example/home"
        );
        for evil in [
            "https://app.example/home/../x",
            "https://app.example/home?x=1",
            "https://app.example.evil.com/home",
            "//evil.com",
            "https://evil.com/https://app.example/home",
            "HTTPS://APP.EXAMPLE/HOME",
            "https://gw.example/ui/t/other",
        ] {
            assert!(c.return_target(Some(evil), me).is_err(), "{evil}");
        }
    }

    #[test]
    fn issuers_use_https_except_on_loopback() {
        assert!(validate_issuer("https://login.microsoftonline.com/x/v2.0").is_ok());
        assert_eq!(
            validate_issuer("http://127.0.0.1:9400/").unwrap(),
            "http://127.0.0.1:9400"
        );
        assert!(validate_issuer("http://localhost:9400").is_ok());
        assert!(validate_issuer("http://idp.example").is_err());
        assert!(validate_issuer("http://127.0.0.1.evil.com").is_err());
        assert!(validate_issuer("http://evil.com@127.0.0.1").is_ok());
        assert!(validate_issuer("ftp://idp.example").is_err());
        assert!(validate_issuer("https://").is_err());
        assert!(validate_redirect("https://app.example/#x").is_err());
    }

    #[test]
    fn user_claims_round_trip() {
        for c in ["email", "preferred_username", "sub", "oid"] {
            assert_eq!(UserClaim::parse(c).unwrap().as_str(), c);
        }
        assert!(UserClaim::parse("upn").is_err());
    }
}
