//! Where a client sends its requests: a Genesys Cloud region or environment host resolved to the
//! API base (`https://api.{env}`) and the login base (`https://login.{env}`), or one explicit base
//! URL serving both (the simulator).
//!
//! It does not check that the host exists or answers; that is the first request's job.

use std::fmt;
use std::str::FromStr;

use url::Url;

/// Region name → environment host, as in the official SDKs' region tables (reference §1.2).
const REGIONS: [(&str, &str); 18] = [
    ("us_east_1", "mypurecloud.com"),
    ("eu_west_1", "mypurecloud.ie"),
    ("ap_southeast_2", "mypurecloud.com.au"),
    ("ap_northeast_1", "mypurecloud.jp"),
    ("eu_central_1", "mypurecloud.de"),
    ("us_west_2", "usw2.pure.cloud"),
    ("ca_central_1", "cac1.pure.cloud"),
    ("ap_northeast_2", "apne2.pure.cloud"),
    ("eu_west_2", "euw2.pure.cloud"),
    ("ap_south_1", "aps1.pure.cloud"),
    ("us_east_2", "use2.us-gov-pure.cloud"),
    ("sa_east_1", "sae1.pure.cloud"),
    ("me_central_1", "mec1.pure.cloud"),
    ("ap_northeast_3", "apne3.pure.cloud"),
    ("eu_central_2", "euc2.pure.cloud"),
    ("mx_central_1", "mxc1.pure.cloud"),
    ("ap_southeast_1", "apse1.pure.cloud"),
    ("eusc_de_east_1", "edee1.eusc-pure.cloud"),
];

/// Why a string is not a usable environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvironmentError {
    #[error("empty Genesys environment")]
    Empty,
    #[error("`{0}` is neither a Genesys region, an environment host nor an http(s) base URL")]
    Unrecognised(String),
}

/// The resolved API and login bases of one Genesys Cloud org.
#[derive(Clone, PartialEq, Eq)]
pub struct Environment {
    api_base: Url,
    login_base: Url,
}

impl Environment {
    /// Resolves a region name (`eu_west_1`), an environment host (`mypurecloud.ie`,
    /// `api.mypurecloud.ie`, `https://api.mypurecloud.ie`) or an explicit base URL
    /// (`http://127.0.0.1:9090`, used for both API and login).
    pub fn parse(input: &str) -> Result<Self, EnvironmentError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(EnvironmentError::Empty);
        }
        if let Some((_, host)) = REGIONS.iter().find(|(region, _)| *region == input) {
            return Self::from_host(host);
        }
        if input.contains("://") {
            return Self::from_url(input);
        }
        Self::from_host(input.strip_prefix("api.").unwrap_or(input))
    }

    /// One base URL for both the API and the login endpoints (the simulator serves both).
    pub fn base_url(base: &str) -> Result<Self, EnvironmentError> {
        let url = parse_http_url(base)?;
        Ok(Environment {
            api_base: url.clone(),
            login_base: url,
        })
    }

    /// Every region name this crate knows, for help texts.
    pub fn region_names() -> impl Iterator<Item = &'static str> {
        REGIONS.iter().map(|(region, _)| *region)
    }

    pub fn api_base(&self) -> &Url {
        &self.api_base
    }

    pub fn login_base(&self) -> &Url {
        &self.login_base
    }

    /// Whether this is an explicit base URL rather than a Genesys Cloud environment.
    pub fn is_explicit_base(&self) -> bool {
        self.api_base == self.login_base
    }

    fn from_host(host: &str) -> Result<Self, EnvironmentError> {
        if !is_plausible_host(host) {
            return Err(EnvironmentError::Unrecognised(host.to_owned()));
        }
        let url = |prefix: &str| {
            Url::parse(&format!("https://{prefix}.{host}"))
                .map_err(|_| EnvironmentError::Unrecognised(host.to_owned()))
        };
        Ok(Environment {
            api_base: url("api")?,
            login_base: url("login")?,
        })
    }

    /// `https://api.{env}` with nothing else is the SDKs' way to name an environment; any other
    /// URL is an explicit base.
    fn from_url(input: &str) -> Result<Self, EnvironmentError> {
        let url = parse_http_url(input)?;
        let bare = url.port().is_none() && url.path() == "/" && url.query().is_none();
        match url.host_str().and_then(|host| host.strip_prefix("api.")) {
            Some(env) if url.scheme() == "https" && bare => Self::from_host(env),
            _ => Self::base_url(input),
        }
    }
}

fn parse_http_url(input: &str) -> Result<Url, EnvironmentError> {
    let unrecognised = || EnvironmentError::Unrecognised(input.to_owned());
    let url = Url::parse(input.trim()).map_err(|_| unrecognised())?;
    let usable = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none();
    if usable { Ok(url) } else { Err(unrecognised()) }
}

/// A dotted DNS name of letters, digits and hyphens: enough to refuse paths, ports and typos
/// before they end up inside a URL.
fn is_plausible_host(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

impl FromStr for Environment {
    type Err = EnvironmentError;
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Environment::parse(input)
    }
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Environment")
            .field("api_base", &self.api_base.as_str())
            .field("login_base", &self.login_base.as_str())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bases(input: &str) -> (String, String) {
        let env = Environment::parse(input).unwrap();
        (env.api_base().to_string(), env.login_base().to_string())
    }

    #[test]
    fn every_region_resolves_to_its_host() {
        assert_eq!(Environment::region_names().count(), 18);
        assert_eq!(
            bases("eu_west_1"),
            (
                "https://api.mypurecloud.ie/".into(),
                "https://login.mypurecloud.ie/".into()
            )
        );
        assert_eq!(bases("us_east_2").0, "https://api.use2.us-gov-pure.cloud/");
        assert_eq!(
            bases("eusc_de_east_1").1,
            "https://login.edee1.eusc-pure.cloud/"
        );
        for region in Environment::region_names() {
            let env = Environment::parse(region).unwrap();
            assert!(
                env.api_base().as_str().starts_with("https://api."),
                "{region}"
            );
            assert!(!env.is_explicit_base());
        }
    }

    #[test]
    fn environment_host_in_any_of_its_spellings() {
        let expected = (
            "https://api.mypurecloud.ie/".to_owned(),
            "https://login.mypurecloud.ie/".to_owned(),
        );
        for input in [
            "mypurecloud.ie",
            "api.mypurecloud.ie",
            "https://api.mypurecloud.ie",
            "https://api.mypurecloud.ie/",
            " mypurecloud.ie ",
        ] {
            assert_eq!(bases(input), expected, "{input}");
        }
    }

    #[test]
    fn explicit_base_url_serves_api_and_login() {
        let env = Environment::parse("http://127.0.0.1:9090").unwrap();
        assert_eq!(env.api_base().as_str(), "http://127.0.0.1:9090/");
        assert_eq!(env.api_base(), env.login_base());
        assert!(env.is_explicit_base());
        let with_port = Environment::parse("https://api.example.com:8443").unwrap();
        assert!(with_port.is_explicit_base());
    }

    #[test]
    fn rejects_what_is_not_an_environment() {
        for input in [
            "",
            "eu-west-1x",
            "mypurecloud",
            "ftp://x.y",
            "a/b.com",
            "x.com:80",
            "https://u:p@api.x.com",
            "-bad.com",
        ] {
            assert!(Environment::parse(input).is_err(), "{input:?} was accepted");
        }
    }
}
