//! The token file parser: a bad file is put aside with a message that never quotes the token.

use std::path::Path;

use serde_json::Value;

use td_spotify::auth::store::TokenStore;
use td_spotify::auth::AuthError;

use super::web_api::leaf;
use super::{cases, mutate, runner, temp_dir, SENTINEL};

const CLIENT: &str = "fuzzclient";

fn valid_record() -> String {
    format!(
        r#"{{"version":1,"client_id":"{CLIENT}","access_token":"{SENTINEL}","refresh_token":"{SENTINEL}-r","expires_at":1900000000,"lifetime_s":3600,"scope":"user-read-playback-state","user":"Ada","saved_at":1800000000}}"#
    )
}

fn load_once(store: &TokenStore, dir: &Path, bytes: &[u8]) {
    std::fs::write(store.path(), bytes).unwrap();
    match store.load(CLIENT) {
        Ok(_) => {}
        Err(e) => {
            let shown = format!("{e} {e:?} {}", e.user_message());
            assert!(!shown.contains(SENTINEL), "a token-file error quotes a token: {shown}");
            assert!(
                matches!(e, AuthError::CorruptStore { .. }),
                "an unreadable file is put aside, not reported as {e:?}"
            );
        }
    }
    // The file put aside keeps every byte (never deleted); clear the folder for the next case.
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path != store.path() {
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "the corrupt file was not kept as it was");
        }
        let _ = std::fs::remove_file(path);
    }
}

#[test]
fn token_file_parser_survives_mutations_and_generated_files() {
    let dir = temp_dir("fuzz-tokens");
    let store = TokenStore::new(Some(&dir), CLIENT).unwrap();
    runner(cases(256))
        .run(&mutate(valid_record().into_bytes()), |b| {
            load_once(&store, &dir, &b);
            Ok(())
        })
        .unwrap();
    let base: Value = serde_json::from_str(&valid_record()).unwrap();
    let keys = proptest::sample::select(vec![
        "version",
        "client_id",
        "access_token",
        "refresh_token",
        "expires_at",
        "lifetime_s",
        "scope",
        "user",
        "saved_at",
    ]);
    runner(cases(256))
        .run(&proptest::collection::vec((keys, leaf()), 1..4), |edits| {
            let mut v = base.clone();
            for (k, val) in edits {
                v[k] = val;
            }
            load_once(&store, &dir, &serde_json::to_vec(&v).unwrap());
            Ok(())
        })
        .unwrap();
    // Larger than a token file can be: put aside without being parsed.
    load_once(&store, &dir, &vec![b' '; 1 << 20]);
    let _ = std::fs::remove_dir_all(&dir);
}
