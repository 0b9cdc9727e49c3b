//! Whose web pages may use the origin-guarded parts of the service (callbacks and the push
//! WebSockets): the service's own pages, and the sites listed in `ALLOWED_ORIGINS` (`*`: any).
//!
//! "Own" is decided from configuration, never from the request's `Host`: `PUBLIC_URL` (the
//! address visitors use, e.g. behind a reverse proxy), and otherwise the listener itself — a
//! loopback (or the bound) address at the listening port. A `Host` header is whatever the page's
//! DNS name resolved to, so with DNS rebinding a foreign page could make its own name point here
//! and look "same origin"; an origin naming `localhost` or an address of this machine cannot be
//! a foreign site's. It is not the CORS layer (`cors`) nor the WebSocket admission (`push`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::http::HeaderValue;
use url::{Host, Url};

/// The `ALLOWED_ORIGINS` setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// `*`: pages on any site, as the seed allowed.
    Any,
    /// Exactly these origins (`https://www.example.com`), besides the service's own.
    Only(Vec<HeaderValue>),
}

impl Default for AllowedOrigins {
    fn default() -> Self {
        AllowedOrigins::Only(Vec::new())
    }
}

/// The service's own origin(s): `PUBLIC_URL`'s, and loopback or the bound address at the
/// listening port.
#[derive(Clone, Debug)]
pub struct OwnOrigin {
    public: Option<String>,
    listener: SocketAddr,
}

impl OwnOrigin {
    /// `public_url` is `PUBLIC_URL`; `listener` the address actually bound (its real port).
    pub fn new(public_url: Option<&Url>, listener: SocketAddr) -> Self {
        OwnOrigin {
            public: public_url.map(|url| url.origin().ascii_serialization()),
            listener,
        }
    }

    fn contains(&self, origin: &str) -> bool {
        if self
            .public
            .as_deref()
            .is_some_and(|own| own.eq_ignore_ascii_case(origin))
        {
            return true;
        }
        let Ok(url) = Url::parse(origin) else {
            return false;
        };
        if !matches!(url.scheme(), "http" | "https")
            || url.port_or_known_default() != Some(self.listener.port())
        {
            return false;
        }
        let address = match url.host() {
            Some(Host::Domain(name)) => return name.eq_ignore_ascii_case("localhost"),
            Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
            None => return false,
        };
        address.is_loopback()
            || (!self.listener.ip().is_unspecified() && address == self.listener.ip())
    }
}

/// Which page origins are admitted: the service's own and `ALLOWED_ORIGINS`. Cheap to clone.
#[derive(Clone, Debug)]
pub struct OriginRules(Arc<(OwnOrigin, AllowedOrigins)>);

impl OriginRules {
    pub fn new(own: OwnOrigin, allowed: AllowedOrigins) -> Self {
        OriginRules(Arc::new((own, allowed)))
    }

    /// Whether a page with this `Origin` may use the guarded endpoints. `null` (sandboxed frames,
    /// `file:` pages) is admitted only by `*`.
    pub fn admits(&self, origin: &HeaderValue) -> bool {
        let (own, allowed) = &*self.0;
        match allowed {
            AllowedOrigins::Any => return true,
            AllowedOrigins::Only(list) if list.contains(origin) => return true,
            AllowedOrigins::Only(_) => {}
        }
        origin.to_str().is_ok_and(|origin| own.contains(origin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(public: Option<&str>, listener: &str, allowed: AllowedOrigins) -> OriginRules {
        let public = public.map(|p| Url::parse(p).unwrap());
        OriginRules::new(
            OwnOrigin::new(public.as_ref(), listener.parse().unwrap()),
            allowed,
        )
    }

    fn admits(rules: &OriginRules, origin: &'static str) -> bool {
        rules.admits(&HeaderValue::from_static(origin))
    }

    #[test]
    fn without_public_url_only_loopback_or_the_bound_address_at_the_port_is_own() {
        let any_interface = rules(None, "0.0.0.0:8080", AllowedOrigins::default());
        assert!(admits(&any_interface, "http://localhost:8080"));
        assert!(admits(&any_interface, "http://127.0.0.1:8080"));
        assert!(admits(&any_interface, "http://[::1]:8080"));
        assert!(!admits(&any_interface, "http://127.0.0.1:8081"));
        assert!(!admits(&any_interface, "http://localhost"));
        // A rebound name is not own, whatever it resolves to.
        assert!(!admits(&any_interface, "http://attacker.test:8080"));
        assert!(!admits(&any_interface, "http://0.0.0.0:8080"));
        assert!(!admits(&any_interface, "null"));
        let one_address = rules(None, "192.0.2.10:443", AllowedOrigins::default());
        assert!(admits(&one_address, "https://192.0.2.10"));
        assert!(!admits(&one_address, "https://192.0.2.11"));
    }

    #[test]
    fn public_url_names_the_own_origin_whatever_its_path() {
        let behind_proxy = rules(
            Some("https://stats.example.com/widget/"),
            "127.0.0.1:8080",
            AllowedOrigins::default(),
        );
        assert!(admits(&behind_proxy, "https://stats.example.com"));
        assert!(!admits(&behind_proxy, "http://stats.example.com"));
        assert!(!admits(
            &behind_proxy,
            "https://stats.example.com.evil.test"
        ));
        assert!(admits(&behind_proxy, "http://localhost:8080"));
    }

    #[test]
    fn allowed_origins_are_exact_and_star_admits_all() {
        let listed = rules(
            None,
            "127.0.0.1:8080",
            AllowedOrigins::Only(vec![HeaderValue::from_static("https://www.example.com")]),
        );
        assert!(admits(&listed, "https://www.example.com"));
        assert!(!admits(&listed, "https://example.com"));
        let any = rules(None, "127.0.0.1:8080", AllowedOrigins::Any);
        assert!(admits(&any, "https://anything.test"));
        assert!(admits(&any, "null"));
    }
}
