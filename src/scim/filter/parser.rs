//! Recursive-descent parser for filters, with precedence `not` > `and` > `or` and explicit limits.

use super::ast::{AttrPath, CompValue, CompareOp, Filter};
use super::lexer::{Spanned, Token, tokenize};
use crate::scim::ScimError;
use crate::scim::text::starts_with_ignore_case;

/// Limits on what a client may send; advertised in the README and enforced before any SQL is built.
#[derive(Debug, Clone, Copy)]
pub struct FilterLimits {
    pub max_length: usize,
    pub max_depth: usize,
}

impl Default for FilterLimits {
    fn default() -> Self {
        Self {
            max_length: 4096,
            max_depth: 16,
        }
    }
}

pub fn parse_filter(input: &str, limits: FilterLimits) -> Result<Filter, ScimError> {
    if input.chars().count() > limits.max_length {
        return Err(ScimError::invalid_filter(format!(
            "the filter is longer than the limit of {} characters",
            limits.max_length
        )));
    }
    let tokens = tokenize(input)?;
    let mut parser = Parser {
        tokens,
        index: 0,
        depth: 0,
        limits,
        end: input.chars().count() + 1,
    };
    if parser.tokens.is_empty() {
        return Err(ScimError::invalid_filter("the filter is empty"));
    }
    let filter = parser.or_expression()?;
    if let Some(extra) = parser.peek() {
        return Err(ScimError::invalid_filter(format!(
            "unexpected {} at position {}; expected 'and', 'or' or the end of the filter",
            describe(&extra.token),
            extra.position
        )));
    }
    Ok(filter)
}

/// Parses `[URI ":"] ATTRNAME ["." subAttr]`.
pub fn parse_attr_path(word: &str) -> Result<AttrPath, String> {
    let (urn, rest) = if starts_with_ignore_case(word, "urn:") {
        match word.rsplit_once(':') {
            Some((urn, rest)) => (Some(urn.to_string()), rest),
            None => (None, word),
        }
    } else {
        (None, word)
    };
    let mut parts = rest.split('.');
    let attr = parts.next().unwrap_or_default();
    let sub_attr = parts.next();
    if parts.next().is_some() {
        return Err(format!("'{word}' has more than one sub-attribute"));
    }
    if !is_attr_name(attr) || !sub_attr.is_none_or(is_attr_name) {
        return Err(format!("'{word}' is not an attribute path"));
    }
    Ok(AttrPath {
        urn,
        attr: attr.to_string(),
        sub_attr: sub_attr.map(str::to_string),
    })
}

fn is_attr_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn describe(token: &Token) -> String {
    match token {
        Token::Word(w) => format!("'{w}'"),
        Token::Str(s) => format!("string \"{s}\""),
        Token::Num(n) => format!("number {n}"),
        Token::LParen => "'('".into(),
        Token::RParen => "')'".into(),
        Token::LBracket => "'['".into(),
        Token::RBracket => "']'".into(),
    }
}

struct Parser {
    tokens: Vec<Spanned>,
    index: usize,
    depth: usize,
    limits: FilterLimits,
    /// Position reported for "unexpected end of filter".
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Spanned> {
        self.tokens.get(self.index)
    }

