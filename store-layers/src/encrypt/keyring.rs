//! Data keys: the current key (new values are sealed with it) and older keys (still read).
//!
//! A key is 32 bytes, given as 64 hex digits or as base64, read from an environment
//! variable or a file. Key bytes never appear in `Debug`, errors or logs (a key shows as
//! its [`KeyId`]), and every copy this module makes is zeroised when dropped: the cipher
//! state (the `zeroize` features of RustCrypto's `aes` and `aes-gcm-siv`) and the decoding buffers (`Zeroizing`).

use std::fmt;
use std::path::Path;

use aes_gcm_siv::{Aes256GcmSiv, KeyInit};
use base64::Engine as _;
use store_core::{Error, Result};
use zeroize::Zeroizing;

/// The length of a data key in bytes.
pub const KEY_LEN: usize = 32;
/// The length of a key id in bytes.
pub const KEY_ID_LEN: usize = 4;
/// blake3 `derive_key` context for key ids: an id names a key without revealing it.
const KEY_ID_CONTEXT: &str = "strata store-layers encrypt 2026 key id v1";

/// Names a data key in every value sealed with it, so a reader picks the right key and
/// keys rotate without downtime. Derived from the key with blake3 (it reveals nothing
/// of the key), so it needs no configuration.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; KEY_ID_LEN]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// One data key, ready to use.
pub(crate) struct DataKey {
    pub(crate) id: KeyId,
    pub(crate) cipher: Aes256GcmSiv,
}

impl DataKey {
    fn new(bytes: &[u8; KEY_LEN]) -> Self {
        let id = blake3::derive_key(KEY_ID_CONTEXT, bytes);
        let mut material = aes_gcm_siv::Key::<Aes256GcmSiv>::from(*bytes);
        let cipher = Aes256GcmSiv::new(&material);
        zeroize::Zeroize::zeroize(material.as_mut_slice());
        DataKey {
            id: KeyId([id[0], id[1], id[2], id[3]]),
            cipher,
        }
    }
}

/// The keys an [`Encrypted`](super::Encrypted) store seals with and opens with.
pub struct Keyring {
    current: DataKey,
    older: Vec<DataKey>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current.id)
            .field(
                "older",
                &self.older.iter().map(|k| k.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Keyring {
    /// A keyring whose current key is `bytes`.
    pub fn new(bytes: &[u8; KEY_LEN]) -> Self {
        Keyring {
            current: DataKey::new(bytes),
            older: Vec::new(),
        }
    }

    /// A keyring whose current key is written in `text` (64 hex digits, or base64).
    pub fn from_text(text: &str) -> Result<Self> {
        Ok(Keyring::new(&*parse_key(text, "key")?))
    }

    /// Also read values sealed with `bytes` (an older key). Adding the current key, or one
    /// already present, changes nothing.
    pub fn with_old_key(mut self, bytes: &[u8; KEY_LEN]) -> Self {
        let key = DataKey::new(bytes);
        if self.find(key.id).is_none() {
            self.older.push(key);
        }
        self
    }

    /// [`with_old_key`](Keyring::with_old_key) from text.
    pub fn with_old_key_text(self, text: &str) -> Result<Self> {
        let bytes = parse_key(text, "old_keys")?;
        Ok(self.with_old_key(&bytes))
    }

    /// The id of the key new values are sealed with.
    pub fn current_id(&self) -> KeyId {
        self.current.id
    }

    /// The ids of the older keys, which are only read.
    pub fn old_ids(&self) -> Vec<KeyId> {
        self.older.iter().map(|k| k.id).collect()
    }

    pub(crate) fn current(&self) -> &DataKey {
        &self.current
    }

    pub(crate) fn find(&self, id: KeyId) -> Option<&DataKey> {
        std::iter::once(&self.current)
            .chain(&self.older)
            .find(|k| k.id == id)
    }
}

/// Where a key comes from in a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The named environment variable holds the key.
    Env(String),
    /// The file at this path holds the key (surrounding whitespace ignored).
    File(std::path::PathBuf),
}

impl KeySource {
    /// Read the key. `field` names the config field in errors; the key is never shown.
    pub fn load(&self, field: &str) -> Result<Zeroizing<[u8; KEY_LEN]>> {
        let text = match self {
            KeySource::Env(var) => Zeroizing::new(std::env::var(var).map_err(|_| {
                Error::invalid_config(
                    field,
                    format!("the environment variable `{var}` is not set (or not UTF-8)"),
                )
            })?),
            KeySource::File(path) => read_key_file(path, field)?,
        };
        parse_key(&text, field)
    }
}

fn read_key_file(path: &Path, field: &str) -> Result<Zeroizing<String>> {
    std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(|e| {
            Error::invalid_config(
                field,
                format!(
                    "cannot read the key file `{}`: {}",
                    path.display(),
                    e.kind()
                ),
            )
        })
}

/// Decode 32 key bytes from hex or base64. Errors say what is wrong, never what was read.
pub(crate) fn parse_key(text: &str, field: &str) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    let text = text.trim();
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    if text.len() == 2 * KEY_LEN && hex::decode_to_slice(text, &mut *key).is_ok() {
        return Ok(key);
    }
    // Room for what any base64 of up to 48 bytes decodes to, so a wrong length is
    // reported as such instead of as a decoding error.
    let mut buf = Zeroizing::new([0u8; 48]);
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    // Padding optional, in the standard and the URL-safe alphabet alike.
    let config =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let engines = [
        GeneralPurpose::new(&base64::alphabet::STANDARD, config),
        GeneralPurpose::new(&base64::alphabet::URL_SAFE, config),
    ];
    for engine in engines {
        if text.len() <= 64
            && let Ok(n) = engine.decode_slice(text, &mut *buf)
        {
            if n != KEY_LEN {
                return Err(Error::invalid_config(
                    field,
                    format!("the key decodes to {n} bytes; it must be {KEY_LEN}"),
                ));
            }
            key.copy_from_slice(&buf[..KEY_LEN]);
            return Ok(key);
        }
    }
    Err(Error::invalid_config(
        field,
        format!("the key must be {KEY_LEN} bytes as 64 hex digits or as base64"),
    ))
}

#[cfg(test)]
mod tests;
