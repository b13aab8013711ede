//! `rename_all`: the case conventions a Rust name can be converted to.

use syn::LitStr;

/// A case convention for `rename_all`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Case {
    Snake,
    Camel,
    Pascal,
    ScreamingSnake,
    Kebab,
    Lower,
    Upper,
}

impl Case {
    /// Every accepted spelling, for the error message.
    const NAMES: &'static str = "\"snake_case\", \"camelCase\", \"PascalCase\", \
        \"SCREAMING_SNAKE_CASE\", \"kebab-case\", \"lowercase\", \"UPPERCASE\"";

    pub(crate) fn parse(lit: &LitStr) -> syn::Result<Case> {
        Ok(match lit.value().as_str() {
            "snake_case" => Case::Snake,
            "camelCase" => Case::Camel,
            "PascalCase" => Case::Pascal,
            "SCREAMING_SNAKE_CASE" => Case::ScreamingSnake,
            "kebab-case" => Case::Kebab,
            "lowercase" => Case::Lower,
            "UPPERCASE" => Case::Upper,
            other => {
                return Err(syn::Error::new(
                    lit.span(),
                    format!(
                        "unknown rename_all case {other:?}; use one of {}",
                        Case::NAMES
                    ),
                ));
            }
        })
    }

    /// Converts a Rust identifier (`snake_case` field or `PascalCase` variant).
    pub(crate) fn apply(self, ident: &str) -> String {
        let words = split_words(ident.strip_prefix("r#").unwrap_or(ident));
        let lower = || words.iter().map(|w| w.to_lowercase());
        let capitalized = || words.iter().map(|w| capitalize(w));
        match self {
            Case::Snake => lower().collect::<Vec<_>>().join("_"),
            Case::Kebab => lower().collect::<Vec<_>>().join("-"),
            Case::Lower => lower().collect(),
            Case::Upper => words.iter().map(|w| w.to_uppercase()).collect(),
            Case::ScreamingSnake => words
                .iter()
                .map(|w| w.to_uppercase())
                .collect::<Vec<_>>()
                .join("_"),
            Case::Pascal => capitalized().collect(),
            Case::Camel => {
                let mut out = String::new();
                for (i, w) in words.iter().enumerate() {
                    if i == 0 {
                        out.push_str(&w.to_lowercase());
                    } else {
                        out.push_str(&capitalize(w));
                    }
                }
                out
            }
        }
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// Splits `user_id`, `UserId`, `HTTPServer` and `v2_name` into words.
fn split_words(ident: &str) -> Vec<String> {
    let mut words = Vec::new();
    for part in ident.split('_').filter(|p| !p.is_empty()) {
        let chars: Vec<char> = part.chars().collect();
        let mut current = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let prev = i.checked_sub(1).and_then(|p| chars.get(p));
            let next = chars.get(i + 1);
            let boundary = c.is_uppercase()
                && !current.is_empty()
                && (prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
                    || next.is_some_and(|n| n.is_lowercase()));
            if boundary {
                words.push(std::mem::take(&mut current));
            }
            current.push(c);
        }
        if !current.is_empty() {
            words.push(current);
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words() {
        assert_eq!(split_words("user_id"), ["user", "id"]);
        assert_eq!(split_words("UserId"), ["User", "Id"]);
        assert_eq!(split_words("HTTPServer"), ["HTTP", "Server"]);
        assert_eq!(split_words("VeryHappy2"), ["Very", "Happy2"]);
        assert_eq!(split_words("_private"), ["private"]);
    }

    #[test]
    fn converts_fields_and_variants() {
        assert_eq!(Case::Snake.apply("VeryHappy"), "very_happy");
        assert_eq!(Case::Camel.apply("user_id"), "userId");
        assert_eq!(Case::Pascal.apply("user_id"), "UserId");
        assert_eq!(Case::ScreamingSnake.apply("VeryHappy"), "VERY_HAPPY");
        assert_eq!(Case::Kebab.apply("very_happy"), "very-happy");
        assert_eq!(Case::Lower.apply("VeryHappy"), "veryhappy");
        assert_eq!(Case::Upper.apply("very_happy"), "VERYHAPPY");
        assert_eq!(Case::Snake.apply("r#type"), "type");
    }
}
