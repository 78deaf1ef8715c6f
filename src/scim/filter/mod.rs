//! The filter grammar of RFC 7644 §3.4.2.2: lexer, recursive-descent parser and AST, with the
//! tolerated forms real clients send (IDP-QUIRKS Q8, Q16, Q30). Evaluation is the storage layer's
//! job (it compiles the AST to SQL); this module only parses and prints.

mod ast;
mod lexer;
mod parser;

pub use ast::{AttrPath, CompValue, CompareOp, Filter};
pub use parser::{FilterLimits, parse_attr_path, parse_filter};
