//! SASLprep (RFC 4013) the way PostgreSQL applies it to passwords.
//!
//! The oracle is what the server does (`src/common/saslprep.c`, used both
//! when a SCRAM secret is stored and by libpq), not strict RFC 4013:
//!
//! - a pure ASCII password is used unchanged (no checks at all);
//! - a password that is not valid UTF-8, or that SASLprep rejects, is used
//!   as raw bytes instead of failing;
//! - the prohibited, unassigned and bidi checks look at the *mapped input*,
//!   not at the NFKC output. For example `"\u{5D0}\u{2135}"` (HEBREW LETTER
//!   ALEF, ALEF SYMBOL) mixes a right-to-left and a left-to-right character,
//!   so PostgreSQL rejects it and uses the raw bytes, although its NFKC form
//!   (two Hebrew alefs) would pass the RFC's check.
//!
//! Why our own code rather than the `stringprep` crate: that crate applies
//! the checks to the normalised output (strict RFC, so the example above
//! would differ from the server) and takes its bidi classes from current
//! Unicode rather than RFC 3454's Unicode 3.2 tables D.1/D.2. The tables here
//! are generated from Python's `stringprep` module (Unicode 3.2, the same
//! tables PostgreSQL embeds) by `saslprep/generate_tables.py`; NFKC comes from
//! `unicode-normalization`. Every code point NFKC sees has passed the A.1
//! check (assigned in Unicode 3.2), and normalisation of assigned characters
//! is stable across Unicode versions, so a newer Unicode version than the
//! server's gives the same result.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

mod tables;

/// Prepares a SCRAM password as PostgreSQL does: SASLprep when the password
/// is valid UTF-8 and SASLprep accepts it, the bytes unchanged otherwise.
pub(crate) fn saslprep(password: &[u8]) -> Cow<'_, [u8]> {
    if password.is_ascii() {
        return Cow::Borrowed(password);
    }
    let Ok(text) = std::str::from_utf8(password) else {
        return Cow::Borrowed(password);
    };
    match prepare(text) {
        Ok(prepared) => Cow::Owned(prepared.into_bytes()),
        Err(_) => Cow::Borrowed(password),
    }
}

/// Why SASLprep refused a string (tests check that the intended rule fired).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// Nothing is left after mapping.
    Empty,
    /// A prohibited output character (C.1.2 to C.9).
    Prohibited(char),
    /// A code point unassigned in Unicode 3.2 (A.1).
    Unassigned(char),
    /// The RFC 3454 §6 bidi rule is broken.
    Bidi,
}

/// SASLprep in PostgreSQL's order: map, NFKC, then check the *mapped input*.
fn prepare(input: &str) -> Result<String, Refusal> {
    // 1. Map: C.1.2 non-ASCII spaces to U+0020 (tested first, so U+200B, in
    // both tables, becomes a space), B.1 characters to nothing.
    let mapped: Vec<char> = input
        .chars()
        .filter_map(|c| {
            if contains(tables::NON_ASCII_SPACE, c) {
                Some(' ')
            } else if contains(tables::MAPPED_TO_NOTHING, c) {
                None
            } else {
                Some(c)
            }
        })
        .collect();
    let (Some(&first), Some(&last)) = (mapped.first(), mapped.last()) else {
        return Err(Refusal::Empty);
    };

    // 3. Prohibit, on the mapped input like the server.
    for &c in &mapped {
        if contains(tables::PROHIBITED, c) {
            return Err(Refusal::Prohibited(c));
        }
        if contains(tables::UNASSIGNED, c) {
            return Err(Refusal::Unassigned(c));
        }
    }

    // 4. Bidi (RFC 3454 §6), also on the mapped input.
    if mapped.iter().any(|&c| contains(tables::RAND_AL_CAT, c))
        && (mapped.iter().any(|&c| contains(tables::L_CAT, c))
            || !contains(tables::RAND_AL_CAT, first)
            || !contains(tables::RAND_AL_CAT, last))
    {
        return Err(Refusal::Bidi);
    }

    // 2. Normalise (its result is what gets hashed).
    Ok(mapped.into_iter().nfkc().collect())
}

