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
