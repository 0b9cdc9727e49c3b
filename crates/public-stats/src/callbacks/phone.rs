//! Phone numbers a visitor may ask to be called on: parsed with libphonenumber's rules (the
//! `phonenumber` crate), sent to Genesys in E.164 only, and refused when calling them would cost
//! the contact centre money, reach the wrong kind of line, or reach a number the operator has
//! blocked.
//!
//! A callback is an outbound call paid by the contact centre to a number an anonymous visitor
//! chose: premium-rate and shared-cost numbers would bill it (toll fraud), pagers, voicemail
//! access and personal or company-routing numbers do not reach a person who asked, short codes
//! and emergency numbers must never be dialled by a robot, and a number whose type the metadata
//! cannot tell is refused rather than guessed.

use phonenumber::country::Id as Region;
use phonenumber::{Mode, PhoneNumber, Type};

/// The rules of the `CALLBACK_*` settings about numbers.
#[derive(Clone, Debug, Default)]
pub struct NumberRules {
    /// Reads national formats when the request names no `countryCode`.
    pub default_region: Option<Region>,
    /// Empty: any country.
    pub allowed_countries: Vec<Region>,
    /// E.164, already normalised.
    pub blocked: Vec<String>,
}

/// A number we are willing to call, in E.164 (`+13172222222`).
#[derive(Clone, PartialEq, Eq)]
pub struct CallableNumber {
    pub e164: String,
    /// ISO 3166 region the number belongs to (`US`), when the metadata knows it.
    pub region: Option<String>,
}

/// A number is personal data: `Debug` shows its region and last two digits only.
impl std::fmt::Debug for CallableNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallableNumber")
            .field("e164", &format_args!("…{}", last_two_digits(&self.e164)))
            .field("region", &self.region)
            .finish()
    }
}

/// `91` for `+1 317 222 2291`: all a receipt, a log line or a `Debug` may show of a number —
/// enough to tell two requests apart, too little to identify or call the visitor.
pub fn last_two_digits(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    digits[digits.len().saturating_sub(2)..].iter().collect()
}

/// Why a number is refused; the message is for the visitor (it never repeats the number).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NumberProblem {
    #[error("is not a valid phone number; include the country code (for example +44 20 7946 0000)")]
    Invalid,
    #[error("is in a country we cannot call back")]
    CountryNotAllowed,
    #[error("is a kind of number we cannot call back (premium-rate, shared-cost, pager, …)")]
    KindNotAllowed,
    #[error("cannot be called back")]
    Blocked,
}

/// Kinds of line a callback may reach. `FixedLineOrMobile` is how North American numbers come
/// (the two cannot be told apart there); toll-free and VoIP lines reach people at no extra cost.
const CALLABLE_TYPES: &[Type] = &[
    Type::FixedLine,
    Type::Mobile,
    Type::FixedLineOrMobile,
    Type::TollFree,
    Type::Voip,
];

impl NumberRules {
    /// Parses `raw` (international, or national in `region` / the default region) and checks it.
    pub fn check(
        &self,
        raw: &str,
        region: Option<Region>,
    ) -> Result<CallableNumber, NumberProblem> {
        let number = parse(raw, region.or(self.default_region))?;
        let number_region = number.country().id();
        if !self.allowed_countries.is_empty()
            && !number_region.is_some_and(|r| self.allowed_countries.contains(&r))
        {
            return Err(NumberProblem::CountryNotAllowed);
        }
        if !CALLABLE_TYPES.contains(&number.number_type(&phonenumber::metadata::DATABASE)) {
            return Err(NumberProblem::KindNotAllowed);
        }
        let e164 = number.format().mode(Mode::E164).to_string();
        if self.blocked.contains(&e164) {
            return Err(NumberProblem::Blocked);
        }
        Ok(CallableNumber {
            e164,
            region: number_region.map(|r| r.as_ref().to_owned()),
        })
    }
}

/// A valid number, or [`NumberProblem::Invalid`]. Extensions are refused: a robot cannot dial
/// them, and `,`/`;`/`#` sequences are how DTMF tricks are smuggled in.
pub fn parse(raw: &str, region: Option<Region>) -> Result<PhoneNumber, NumberProblem> {
    let raw = raw.trim();
    // libphonenumber reads letters as keypad digits and skips much punctuation; a number is
    // digits, `+` and the separators people type, nothing else.
    if raw.is_empty()
        || !raw
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        return Err(NumberProblem::Invalid);
    }
    let number = phonenumber::parse(region, raw).map_err(|_| NumberProblem::Invalid)?;
    if number.extension().is_some() || !phonenumber::is_valid(&number) {
        return Err(NumberProblem::Invalid);
    }
    Ok(number)
}