/// Whether `c` lies in one of the sorted, inclusive `ranges`.
fn contains(ranges: &[(u32, u32)], c: char) -> bool {
    let c = u32::from(c);
    ranges
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepped(password: &str) -> Vec<u8> {
        saslprep(password.as_bytes()).into_owned()
    }

    #[test]
    fn ascii_passes_through_unchanged_and_borrowed() {
        assert!(matches!(saslprep(b"pencil"), Cow::Borrowed(b"pencil")));
        // Even ASCII control characters: the server's fast path checks nothing.
        assert!(matches!(saslprep(b"a\x07b"), Cow::Borrowed(b"a\x07b")));
        assert!(matches!(saslprep(b""), Cow::Borrowed(b"")));
    }

    #[test]
    fn soft_hyphen_is_mapped_to_nothing() {
        assert_eq!(
            prepped("pass\u{00AD}word\u{00E9}"),
            "password\u{00E9}".as_bytes()
        );
    }

    #[test]
    fn only_mapped_to_nothing_is_empty_and_falls_back_to_raw_bytes() {
        assert_eq!(prepare("\u{00AD}"), Err(Refusal::Empty));
        assert_eq!(prepped("\u{00AD}"), "\u{00AD}".as_bytes());
    }

    #[test]
    fn non_ascii_spaces_become_ascii_spaces() {
        assert_eq!(prepped("a\u{00A0}b\u{3000}c"), b"a b c");
        // U+200B is in both C.1.2 and B.1; the server maps it to a space.
        assert_eq!(prepped("a\u{200B}b\u{00E9}"), "a b\u{00E9}".as_bytes());
    }

    #[test]
    fn nfkc_is_applied() {
        // U+2168 ROMAN NUMERAL NINE
        assert_eq!(prepped("I\u{2168}"), b"IIX");
        // U+FB01 LATIN SMALL LIGATURE FI; U+0065 U+0301 composes to U+00E9
        assert_eq!(prepped("\u{FB01}e\u{0301}"), "fi\u{00E9}".as_bytes());
    }

    #[test]
    fn prohibited_character_falls_back_to_raw_bytes() {
        let password = "\u{0007}caf\u{00E9}";
        assert_eq!(prepare(password), Err(Refusal::Prohibited('\u{0007}')));
        assert_eq!(prepped(password), password.as_bytes());
        // Private use (C.3)
        assert_eq!(prepare("x\u{E000}"), Err(Refusal::Prohibited('\u{E000}')));
    }

    #[test]
    fn unassigned_in_unicode_3_2_falls_back_to_raw_bytes() {
        // U+0221 was assigned in Unicode 4.0.
        let password = "a\u{0221}";
        assert_eq!(prepare(password), Err(Refusal::Unassigned('\u{0221}')));
        assert_eq!(prepped(password), password.as_bytes());
    }

    #[test]
    fn invalid_utf8_falls_back_to_raw_bytes() {
        let password = b"caf\xE9\xFF";
        assert!(matches!(saslprep(password), Cow::Borrowed(p) if p == password));
    }

    #[test]
    fn bidi_violations_fall_back_to_raw_bytes() {
        // Right-to-left mixed with left-to-right.
        let mixed = "\u{05D0}a\u{05D0}";
        assert_eq!(prepare(mixed), Err(Refusal::Bidi));
        assert_eq!(prepped(mixed), mixed.as_bytes());
        // Right-to-left that does not end with a RandALCat character.
        assert_eq!(prepare("\u{05D0}1"), Err(Refusal::Bidi));
        // All right-to-left is fine.
        assert_eq!(prepped("\u{05D0}\u{05D1}"), "\u{05D0}\u{05D1}".as_bytes());
    }

    #[test]
    fn bidi_is_checked_on_the_mapped_input_like_postgres() {
        // U+2135 ALEF SYMBOL is bidi L; its NFKC form U+05D0 is R. Strict
        // RFC 4013 would accept the normalised "\u{5D0}\u{5D0}"; the server
        // checks the input, refuses, and uses the raw bytes.
        let password = "\u{05D0}\u{2135}";
        assert_eq!(prepare(password), Err(Refusal::Bidi));
        assert_eq!(prepped(password), password.as_bytes());
        // On its own the ALEF SYMBOL has no RandALCat in the input: normalised.
        assert_eq!(prepped("\u{2135}"), "\u{05D0}".as_bytes());
    }

    /// tables.rs is generated: fail when it was edited by hand or the
    /// generator changed without a rerun.
    #[test]
    fn tables_match_their_generator() {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/auth/saslprep/generate_tables.py"
        );
        let output = std::process::Command::new("python3")
            .arg(script)
            .arg("--check")
            .output()
            .expect("python3 runs the table generator");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    #[test]
    fn tables_are_sorted_and_disjoint() {
        for table in [
            tables::NON_ASCII_SPACE,
            tables::MAPPED_TO_NOTHING,
            tables::PROHIBITED,
            tables::UNASSIGNED,
            tables::RAND_AL_CAT,
            tables::L_CAT,
        ] {
            for &(lo, hi) in table {
                assert!(lo <= hi, "{lo:X}..{hi:X}");
            }
            for pair in table.windows(2) {
                assert!(pair[0].1 < pair[1].0, "{:X?}", pair);
            }
        }
    }

    #[test]
    fn table_lookup_edges() {
        assert!(contains(tables::PROHIBITED, '\u{0000}'));
        assert!(contains(tables::PROHIBITED, '\u{001F}'));
        assert!(!contains(tables::PROHIBITED, ' '));
        assert!(contains(tables::PROHIBITED, '\u{10FFFF}'));
        assert!(contains(tables::L_CAT, 'A'));
        assert!(!contains(tables::L_CAT, '@'));
        assert!(contains(tables::RAND_AL_CAT, '\u{FEFC}'));
        assert!(!contains(tables::RAND_AL_CAT, '\u{FEFD}'));
    }
}
