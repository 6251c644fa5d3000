//! Parse-don't-validate value types used by commands: names, emails, money, references.

use chrono::{DateTime, SubsecRound, Utc};

/// The longest free-text line (names, titles) accepted.
pub const MAX_LINE: usize = 200;
/// The longest multi-line text (summaries, reasons) accepted.
pub const MAX_TEXT: usize = 10_000;

/// Characters that reorder or hide text without being visible: bidirectional embeddings,
/// overrides, isolates and marks, the zero-width space, the word joiner and the byte-order mark.
/// In a name or a title they make one string display as another ("Acme" spelled backwards
/// under a right-to-left override). The zero-width (non-)joiners are allowed: scripts such as
/// Persian and the Indic ones need them.
fn is_invisible_control(c: char) -> bool {
    is_direction_override(c)
        || matches!(
            c,
            '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{2060}'..='\u{2064}'
                | '\u{206A}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}' | '\u{E0000}'..='\u{E007F}'
        )
}

/// Embeddings, overrides and isolates: they reorder what follows them, in any text ("Trojan
/// source"). The direction marks (LRM, RLM, ALM) stay allowed in multi-line text: right-to-left
/// writers use them.
fn is_direction_override(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A trimmed, non-empty single line of at most `max` characters: no control characters (not
/// even tab or newline) and no bidirectional or invisible controls.
pub fn line(value: &str, max: usize) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err("must not be blank".into());
    }
    if v.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if v.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if let Some(c) = v.chars().find(|c| is_invisible_control(*c)) {
        return Err(format!(
            "must not contain invisible or text-direction control characters (found U+{:04X})",
            c as u32
        ));
    }
    Ok(v.to_owned())
}

/// Multi-line text: Windows line ends become newlines; control characters other than tab and
/// newline (NUL, BEL, escape sequences...) are refused.
fn clean_text(value: &str) -> Result<String, String> {
    let v = value.trim();
    let v = if v.contains('\r') { v.replace("\r\n", "\n") } else { v.to_owned() };
    match v.chars().find(|c| (c.is_control() && !matches!(c, '\t' | '\n')) || is_direction_override(*c)) {
        Some(c) => Err(format!(
            "must not contain control characters other than tab and newline, nor text-direction overrides (found U+{:04X})",
            c as u32
        )),
        None => Ok(v),
    }
}

/// An optional line: `None` or blank becomes `None`.
pub fn optional_line(value: Option<&str>, max: usize) -> Result<Option<String>, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => line(v, max).map(Some),
    }
}

/// Multi-line text of at most `max` characters (may not be blank).
pub fn text(value: &str, max: usize) -> Result<String, String> {
    let v = text_or_empty(value, max)?;
    if v.is_empty() {
        return Err("must not be blank".into());
    }
    Ok(v)
}

/// Multi-line text of at most `max` characters that may be empty (optional descriptions).
pub fn text_or_empty(value: &str, max: usize) -> Result<String, String> {
    if value.trim().chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    clean_text(value)
}

/// A plausible email address, lower-cased.
pub fn email(value: &str) -> Result<String, String> {
    let v = value.trim().to_lowercase();
    let ok = v.len() <= 254
        && v.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && !v.chars().any(|c| c.is_whitespace() || c.is_control())
        && v.matches('@').count() == 1;
    if ok { Ok(v) } else { Err(format!("'{}' is not a valid email address", value.trim())) }
}

/// A short identifier usable in URLs and on the command line: lowercase letters, digits, dashes.
pub fn slug(value: &str) -> Result<String, String> {
    let v = value.trim();
    let ok = (2..=64).contains(&v.len())
        && v.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !v.starts_with('-')
        && !v.ends_with('-');
    if ok { Ok(v.to_owned()) } else { Err("must be 2-64 lowercase letters, digits or dashes".into()) }
}

/// An amount of money in minor units (cents) with an ISO 4217 currency code. Never a float.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: String,
}

impl Money {
    /// Annual values are non-negative and bounded well inside what every client can represent
    /// exactly (JavaScript numbers are exact to 2^53).
    pub const MAX_MINOR: i64 = 9_007_199_254_740_991;

    pub fn parse(amount_minor: i64, currency: &str) -> Result<Self, (&'static str, String)> {
        if !(0..=Self::MAX_MINOR).contains(&amount_minor) {
            return Err(("amountMinor", format!("must be between 0 and {}", Self::MAX_MINOR)));
        }
        let c = currency.trim();
        if Self::exponent_of(c).is_none() {
            return Err((
                "currency",
                format!("'{c}' is not an ISO 4217 currency code with a minor unit (such as EUR, USD, JPY)"),
            ));
        }
        Ok(Self { amount_minor, currency: c.to_owned() })
    }

