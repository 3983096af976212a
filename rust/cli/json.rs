//! The JSON lines `demo --json` and `now --json` print, through serde_json.

use serde::{Serialize, Serializer};

/// Name/value pairs written as one JSON object in their own order: the plugin's channel and row
/// order, which a `serde_json::Map` (sorted by key) would lose.
pub struct Ordered<I>(pub I);

impl<K, V, I> Serialize for Ordered<I>
where
    K: Serialize,
    V: Serialize,
    I: Iterator<Item = (K, V)> + Clone,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.clone())
    }
}

/// One frame: `{"channels":{…},"rows":{…}}`, with `warning` and `error` when there are any.
/// Non-finite channel values are written as `null` (serde_json's rule for floats).
#[derive(Serialize)]
#[serde(bound = "Ordered<C>: Serialize, Ordered<R>: Serialize")]
pub struct FrameJson<C, R> {
    pub channels: Ordered<C>,
    pub rows: Ordered<R>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl<C, R> FrameJson<C, R>
where
    Ordered<C>: Serialize,
    Ordered<R>: Serialize,
{
    /// The frame as one line of JSON.
    pub fn line(&self) -> String {
        // Serializing strings, numbers and maps of them cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
