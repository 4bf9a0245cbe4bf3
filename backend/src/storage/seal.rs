//! Sealing secrets at rest: AES-256-GCM under a server key kept outside the database.
//!
//! A sealed value is `base64(nonce || ciphertext)`. The associated data names what the value
//! is for (e.g. `device:42`), so a sealed secret copied to another row does not open.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::path::Path;
use std::sync::Arc;

const NONCE_LEN: usize = 12;

/// The server key. `Debug` does not print it.
#[derive(Clone)]
pub struct SealKey(Aes256Gcm, Arc<[u8; 32]>);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(***)")
    }
}

impl SealKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(
            Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(bytes)),
            Arc::new(*bytes),
        )
    }

    /// A fresh random key (tests).
    pub fn generate() -> Self {
        Self::from_bytes(&Aes256Gcm::generate_key(OsRng).into())
    }

    /// A key for another purpose, derived from the server key with HKDF-SHA256 (RFC 5869), so
    /// one key file serves every purpose and no purpose's key reveals another's.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut key = [0u8; 32];
        hkdf::Hkdf::<sha2::Sha256>::new(None, self.1.as_slice())
            .expand(purpose.as_bytes(), &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        key
    }

    /// Reads the key from base64 text (the environment) or else from the key file in the
    /// data folder, creating that file with mode 0600 on first start.
    pub fn load(from_env: Option<&str>, data_dir: &Path) -> Result<Self, String> {
        if let Some(text) = from_env {
            return Self::decode(text).map_err(|e| format!("TWOSTEP_SECRET_KEY: {e}"));
        }
        let path = data_dir.join("secret.key");
        crate::storage::private_files::check_key_file(&path)?;
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::decode(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Aes256Gcm::generate_key(OsRng);
                crate::storage::private_files::write(&path, &B64.encode(key))
                    .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
                tracing::info!(path = %path.display(), "created a new server key file");
                Ok(Self::from_bytes(&key.into()))
            }
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    fn decode(text: &str) -> Result<Self, String> {
        let bytes = B64
            .decode(text.trim())
            .map_err(|_| "the key is not valid base64".to_owned())?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "the key must be 32 bytes".to_owned())?;
        Ok(Self::from_bytes(&bytes))
    }

    /// Seals `plaintext` for `purpose`.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<String, String> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = self
            .0
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| "sealing failed".to_owned())?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        Ok(B64.encode(out))
    }

    /// Opens a value sealed for `purpose`; fails if it was altered, moved or sealed under
    /// another key.
    pub fn open(&self, purpose: &str, sealed: &str) -> Result<Vec<u8>, String> {
        let bytes = B64
            .decode(sealed)
            .map_err(|_| "sealed value is not base64".to_owned())?;
        if bytes.len() < NONCE_LEN {
            return Err("sealed value is too short".to_owned());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        self.0
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| format!("cannot open the sealed value for {purpose}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper_detection() {
        let key = SealKey::generate();
        let sealed = key.seal("device:1", b"secret bytes").unwrap();
        assert_eq!(key.open("device:1", &sealed).unwrap(), b"secret bytes");
        assert!(
            key.open("device:2", &sealed).is_err(),
            "moved to another row"
        );
        assert!(
            SealKey::generate().open("device:1", &sealed).is_err(),
            "other key"
        );
        let mut bytes = B64.decode(&sealed).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        assert!(key.open("device:1", &B64.encode(bytes)).is_err(), "altered");
        assert!(key.open("device:1", "!!").is_err());
        assert!(!format!("{key:?}").contains(&sealed));
    }

    #[test]
    fn derived_keys_differ_by_purpose_and_key() {
        let key = SealKey::from_bytes(&[7; 32]);
        assert_eq!(key.derive("a"), SealKey::from_bytes(&[7; 32]).derive("a"));
        assert_ne!(key.derive("a"), key.derive("b"));
        assert_ne!(key.derive("a"), SealKey::from_bytes(&[8; 32]).derive("a"));
        assert_ne!(key.derive("a"), [7; 32]);
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = SealKey::load(None, dir.path()).unwrap();
        let sealed = first.seal("x", b"y").unwrap();
        let second = SealKey::load(None, dir.path()).unwrap();
        assert_eq!(second.open("x", &sealed).unwrap(), b"y");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secret.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(SealKey::load(Some("not base64!"), dir.path()).is_err());
    }
}
