//! The `ewsconf` command line.

fn main() {}