    /// Digits of the currency's minor unit (ISO 4217): 2 for EUR, 0 for JPY, 3 for BHD. `None`
    /// for codes that are not ISO 4217 currencies, and for those without a minor unit (gold,
    /// special drawing rights, "no currency").
    pub fn exponent_of(currency: &str) -> Option<u32> {
        let c = iso_currency::Currency::from_code(currency)?;
        c.exponent().map(u32::from)
    }

    /// This amount's minor-unit digits (stored amounts always have a valid currency).
    pub fn exponent(&self) -> u32 {
        Self::exponent_of(&self.currency).unwrap_or(2)
    }
}

/// Timestamps are stored at microsecond precision, what both SQLite and PostgreSQL keep exactly.
pub fn timestamp(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// Now, at storage precision.
pub fn now() -> DateTime<Utc> {
    timestamp(Utc::now())
}

/// An optional client-supplied idempotency key: 1-200 printable characters.
pub fn idempotency_key(value: Option<&str>) -> Result<Option<String>, String> {
    match value {
        None => Ok(None),
        Some(k) if k.is_empty() || k.len() > 200 || k.chars().any(char::is_control) => {
            Err("must be 1-200 printable characters".into())
        }
        Some(k) => Ok(Some(k.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_are_iso_4217_with_their_minor_units() {
        assert_eq!(Money::parse(100, "EUR").unwrap().exponent(), 2);
        assert_eq!(Money::parse(100, "JPY").unwrap().exponent(), 0);
        assert_eq!(Money::parse(100, "BHD").unwrap().exponent(), 3);
        for bad in ["XYZ", "eur", "EURO", "", "XAU", "XXX"] {
            assert_eq!(Money::parse(100, bad).unwrap_err().0, "currency", "{bad}");
        }
    }

    #[test]
    fn lines_are_trimmed_and_bounded() {
        assert_eq!(line("  Acme  ", 10), Ok("Acme".into()));
        assert!(line("   ", 10).is_err());
        assert!(line("abcdefghijk", 10).is_err());
        assert!(line("a\u{0}b", 10).is_err());
        // Invisible and direction controls in names: "Acme" displayed backwards, hidden spaces.
        for bad in [
            "\u{202E}emcA",
            "Ac\u{200B}me",
            "Acme\u{2066}",
            "\u{FEFF}Acme",
            "A\u{200F}cme",
            "Ac\u{AD}me",
            "A\u{E0041}cme",
        ] {
            assert!(line(bad, 20).unwrap_err().contains("U+"), "{bad:?}");
        }
        // Scripts that need the zero-width (non-)joiner keep it.
        assert!(line("\u{0645}\u{06CC}\u{200C}\u{062E}\u{0648}\u{0627}\u{0647}\u{0645}", 20).is_ok());
        // Text keeps tabs and newlines (Windows line ends normalised), refuses other controls.
        assert_eq!(text("a\tb\r\nc", 20), Ok("a\tb\nc".into()));
        for bad in ["a\u{0}b", "bell\u{7}", "esc\u{1b}[31m", "lone\rcr", "del\u{7f}", "pay \u{202E}0001 EUR"] {
            assert!(text(bad, 20).is_err(), "{bad:?}");
        }
        assert_eq!(text_or_empty("", 5), Ok(String::new()));
        assert_eq!(optional_line(Some("  "), 10), Ok(None));
    }

    #[test]
    fn emails() {
        assert_eq!(email(" Ada@Example.COM "), Ok("ada@example.com".into()));
        for bad in ["", "ada", "ada@", "@example.com", "ada@example", "a b@example.com", "a@b@example.com", "ada@.com"]
        {
            assert!(email(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn money_is_bounded_and_has_a_currency() {
        assert_eq!(Money::parse(12_000_000, "EUR"), Ok(Money { amount_minor: 12_000_000, currency: "EUR".into() }));
        assert_eq!(Money::parse(-1, "EUR").unwrap_err().0, "amountMinor");
        assert_eq!(Money::parse(Money::MAX_MINOR + 1, "EUR").unwrap_err().0, "amountMinor");
        for bad in ["eur", "EU", "EURO", "€"] {
            assert_eq!(Money::parse(1, bad).unwrap_err().0, "currency");
        }
    }

    #[test]
    fn slugs() {
        assert!(slug("acme-corp").is_ok());
        for bad in ["A", "acme corp", "-acme", "acme-", "ACME", "x"] {
            assert!(slug(bad).is_err(), "{bad} accepted");
        }
    }
}