    fn next(&mut self, expected: &str) -> Result<Spanned, ScimError> {
        match self.tokens.get_mut(self.index) {
            Some(t) => {
                self.index += 1;
                // Moved out, not copied: the parser never looks back at a token it has taken.
                Ok(Spanned {
                    token: std::mem::replace(&mut t.token, Token::RParen),
                    position: t.position,
                })
            }
            None => Err(ScimError::invalid_filter(format!(
                "the filter ends at position {} where {expected} was expected",
                self.end
            ))),
        }
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Spanned { token: Token::Word(w), .. }) if w.eq_ignore_ascii_case(keyword))
    }

    fn expect(&mut self, token: Token, expected: &str) -> Result<(), ScimError> {
        let got = self.next(expected)?;
        if got.token == token {
            Ok(())
        } else {
            Err(ScimError::invalid_filter(format!(
                "expected {expected} at position {} but found {}",
                got.position,
                describe(&got.token)
            )))
        }
    }

    fn descend(&mut self, position: usize) -> Result<(), ScimError> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(ScimError::invalid_filter(format!(
                "the filter nests deeper than the limit of {} at position {position}",
                self.limits.max_depth
            )));
        }
        Ok(())
    }

    fn or_expression(&mut self) -> Result<Filter, ScimError> {
        let first = self.and_expression()?;
        if !self.peek_keyword("or") {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.peek_keyword("or") {
            self.index += 1;
            parts.push(self.and_expression()?);
        }
        Ok(Filter::Or(parts))
    }

    fn and_expression(&mut self) -> Result<Filter, ScimError> {
        let first = self.unary()?;
        if !self.peek_keyword("and") {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.peek_keyword("and") {
            self.index += 1;
            parts.push(self.unary()?);
        }
        Ok(Filter::And(parts))
    }

    fn unary(&mut self) -> Result<Filter, ScimError> {
        let token = self.next("an attribute, 'not' or '('")?;
        match token.token {
            Token::Word(w) if w.eq_ignore_ascii_case("not") => {
                self.descend(token.position)?;
                // RFC form is `not (…)`; `not attr op value` is read the same way.
                let inner = self.unary()?;
                self.depth -= 1;
                Ok(Filter::Not(Box::new(inner)))
            }
            Token::LParen => {
                self.descend(token.position)?;
                let inner = self.or_expression()?;
                self.expect(Token::RParen, "')'")?;
                self.depth -= 1;
                Ok(inner)
            }
            Token::Word(w) => self.attribute_expression(&w, token.position),
            other => Err(ScimError::invalid_filter(format!(
                "expected an attribute at position {} but found {}",
                token.position,
                describe(&other)
            ))),
        }
    }

    fn attribute_expression(&mut self, word: &str, position: usize) -> Result<Filter, ScimError> {
        let path = parse_attr_path(word)
            .map_err(|e| ScimError::invalid_filter(format!("{e} (position {position})")))?;
        if matches!(
            self.peek(),
            Some(Spanned {
                token: Token::LBracket,
                ..
            })
        ) {
            return self.value_path(path, position);
        }
        self.comparison(path)
    }

    /// `attr[valFilter]`, optionally followed by `.sub op value` (Entra's form, IDP-QUIRKS Q8).
    fn value_path(&mut self, path: AttrPath, position: usize) -> Result<Filter, ScimError> {
        if path.sub_attr.is_some() {
            return Err(ScimError::invalid_filter(format!(
                "a value filter must follow an attribute, not a sub-attribute (position {position})"
            )));
        }
        self.index += 1;
        self.descend(position)?;
        let inner = self.or_expression()?;
        if contains_value_path(&inner) {
            return Err(ScimError::invalid_filter(format!(
                "value filters cannot be nested (position {position})"
            )));
        }
        self.expect(Token::RBracket, "']'")?;
        self.depth -= 1;
        let filter = match self.peek() {
            Some(Spanned {
                token: Token::Word(w),
                position: p,
            }) if w.starts_with('.') => {
                let (sub, p) = (w.strip_prefix('.').unwrap_or(w).to_string(), *p);
                self.index += 1;
                let sub_path = parse_attr_path(&sub)
                    .map_err(|e| ScimError::invalid_filter(format!("{e} (position {p})")))?;
                let trailing = self.comparison(sub_path)?;
                Filter::And(vec![inner, trailing])
            }
            _ => inner,
        };
        Ok(Filter::ValuePath {
            path,
            filter: Box::new(filter),
        })
    }

    fn comparison(&mut self, path: AttrPath) -> Result<Filter, ScimError> {
        let op_token = self.next("an operator")?;
        let Token::Word(op_word) = &op_token.token else {
            return Err(ScimError::invalid_filter(format!(
                "expected an operator at position {} but found {}",
                op_token.position,
                describe(&op_token.token)
            )));
        };
        if op_word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = CompareOp::from_keyword(op_word).ok_or_else(|| {
            ScimError::invalid_filter(format!(
                "unknown operator '{op_word}' at position {}; expected one of eq ne co sw ew gt ge lt le pr",
                op_token.position
            ))
        })?;
        let value_token = self.next("a comparison value")?;
        let value = match value_token.token {
            Token::Str(s) => CompValue::Str(s),
            Token::Num(n) => CompValue::Num(n),
            Token::Word(w) => match w.as_str() {
                "true" => CompValue::Bool(true),
                "false" => CompValue::Bool(false),
                "null" => CompValue::Null,
                // Unquoted values from Microsoft's examples (IDP-QUIRKS Q16) are read as strings.
                _ if !w.eq_ignore_ascii_case("and") && !w.eq_ignore_ascii_case("or") => {
                    CompValue::Str(w)
                }
                _ => {
                    return Err(ScimError::invalid_filter(format!(
                        "expected a comparison value at position {} but found '{w}'",
                        value_token.position
                    )));
                }
            },
            other => {
                return Err(ScimError::invalid_filter(format!(
                    "expected a comparison value at position {} but found {}",
                    value_token.position,
                    describe(&other)
                )));
            }
        };
        Ok(Filter::Compare { path, op, value })
    }
}

fn contains_value_path(filter: &Filter) -> bool {
    match filter {
        Filter::ValuePath { .. } => true,
        Filter::And(parts) | Filter::Or(parts) => parts.iter().any(contains_value_path),
        Filter::Not(inner) => contains_value_path(inner),
        Filter::Compare { .. } | Filter::Present(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Filter {
        parse_filter(s, FilterLimits::default()).expect("parses")
    }

    fn err(s: &str) -> ScimError {
        parse_filter(s, FilterLimits::default()).expect_err("rejected")
    }

    #[test]
    fn and_binds_tighter_than_or() {
        assert_eq!(
            parse(r#"a eq 1 or b eq 2 and c eq 3"#).to_string(),
            r#"(a eq 1) or ((b eq 2) and (c eq 3))"#
        );
    }

    #[test]
    fn operators_and_keywords_are_case_insensitive() {
        assert_eq!(
            parse(r#"userName Eq "x" AND active EQ true"#),
            parse(r#"userName eq "x" and active eq true"#)
        );
    }

    #[test]
    fn urn_qualified_paths_keep_their_schema() {
        let f = parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "B""#);
        let Filter::Compare { path, .. } = f else {
            panic!("comparison expected")
        };
        assert_eq!(
            path.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:core:2.0:User")
        );
        assert_eq!(
            (path.attr.as_str(), path.sub_attr.as_deref()),
            ("name", Some("givenName"))
        );
    }

    #[test]
    fn value_path_with_trailing_sub_attribute_is_entras_form() {
        let f = parse(r#"emails[type eq "work"].value eq "a@x""#);
        assert_eq!(
            f.to_string(),
            r#"emails[(type eq "work") and (value eq "a@x")]"#
        );
    }

    #[test]
    fn not_and_parentheses_nest() {
        let f = parse(r#"not (userName eq "a" or userName eq "b") and externalId pr"#);
        assert_eq!(
            f.to_string(),
            r#"(not ((userName eq "a") or (userName eq "b"))) and (externalId pr)"#
        );
    }

    #[test]
    fn unquoted_values_are_strings() {
        assert_eq!(
            parse("externalId eq jyoung"),
            parse(r#"externalId eq "jyoung""#)
        );
    }

    #[test]
    fn errors_name_the_position() {
        assert!(err(r#"userName zz "x""#).detail.contains("position 10"));
        assert!(
            err(r#"userName eq "x" extra"#)
                .detail
                .contains("position 17")
        );
        assert!(err(r#"(userName eq "x""#).detail.contains("')'"));
        assert!(err("").detail.contains("empty"));
        assert!(err(r#"userName eq"#).detail.contains("comparison value"));
    }

    #[test]
    fn depth_and_length_are_limited() {
        let deep = format!("{}a pr{}", "(".repeat(40), ")".repeat(40));
        assert!(err(&deep).detail.contains("deeper"));
        let long = format!("a eq \"{}\"", "x".repeat(5000));
        assert!(err(&long).detail.contains("longer"));
    }

    fn arb_filter() -> impl proptest::strategy::Strategy<Value = Filter> {
        use proptest::prelude::*;
        let path = prop_oneof![
            Just(AttrPath::new("userName")),
            Just(AttrPath {
                urn: None,
                attr: "name".into(),
                sub_attr: Some("familyName".into())
            }),
            Just(AttrPath {
                urn: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
                attr: "department".into(),
                sub_attr: None,
            }),
        ];
        let value = prop_oneof![
            "[a-zA-Z0-9 @.\\\"é\\]\\[()]{0,8}".prop_map(CompValue::Str),
            any::<bool>().prop_map(CompValue::Bool),
            (-1000i64..1000).prop_map(|n| CompValue::Num(n.into())),
            Just(CompValue::Null),
        ];
        let op = proptest::sample::select(vec![
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ]);
        let leaf = prop_oneof![
            (path.clone(), op, value).prop_map(|(path, op, value)| Filter::Compare {
                path,
                op,
                value
            }),
            path.prop_map(Filter::Present),
        ];
        leaf.prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
                proptest::collection::vec(inner.clone(), 2..4).prop_map(Filter::Or),
                inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
                inner.prop_map(|f| Filter::ValuePath {
                    path: AttrPath::new("emails"),
                    filter: Box::new(strip_paths(f))
                }),
            ]
        })
    }

    /// Inside `emails[…]` paths are sub-attributes, and value filters do not nest.
    fn strip_paths(filter: Filter) -> Filter {
        match filter {
            Filter::Compare { op, value, .. } => Filter::Compare {
                path: AttrPath::new("value"),
                op,
                value,
            },
            Filter::Present(_) => Filter::Present(AttrPath::new("type")),
            Filter::And(parts) => Filter::And(parts.into_iter().map(strip_paths).collect()),
            Filter::Or(parts) => Filter::Or(parts.into_iter().map(strip_paths).collect()),
            Filter::Not(inner) => Filter::Not(Box::new(strip_paths(*inner))),
            Filter::ValuePath { filter, .. } => strip_paths(*filter),
        }
    }

    proptest::proptest! {
        /// Printing a filter and parsing it back gives the same filter.
        #[test]
        fn filters_round_trip_through_their_printed_form(filter in arb_filter()) {
            let limits = FilterLimits { max_length: 100_000, max_depth: 64 };
            let printed = filter.to_string();
            let parsed = parse_filter(&printed, limits).expect("a printed filter parses");
            proptest::prop_assert_eq!(parsed, filter, "{}", printed);
        }
    }

    #[test]
    fn every_error_is_invalid_filter() {
        for bad in [
            "userName eq",
            "[",
            "a[b[c eq 1]]",
            "a.b.c eq 1",
            "eq eq",
            ")",
            "a eq \"x\" or",
        ] {
            assert_eq!(
                err(bad).scim_type,
                Some(crate::scim::ScimType::InvalidFilter),
                "{bad}"
            );
        }
    }
}
