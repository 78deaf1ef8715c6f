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
    let mut tokens = Vec::new();
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let position = i + 1;
        let token = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => Token::LParen,
            ')' => Token::RParen,
            '[' => Token::LBracket,
            ']' => Token::RBracket,
            '"' => {
                let (text, end) = string_literal(&chars, i)?;
                i = end;
                tokens.push(Spanned {
                    token: Token::Str(text),
                    position,
                });
                continue;
            }
            _ => {
                let start = i;
                while i < chars.len() && !is_delimiter(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                // Only a word that starts like a JSON number can be one; asking serde_json about
                // every attribute name and operator built an error per word.
                let number = word
                    .starts_with(|c: char| c.is_ascii_digit() || c == '-')
                    .then(|| serde_json::from_str::<serde_json::Number>(&word).ok())
                    .flatten();
                let token = match number {
                    Some(n) => Token::Num(n),
                    None => Token::Word(word),
                };
                tokens.push(Spanned { token, position });
                continue;
            }
        };
        tokens.push(Spanned { token, position });
        i += 1;
    }
    Ok(tokens)
}

fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"')
}

/// A JSON string starting at `chars[start]` (the opening quote); returns the text and the index
/// after the closing quote.
fn string_literal(chars: &[char], start: usize) -> Result<(String, usize), ScimError> {
    let mut i = start + 1;
    let mut escaped = false;
    while i < chars.len() {
        match chars[i] {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => {
                let literal: String = chars[start..=i].iter().collect();
                return serde_json::from_str::<String>(&literal)
                    .map(|text| (text, i + 1))
                    .map_err(|_| {
                        ScimError::invalid_filter(format!(
                            "invalid escape in the string at position {}",
                            start + 1
                        ))
                    });
            }
            _ => escaped = false,
        }
        i += 1;
    }
    Err(ScimError::invalid_filter(format!(
        "unterminated string starting at position {}",
        start + 1
    )))
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
    fn bare_datetimes_are_words_and_numbers_are_numbers() {
        let tokens = tokenize("meta.created gt 2011-05-13T04:42:34Z and x eq -1.5").expect("lexes");
        assert_eq!(tokens[2].token, Token::Word("2011-05-13T04:42:34Z".into()));
        assert!(matches!(tokens[6].token, Token::Num(_)));
    }
}
