//! The rules of API.md §5, shared by pages and JSON: each check returns the cleaned value or
//! the sentences to show beside the field.

use email_address::EmailAddress;
use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory};
use icu_properties::{CodePointMapData, CodePointSetData};
use unicode_normalization::UnicodeNormalization;
use zxcvbn::Score;

use super::password::BCRYPT_MAX_PASSWORD_BYTES;

/// A username as it is compared and stored: NFKC (so `ａｄｍｉｎ` is `admin`), trimmed.
/// Case is folded by the database's `lower()` index, exact for the ASCII names allowed.
pub(crate) fn normalize_username(value: &str) -> String {
    value.trim().nfkc().collect()
}

/// What an empty required field says, rather than a rule about its format.
const REQUIRED: &str = "is required";

pub(crate) fn username(value: &str) -> Result<String, Vec<String>> {
    let value = normalize_username(value);
    let value = value.as_str();
    if value.is_empty() {
        return Err(vec![REQUIRED.to_owned()]);
    }
    let count = value.chars().count();
    let mut problems = Vec::new();
    if !(3..=32).contains(&count) {
        problems.push("must be 3 to 32 characters long".to_owned());
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if !value.chars().all(allowed) {
        problems.push("may contain only letters A–Z, digits, '_', '.' and '-'".to_owned());
    } else if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        problems.push("must start with a letter or a digit".to_owned());
    }
    if problems.is_empty() {
        Ok(value.to_owned())
    } else {
        Err(problems)
    }
}

/// Returns the address in lower case, as it is stored and compared.
/// A bare address (never the `Name <address>` form, which would let a second account carry
/// another's mailbox), NFKC-normalised and lower-cased as it is stored and compared, so
/// fullwidth or mathematical letters are the same address as plain ones.
pub(crate) fn email(value: &str) -> Result<String, Vec<String>> {
    let value: String = value.trim().nfkc().collect::<String>().to_lowercase();
    if value.is_empty() {
        return Err(vec![REQUIRED.to_owned()]);
    }
    if value.len() > 254 {
        return Err(vec!["must be at most 254 characters long".to_owned()]);
    }
    let bare = email_address::Options::default().without_display_text();
    if EmailAddress::parse_with_options(&value, bare).is_err() {
        return Err(vec!["is not a valid email address".to_owned()]);
    }
    Ok(value)
}

/// Trims the name; an empty one means "no name".
pub(crate) fn name(value: &str) -> Result<Option<String>, Vec<String>> {
    let value = value.trim();
    if value.chars().count() > 100 {
        return Err(vec!["must be at most 100 characters long".to_owned()]);
    }
    if value.chars().any(|c| c.is_control() || is_invisible(c)) {
        return Err(vec![
            "must not contain control, direction-changing or invisible characters".to_owned(),
        ]);
    }
    Ok((!value.is_empty()).then(|| value.to_owned()))
}

/// Length, bcrypt's limit and guessability (zxcvbn, told the user's own words so that a
/// password built from them scores low).
pub(crate) fn password(
    value: &str,
    min_length: usize,
    user_inputs: &[&str],
) -> Result<(), Vec<String>> {
    if value.is_empty() {
        return Err(vec![REQUIRED.to_owned()]);
    }
    if value.chars().count() < min_length {
        return Err(vec![format!(
            "must be at least {min_length} characters long"
        )]);
    }
    if value.len() > BCRYPT_MAX_PASSWORD_BYTES {
        return Err(vec![format!(
            "must be at most {BCRYPT_MAX_PASSWORD_BYTES} bytes long (bcrypt cannot use more, \
             and we never cut a password short)"
        )]);
    }
    if contains_own_words(value, user_inputs) {
        return Err(vec![
            "must not contain your username, email or name".to_owned()
        ]);
    }
    let estimate = zxcvbn::zxcvbn(value, user_inputs);
    if estimate.score() >= Score::Three {
        return Ok(());
    }
    // zxcvbn's advice comes as sentences; the first problem completes "Password …".
    let mut problems = vec!["is too easy to guess.".to_owned()];
    if let Some(feedback) = estimate.feedback() {
        let warning = feedback.warning().map(|w| w.to_string());
        let advice = feedback.suggestions().iter().map(ToString::to_string);
        problems.extend(warning.into_iter().chain(advice).map(sentence));
    }
    Err(problems)
}

