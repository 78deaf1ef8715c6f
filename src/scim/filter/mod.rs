//! The filter grammar of RFC 7644 §3.4.2.2: lexer, recursive-descent parser and AST, with the
//! tolerated forms real clients send (IDP-QUIRKS Q8, Q16, Q30). Queries are compiled to SQL by the
//! storage layer; `eval` only picks the values a PATCH targets inside one resource.

mod ast;
pub mod eval;
mod lexer;
mod parser;

pub use ast::{AttrPath, CompValue, CompareOp, Filter};
pub use eval::matches_resource;
pub use parser::{FilterLimits, parse_attr_path, parse_filter};
