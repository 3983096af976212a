//! The reference tables in the docs must match the code's tables (rust/schema/).

use std::path::Path;

#[test]
fn docs_match_the_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bless = std::env::var_os("TD_SPOTIFY_BLESS").is_some();
    let mut stale = Vec::new();
    for doc in ["README.md", "TouchDesigner/README.md"] {
        let path = root.join(doc);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {doc}: {e}"));
        let fresh = td_spotify::docs::refresh(&text);
        assert!(text.contains("<!-- generated:channels -->"), "{doc} has no generated channel table");
        if fresh != text {
            if bless {
                std::fs::write(&path, &fresh).unwrap();
            } else {
                stale.push(doc);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "{stale:?} drifted from rust/schema/; regenerate with `TD_SPOTIFY_BLESS=1 cargo test --test it -- docs::`"
    );
}
