//! The committed C header must be exactly what cbindgen generates from `rust/ffi` today.

use std::path::Path;

#[test]
fn committed_header_matches_cbindgen() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("read cbindgen.toml");
    let mut fresh = Vec::new();
    cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen could not parse rust/ffi")
        .write(&mut fresh);
    let path = root.join("include/td_spotify.h");
    if std::env::var_os("TD_SPOTIFY_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("write include/td_spotify.h");
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/td_spotify.h differs from cbindgen's output for rust/ffi; \
         regenerate it with `TD_SPOTIFY_BLESS=1 cargo test --test it -- header::` and commit it"
    );
}

/// Everything the header declares is the ABI's, under its prefixes: a crate constant that
/// leaked in (cbindgen exports every `pub const`) would be a C name we must keep forever.
#[test]
fn the_header_declares_only_the_abi() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/td_spotify.h");
    let header = std::fs::read_to_string(path).expect("read include/td_spotify.h");
    let ours =
        |name: &str| name.starts_with("TDS_") || name.starts_with("Tds") || name.starts_with("td_spotify_");
    let mut strays = Vec::new();
    for line in header.lines().filter(|l| !l.starts_with("//") && !l.starts_with(' ')) {
        let name = match line.split_once('(') {
            // A function: the identifier right before its parameter list.
            Some((head, _)) if !line.starts_with('#') => head.rsplit([' ', '*']).next().unwrap_or(""),
            _ => ["#define ", "typedef struct ", "typedef enum ", "enum ", "struct "]
                .iter()
                .find_map(|p| line.strip_prefix(p))
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap_or(""),
        };
        if !name.is_empty() && name != "TD_SPOTIFY_H" && !ours(name) {
            strays.push(line.to_owned());
        }
    }
    assert!(
        strays.is_empty(),
        "names outside the ABI's prefixes in include/td_spotify.h:\n{}",
        strays.join("\n")
    );
}
