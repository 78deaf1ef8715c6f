//! Which URLs a webhook endpoint may have: `https://` to a public host. Plain `http://`, and hosts
//! that are loopback, private, link-local or unspecified addresses, only when the operator allows
//! insecure webhooks (tests, local development), so that a tenant cannot aim the gateway at
//! internal services.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The longest endpoint URL accepted.
pub const MAX_URL_LENGTH: usize = 2048;

/// `text` as an endpoint URL, or why it cannot be one.
pub fn endpoint_url(text: &str, allow_insecure: bool) -> Result<Url, String> {
    let text = text.trim();
    if text.chars().count() > MAX_URL_LENGTH {
        return Err(format!(
            "a webhook URL is at most {MAX_URL_LENGTH} characters"
        ));
    }
    let url = Url::parse(text).map_err(|e| format!("'{text}' is not a URL: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure => {}
        "http" => return Err("a webhook URL must use https://".into()),
        other => return Err(format!("a webhook URL cannot use {other}://")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a webhook URL cannot carry credentials; the signature authenticates".into());
    }
    let Some(host) = url.host_str() else {
        return Err("a webhook URL needs a host".into());
    };
    if !allow_insecure && is_internal(host) {
        return Err(format!(
            "'{host}' is a loopback, private or local address; webhooks go to public hosts"
        ));
    }
    Ok(url)
}

/// A host name or address literal that names this machine or a private network.
fn is_internal(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return is_internal_address(ip);
    }
    let lower = host.to_ascii_lowercase();
    lower == "localhost" || lower.ends_with(".localhost") || lower.ends_with(".internal")
}

/// An address of this machine, a private network, link-local (cloud metadata services live
/// there) or no address at all.
pub fn is_internal_address(ip: IpAddr) -> bool {
    let internal_v4 = |v4: Ipv4Addr| {
        v4.is_loopback()
            || v4.is_private()
            || v4.is_link_local()
            || v4.is_unspecified()
            || v4.is_broadcast()
            // 100.64.0.0/10, carrier-grade NAT: inside a provider's network.
            || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
    };
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                || v6.to_ipv4_mapped().is_some_and(internal_v4)
        }
    }
}

/// Resolves endpoint host names and keeps only public addresses, so that a name that resolves
/// (or is re-pointed after its endpoint was accepted) to an internal address is never connected
/// to. Checked at every connection, where the address is actually used.
#[derive(Debug, Clone, Copy)]
pub struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = resolved
                .iter()
                .copied()
                .filter(|addr| !is_internal_address(addr.ip()))
                .collect();
            if public.is_empty() {
                return Err(format!(
                    "'{host}' resolves only to loopback, private or local addresses; webhooks go to public hosts"
                )
                .into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_https_unless_insecure_is_allowed() {
        assert!(endpoint_url("https://hooks.example.com/scim", false).is_ok());
        for refused in [
            "http://hooks.example.com/",
            "https://127.0.0.1/",
            "https://localhost:8443/",
            "https://10.0.0.8/",
            "https://192.168.1.2/",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[fd00::1]/",
            "https://0.0.0.0/",
            "https://user:pw@hooks.example.com/",
            "ftp://hooks.example.com/",
            "not a url",
        ] {
            assert!(endpoint_url(refused, false).is_err(), "{refused}");
        }
        assert!(endpoint_url("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(endpoint_url("https://user:pw@127.0.0.1/", true).is_err());
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_internal_addresses_is_not_connected_to() {
        // `localhost` stands for any public-looking name pointed at an internal address.
        let refused = PublicOnlyResolver
            .resolve("localhost".parse().expect("a host name"))
            .await;
        let Err(err) = refused else {
            panic!("localhost resolved to a public address");
        };
        assert!(err.to_string().contains("resolves only to"), "{err}");
        for internal in [
            "100.64.1.1",
            "100.127.255.255",
            "::ffff:10.1.2.3",
            "fe80::1",
        ] {
            assert!(
                is_internal_address(internal.parse().expect("an address")),
                "{internal}"
            );
        }
        for public in ["100.128.0.1", "93.184.216.34", "2606:2800:220:1::1"] {
            assert!(
                !is_internal_address(public.parse().expect("an address")),
                "{public}"
            );
        }
    }
}