/// Ends a piece of advice with a full stop when it has none.
fn sentence(text: String) -> String {
    if text.ends_with(['.', '!', '?']) {
        text
    } else {
        format!("{text}.")
    }
}

/// Characters that show nothing or change text direction, by Unicode's own tables: every
/// Default_Ignorable_Code_Point (fillers, joiners, variation selectors, tags …) and every
/// format character (category Cf, the direction marks and overrides among them). They
/// let one name pose as another.
fn is_invisible(c: char) -> bool {
    CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
        || CodePointMapData::<GeneralCategory>::new().get(c) == GeneralCategory::Format
}

/// Whether the password contains a word (3+ letters or digits) of the user's own details;
/// zxcvbn lowers the score of such passwords but can still rate a long one "strong".
fn contains_own_words(password: &str, user_inputs: &[&str]) -> bool {
    let password = password.to_lowercase();
    user_inputs
        .iter()
        .flat_map(|input| input.split(|c: char| !c.is_alphanumeric()))
        .filter(|word| word.chars().count() >= 3)
        .any(|word| password.contains(&word.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised_and_limited() {
        assert_eq!(username("  ａｄｍｉｎ ").ok().as_deref(), Some("admin"));
        assert_eq!(username("al.ice-2_x").ok().as_deref(), Some("al.ice-2_x"));
        assert!(username("ab").is_err(), "too short");
        assert!(username(&"a".repeat(33)).is_err(), "too long");
        assert!(
            username("_alice").is_err(),
            "must start with a letter or digit"
        );
        assert!(username("al ice").is_err());
        assert!(username("ålice").is_err(), "ASCII only");
        assert_eq!(username(" ").err(), Some(vec!["is required".to_owned()]));
        assert_eq!(email("").err(), Some(vec!["is required".to_owned()]));
        assert_eq!(
            password("", 12, &[]).err(),
            Some(vec!["is required".to_owned()])
        );
        let advice = password("passwordpassword", 12, &[])
            .err()
            .unwrap_or_default();
        assert!(
            advice.len() > 1 && advice.iter().all(|a| a.ends_with('.')),
            "{advice:?}"
        );
        let both = username("_").err().unwrap_or_default();
        assert_eq!(both.len(), 2, "every problem at once: {both:?}");
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            email(" Alice@Example.COM ").ok().as_deref(),
            Some("alice@example.com")
        );
        assert!(email("alice").is_err());
        assert!(
            email("root <root@example.com>").is_err(),
            "display name form"
        );
        assert!(email("Root Admin <root@example.com>").is_err());
        assert_eq!(
            email("ａｌｉｃｅ@ｅｘａｍｐｌｅ.com").ok().as_deref(),
            Some("alice@example.com"),
            "fullwidth letters are the plain address"
        );
        assert!(email(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn names_refuse_invisible_and_direction_characters() {
        assert_eq!(name("  Ada L. ").ok(), Some(Some("Ada L.".to_owned())));
        assert_eq!(name("   ").ok(), Some(None), "empty means no name");
        assert!(name("Ada\u{202E}").is_err());
        assert!(name("A\u{200B}da").is_err());
        for hidden in
            "\u{3164}\u{FFA0}\u{034F}\u{E0041}\u{FE0F}\u{180B}\u{1D173}\u{17B4}\u{2066}\u{00AD}"
                .chars()
        {
            assert!(name(&format!("root_admin{hidden}")).is_err(), "{hidden:?}");
        }
        assert!(
            name("Zoë Ångström 李").is_ok(),
            "letters of any script stay"
        );
        assert!(name(&"x".repeat(101)).is_err());
    }

    #[test]
    fn passwords_are_long_whole_for_bcrypt_and_hard_to_guess() {
        let strong = "Tq9#vLm2!xRw8pZe";
        assert!(password(strong, 12, &[]).is_ok());
        assert!(password("Tq9#vLm2!x", 12, &[]).is_err(), "too short");
        let long = "Tq9#vLm2!xRw8pZe".repeat(5);
        assert!(password(&long, 12, &[]).is_err(), "over bcrypt's 71 bytes");
        assert!(password("passwordpassword", 12, &[]).is_err(), "guessable");
        let own = password("Tq9#vLm2!aliceZe", 12, &["alice", "a@example.com", ""]);
        assert!(own.is_err(), "contains the username");
    }
}
