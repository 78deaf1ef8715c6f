//! Splits a filter (or PATCH path) into tokens, remembering where each starts for error messages.

use crate::scim::ScimError;

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// An attribute path, keyword, operator or unquoted value, as written.
    Word(String),
    Str(String),
    Num(serde_json::Number),
    LParen,
    RParen,
    LBracket,
    RBracket,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Spanned {
    pub token: Token,
    /// 1-based character position of the token's first character.
    pub position: usize,
}

pub fn tokenize(input: &str) -> Result<Vec<Spanned>, ScimError> {
    if input.contains('\0') {
        return Err(nul_refused());
    }
    let mut tokens = Vec::with_capacity(8);
    // (byte offset, character) pairs, and how many characters were passed: positions in errors
    // count characters, slices of the input take byte offsets.
    let mut chars = input.char_indices().peekable();
    let mut passed = 0;
    while let Some((at, c)) = chars.next() {
        passed += 1;
        let position = passed;
        let token = match c {
            c if c.is_whitespace() => continue,
            '(' => Token::LParen,
            ')' => Token::RParen,
            '[' => Token::LBracket,
            ']' => Token::RBracket,
            '"' => {
                let mut escaped = false;
                let mut plain = true;
                let mut end = None;
                for (i, c) in chars.by_ref() {
                    passed += 1;
                    match c {
                        '\\' if !escaped => {
                            escaped = true;
                            plain = false;
                        }
                        '"' if !escaped => {
                            end = Some(i);
                            break;
                        }
                        c => {
                            escaped = false;
                            plain &= !c.is_control();
                        }
                    }
                }
                let Some(end) = end else {
                    return Err(ScimError::invalid_filter(format!(
                        "unterminated string starting at position {position}"
                    )));
                };
                let literal = input.get(at..=end).unwrap_or_default();
                Token::Str(string_literal(literal, plain, position)?)
            }
            _ => {
                let mut end = at + c.len_utf8();
                while let Some(&(i, next)) = chars.peek() {
                    if is_delimiter(next) {
                        break;
                    }
                    chars.next();
                    passed += 1;
                    end = i + next.len_utf8();
                }
                let word = input.get(at..end).unwrap_or_default();
                // Only a word that starts like a JSON number can be one; asking serde_json about
                // every attribute name and operator built an error per word.
                let number = word
                    .starts_with(|c: char| c.is_ascii_digit() || c == '-')
                    .then(|| serde_json::from_str::<serde_json::Number>(word).ok())
                    .flatten();
                match number {
                    Some(n) => Token::Num(n),
                    None => Token::Word(word.to_string()),
                }
            }
        };
        tokens.push(Spanned { token, position });
    }
    Ok(tokens)
}

fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"')
}

/// The text of a JSON string `literal` (with its quotes) that starts at `position`. A `plain`
/// literal has no escapes and no control characters: its text is what stands between the quotes.
fn string_literal(literal: &str, plain: bool, position: usize) -> Result<String, ScimError> {
    if plain {
        let inner = literal.strip_prefix('"').and_then(|l| l.strip_suffix('"'));
        return Ok(inner.unwrap_or_default().to_string());
    }
    let text = serde_json::from_str::<String>(literal).map_err(|_| {
        ScimError::invalid_filter(format!(
            "invalid escape in the string at position {position}"
        ))
    })?;
    if text.contains('\0') {
        return Err(nul_refused());
    }
    Ok(text)
}

/// No stored value holds a NUL (bodies refuse it), and PostgreSQL cannot compare one.
fn nul_refused() -> ScimError {
    ScimError::invalid_filter("a filter may not contain a NUL character (U+0000)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_keep_escapes_and_positions() {
        let tokens = tokenize(r#"userName eq "a\"b" "#).expect("lexes");
        assert_eq!(
            tokens[2],
            Spanned {
                token: Token::Str("a\"b".into()),
                position: 13
            }
        );
    }

    #[test]
    fn unterminated_string_names_its_start() {
        let err = tokenize(r#"userName eq "abc"#).expect_err("unterminated");
        assert!(err.detail.contains("position 13"), "{}", err.detail);
    }

    #[test]
    fn positions_count_characters_and_plain_strings_need_no_decoding() {
        let tokens =
            tokenize(r#"name.familyName eq "Müller" and émail co "\u00e9""#).expect("lexes");
        assert_eq!(tokens[2].token, Token::Str("Müller".into()));
        assert_eq!(tokens[3].position, 29);
        assert_eq!(
            tokens[4],
            Spanned {
                token: Token::Word("émail".into()),
                position: 33
            }
        );
        assert_eq!(tokens[6].token, Token::Str("é".into()));
        let err = tokenize("userName eq \"a\u{1}b\"").expect_err("a raw control character");
        assert!(err.detail.contains("position 13"), "{}", err.detail);
    }

    #[test]
    fn a_nul_raw_or_escaped_is_refused() {
        for filter in [
            "userName eq \"a\u{0}\"",
            r#"userName eq "a\u0000""#,
            "user\u{0}Name pr",
        ] {
            let err = tokenize(filter).expect_err(filter);
            assert_eq!(err.scim_type, Some(crate::scim::ScimType::InvalidFilter));
            assert!(err.detail.contains("U+0000"), "{}", err.detail);
        }
    }

    #[test]
    fn bare_datetimes_are_words_and_numbers_are_numbers() {
        let tokens = tokenize("meta.created gt 2011-05-13T04:42:34Z and x eq -1.5").expect("lexes");
        assert_eq!(tokens[2].token, Token::Word("2011-05-13T04:42:34Z".into()));
        assert!(matches!(tokens[6].token, Token::Num(_)));
    }
}
