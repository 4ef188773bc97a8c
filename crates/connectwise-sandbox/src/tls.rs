//! HTTPS: a self-signed certificate for `localhost` and `127.0.0.1` made on first start and
//! kept in the state directory, or the operator's own certificate and key.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// PEM text of a certificate chain and its private key.
#[derive(Clone)]
pub struct PemPair {
    /// The certificate chain, PEM.
    pub cert_pem: String,
    /// The private key, PEM.
    pub key_pem: String,
}

impl std::fmt::Debug for PemPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PemPair")
            .field("cert_pem", &"…")
            .field("key_pem", &"[redacted]")
            .finish()
    }
}

/// Makes a self-signed certificate valid for `localhost` and `127.0.0.1`.
pub fn self_signed() -> anyhow::Result<PemPair> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let cert = rcgen::generate_simple_self_signed(names)
        .context("Failed to make a self-signed certificate")?;
    Ok(PemPair {
        cert_pem: cert.cert.pem(),
        key_pem: cert.signing_key.serialize_pem(),
    })
}

/// Loads `cert.pem`/`key.pem` from the state directory, making them on first start.
pub fn load_or_create(dir: &Path) -> anyhow::Result<PemPair> {
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    if cert_path.exists() && key_path.exists() {
        return read_files(&cert_path, &key_path);
    }
    let pair = self_signed()?;
    std::fs::write(&cert_path, &pair.cert_pem)
        .with_context(|| format!("Failed to write {}", cert_path.display()))?;
    write_private(&key_path, &pair.key_pem)?;
    Ok(pair)
}

/// Reads an operator's certificate chain and key.
pub fn read_files(cert: &Path, key: &Path) -> anyhow::Result<PemPair> {
    Ok(PemPair {
        cert_pem: std::fs::read_to_string(cert)
            .with_context(|| format!("Failed to read the certificate {}", cert.display()))?,
        key_pem: std::fs::read_to_string(key)
            .with_context(|| format!("Failed to read the private key {}", key.display()))?,
    })
}

/// Writes a file readable only by its owner.
pub fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).write(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("Failed to write {}", path.display()))?;
    // The mode above applies only to a new file; an existing one is narrowed too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// A rustls server configuration offering HTTP/2 and HTTP/1.1.
pub fn server_config(pair: &PemPair) -> anyhow::Result<Arc<ServerConfig>> {
    let certs = CertificateDer::pem_slice_iter(pair.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .context("Failed to parse the certificate PEM")?;
    let key = PrivateKeyDer::from_pem_slice(pair.key_pem.as_bytes())
        .context("Failed to parse the private key PEM")?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("Failed to set TLS versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("The certificate and private key do not match")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
