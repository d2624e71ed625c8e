//! A lossless Dockerfile parser that reads files exactly as BuildKit does.
//!
//! [`parse`] follows BuildKit's `frontend/dockerfile/parser` line by line:
//! parser directives, the escape character, continuation lines (with comment
//! and empty lines inside them), heredocs, JSON versus shell form, flags and
//! the argument shapes of every instruction. Unlike BuildKit it keeps where
//! everything came from: each instruction knows its source bytes, and the
//! joined ("logical") text of a multi-line instruction maps back to the
//! source, so an edit can land anywhere inside it. Every byte of the input
//! belongs to exactly one item, so [`Document::reprint`] gives the input back.

mod ast;
mod dump;
mod json;
mod parser;
pub mod shell;
mod shlex;
mod text;
mod validate;

pub use ast::*;
pub use dump::dump;
pub use parser::{parse, ParseError};
pub use text::{go_quote, LogicalLine, Span};

/// Parses UTF-8 text.
pub fn parse_str(src: &str) -> Result<Document, ParseError> {
    parse(src.as_bytes())
}