/// Loads libphonenumber's metadata now (it is parsed on first use, which takes a while), so the
/// first visitor's request is not the one that waits for it.
pub fn load_metadata() {
    let _ = parse("+13172222222", None);
}

/// An ISO 3166 region code (`GB`, `us`), for settings and the request's `countryCode`.
pub fn region(code: &str) -> Option<Region> {
    let code = code.trim().to_ascii_uppercase();
    (code.len() == 2).then(|| code.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any() -> NumberRules {
        NumberRules::default()
    }

    #[test]
    fn valid_numbers_become_e164() {
        let rules = any();
        for (raw, region, e164) in [
            ("+1 (317) 222-2222", None, "+13172222222"),
            ("+44 20 7946 0018", None, "+442079460018"),
            ("020 7946 0018", Some("GB"), "+442079460018"),
            ("044 668 18 00", Some("CH"), "+41446681800"),
            ("+33 6 12 34 56 78", None, "+33612345678"),
        ] {
            let checked = rules
                .check(raw, region.and_then(super::region))
                .unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(checked.e164, e164, "{raw}");
        }
    }

    #[test]
    fn the_default_region_reads_national_numbers_and_the_request_region_wins() {
        let rules = NumberRules {
            default_region: super::region("GB"),
            ..any()
        };
        assert_eq!(
            rules.check("020 7946 0018", None).unwrap().e164,
            "+442079460018"
        );
        assert_eq!(
            rules
                .check("06 12 34 56 78", super::region("FR"))
                .unwrap()
                .e164,
            "+33612345678"
        );
        assert_eq!(
            any().check("020 7946 0018", None),
            Err(NumberProblem::Invalid)
        );
    }

    #[test]
    fn junk_short_codes_emergency_numbers_and_tricks_are_invalid() {
        for raw in [
            "12",
            "+1",
            "911",
            "112",
            "*#21#",
            ",,,1234",
            "sip:evil@example.com",
            "javascript:alert(1)",
            "\"><svg/onload=alert(1)>",
            "+1 317 222 2222 ext. 5",
            "+1 317 222 2222;5",
            "1-800-FLOWERS",
            "",
        ] {
            assert_eq!(
                any().check(raw, super::region("US")),
                Err(NumberProblem::Invalid),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn premium_shared_cost_personal_and_pager_numbers_are_refused() {
        for raw in [
            "+1 900 555 0199",  // US premium rate
            "+44 909 879 0000", // UK premium rate
            "+44 845 464 0000", // UK shared cost
            "+44 70 1234 5678", // UK personal number
            "+44 76 0012 3456", // UK pager
            "+44 55 1234 5678", // UK corporate (UAN)
        ] {
            assert_eq!(
                any().check(raw, None),
                Err(NumberProblem::KindNotAllowed),
                "{raw}"
            );
        }
    }

    #[test]
    fn countries_and_blocked_numbers_follow_the_settings() {
        let rules = NumberRules {
            allowed_countries: vec![Region::US, Region::CA],
            blocked: vec!["+13172222222".into()],
            ..any()
        };
        assert_eq!(
            rules
                .check("+1 613 555 0134", None)
                .unwrap()
                .region
                .as_deref(),
            Some("CA")
        );
        assert_eq!(
            rules.check("+44 20 7946 0018", None),
            Err(NumberProblem::CountryNotAllowed)
        );
        assert_eq!(
            rules.check("(317) 222-2222", super::region("US")),
            Err(NumberProblem::Blocked)
        );
        assert_eq!(
            rules
                .check("+1 317 222 2223", None)
                .unwrap()
                .region
                .as_deref(),
            Some("US")
        );
    }

    #[test]
    fn regions_are_two_letter_iso_codes() {
        assert_eq!(region("gb"), Some(Region::GB));
        assert_eq!(region(" US "), Some(Region::US));
        assert_eq!(region("GBR"), None);
        assert_eq!(region("ZZ"), None);
        assert_eq!(region(""), None);
    }
}
