//! The `td-spotify` command line.

fn main() {}
