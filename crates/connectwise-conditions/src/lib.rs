#![doc = include_str!("../README.md")]

// The tree: `Expr`, `Comparison`, `Op`, `Path`, `Value`.
pub mod ast;
// Text to tree, with positioned errors.
pub mod parse;
// Tree to canonical text (`Display`).
pub mod print;
// Tree against JSON entities (`Expr::matches`, `Expr::matches_any`).
pub mod eval;
// Typed construction in code (`field("a").eq(1)`).
pub mod builder;
// The `orderBy` parameter.
pub mod order;

pub use ast::{Comparison, Expr, Op, Path, Value};
pub use builder::{Condition, Field, field};
pub use eval::{Node, Scalar};
pub use order::{
    Direction, OrderBy, compare_by, compare_fields, compare_objects, parse_order_by, print_order_by,
};
pub use parse::{Expected, ParseError, parse};

#[cfg(test)]
mod proptests;
