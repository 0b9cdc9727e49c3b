//! Wrapper types for the two secrets a client holds: the OAuth client secret and the access
//! tokens it gets for it. Their `Debug` and `Display` print `[REDACTED]`, so a config or an error
//! can be logged whole.
//!
//! They do not encrypt anything; `secrecy` zeroes the memory on drop, that is all.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

const REDACTED: &str = "[REDACTED]";

/// The OAuth client secret of a client-credentials grant.
#[derive(Clone)]
pub struct ClientSecret(SecretString);

impl ClientSecret {
    pub fn new(secret: impl Into<String>) -> Self {
        ClientSecret(SecretString::from(secret.into()))
    }

    /// The secret itself, for the one place that sends it (the token request).
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

/// A bearer access token.
#[derive(Clone)]
pub struct AccessToken(SecretString);

impl AccessToken {
    pub fn new(token: impl Into<String>) -> Self {
        AccessToken(SecretString::from(token.into()))
    }

    /// The token itself, for an `Authorization` header.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether two values hold the same token, without exposing either.
    pub fn same_as(&self, other: &AccessToken) -> bool {
        self.expose_secret() == other.expose_secret()
    }
}

macro_rules! redacted_formatting {
    ($($name:ty),*) => {$(
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(REDACTED)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(REDACTED)
            }
        }
    )*};
}

redacted_formatting!(ClientSecret, AccessToken);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClientConfig, Environment};

    #[test]
    fn secrets_format_as_redacted() {
        let secret = ClientSecret::new("hunter2-SENTINEL");
        let token = AccessToken::new("TOKEN-SENTINEL");
        for shown in [
            format!("{secret:?}"),
            format!("{secret}"),
            format!("{token:?}"),
            format!("{token}"),
        ] {
            assert_eq!(shown, REDACTED);
        }
        assert_eq!(secret.expose_secret(), "hunter2-SENTINEL");
    }

    #[test]
    fn formatting_a_config_never_shows_the_secret() {
        let environment = Environment::parse("eu_west_1").unwrap();
        let config = ClientConfig::new(
            environment,
            "client-id",
            ClientSecret::new("SECRET-SENTINEL"),
        );
        let shown = format!("{config:?} {config:#?}");
        assert!(!shown.contains("SECRET-SENTINEL"), "{shown}");
        assert!(
            shown.contains("client-id"),
            "the config should still be useful to log: {shown}"
        );
    }
}
