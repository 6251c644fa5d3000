//! Authentication: verifying bearer tokens (and minting them for development and scripts).
//!
//! One algorithm per deployment (the allow-list has exactly one entry): HS256 with a shared
//! secret, or RS256/ES256 with a public key. A token whose header names any other algorithm
//! (`none`, or HS256 signed with the public key: key confusion) is refused before any
//! signature check. `exp` is required, `nbf` checked when present, `iss`/`aud` when configured.
//! A valid signature is not enough: the user must still exist in the token's organisation,
//! not be archived, and hold the role the token names.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::Context;
use bellwether_domain::{Actor, Db, OrganisationId, Role, User, UserId, organisations, settings, users};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::{JwtAlgorithm, JwtConfig};

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 30;

/// The claims Bellwether reads and writes.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    /// The organisation's id.
    pub organisation: String,
    /// The user's role.
    pub role: String,
    pub exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// Why a request was not authenticated. The text is safe to show to the client.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required: send `Authorization: Bearer <token>`")]
    Missing,
    #[error("invalid token")]
    Invalid,
    #[error("token has expired")]
    Expired,
    #[error("the token lives too long: `exp` may be at most {max_days} days after `iat`")]
    TooLong { max_days: u64 },
    #[error("the token's user is unknown, archived, or no longer has the token's role")]
    Revoked,
    #[error("internal error")]
    Internal,
}

/// Verifies tokens; built once at start-up.
#[derive(Clone)]
pub struct Authenticator {
    algorithm: Algorithm,
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
    validation: Validation,
    issuer: Option<String>,
    audience: Option<String>,
    pub default_ttl: Duration,
    /// The longest lifetime a token may claim.
    max_ttl: Duration,
}

fn algorithm(a: JwtAlgorithm) -> Algorithm {
    match a {
        JwtAlgorithm::HS256 => Algorithm::HS256,
        JwtAlgorithm::RS256 => Algorithm::RS256,
        JwtAlgorithm::ES256 => Algorithm::ES256,
    }
}

impl Authenticator {
    /// Builds the verifier. With HS256 and no secret configured, the development secret kept in
    /// the database is used (and a warning logged).
    pub async fn new(config: &JwtConfig, db: &Db) -> anyhow::Result<Self> {
        let alg = algorithm(config.algorithm);
        let (decoding, encoding) = match config.algorithm {
            JwtAlgorithm::HS256 => {
                let secret = match &config.secret {
                    Some(s) => s.clone(),
                    None => {
                        tracing::warn!(
                            "no JWT secret configured: using the development secret stored in the database; \
                             set BELLWETHER_JWT_SECRET (or RS256/ES256 keys) in production"
                        );
                        settings::development_signing_secret(db).await?
                    }
                };
                (DecodingKey::from_secret(secret.as_bytes()), Some(EncodingKey::from_secret(secret.as_bytes())))
            }
            JwtAlgorithm::RS256 | JwtAlgorithm::ES256 => {
                let public = config.public_key_pem.as_deref().context("a public key is required")?;
                let rsa = config.algorithm == JwtAlgorithm::RS256;
                let decoding = if rsa { DecodingKey::from_rsa_pem(public) } else { DecodingKey::from_ec_pem(public) }
                    .context("reading the JWT public key")?;
                let encoding = match &config.private_key_pem {
                    Some(pem) => Some(
                        if rsa { EncodingKey::from_rsa_pem(pem) } else { EncodingKey::from_ec_pem(pem) }
                            .context("reading the JWT private key")?,
                    ),
                    None => None,
                };
                (decoding, encoding)
            }
        };
        let mut validation = Validation::new(alg);
        validation.algorithms = vec![alg];
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.required_spec_claims = HashSet::from(["exp".to_owned(), "sub".to_owned()]);
        match &config.issuer {
            Some(iss) => {
                validation.set_issuer(&[iss]);
                validation.required_spec_claims.insert("iss".into());
            }
            None => validation.iss = None,
        }
        match &config.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                validation.required_spec_claims.insert("aud".into());
            }
            None => validation.validate_aud = false,
        }
        Ok(Self {
            algorithm: alg,
            decoding,
            encoding,
            validation,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            default_ttl: config.default_ttl,
            max_ttl: config.max_ttl,
        })
    }

    /// Checks a token's signature and claims (no database access).
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Invalid)?;
        if header.alg != self.algorithm {
            return Err(AuthError::Invalid);
        }
        // RFC 7515 4.1.11: a recipient must refuse a token naming critical extensions it does
        // not understand, and Bellwether understands none.
        if header.crit.is_some() {
            return Err(AuthError::Invalid);
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::Invalid,
            })?;
        // A token lives at most `max_ttl` from when it was issued (or, without `iat`, from now):
        // an `exp` far in the future (2^64 - 1) would otherwise never expire.
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        let start = claims.iat.unwrap_or(now).min(now.saturating_add(LEEWAY_SECS));
        if claims.exp > start.saturating_add(self.max_ttl.as_secs()).saturating_add(LEEWAY_SECS) {
            return Err(AuthError::TooLong { max_days: self.max_ttl.as_secs() / 86_400 });
        }
        Ok(claims)
    }

    /// Verifies a token and resolves it to the acting user, as they are now.
    pub async fn authenticate(&self, db: &Db, token: &str) -> Result<(Actor, User), AuthError> {
        let claims = self.verify(token)?;
        let user_id = Uuid::parse_str(&claims.sub).map_err(|_| AuthError::Invalid)?;
        let org_id = Uuid::parse_str(&claims.organisation).map_err(|_| AuthError::Invalid)?;
        let role = Role::parse(&claims.role).map_err(|_| AuthError::Invalid)?;
        let org = OrganisationId(org_id);
        let (user, zone) = tokio::try_join!(users::get(db, org, UserId(user_id)), organisations::time_zone_of(db, org))
            .map_err(|e| {
                tracing::error!(error = %e, source = ?std::error::Error::source(&e), "loading the token's user");
                AuthError::Internal
            })?;
        let (Some(user), Some(time_zone)) = (user, zone) else { return Err(AuthError::Revoked) };
        if user.archived_at.is_some() || user.role != role {
            return Err(AuthError::Revoked);
        }
        Ok((Actor { organisation: user.organisation, user: user.id, role, time_zone }, user))
    }

    /// Mints a token for a user (development and scripts).
    pub fn mint(&self, user: &User, ttl: Duration) -> anyhow::Result<String> {
        anyhow::ensure!(
            ttl <= self.max_ttl,
            "a token may live at most {} days (jwt.max_ttl)",
            self.max_ttl.as_secs() / 86_400
        );
        let key = self
            .encoding
            .as_ref()
            .context("minting tokens needs the private key (--jwt-private-key-file) with RS256/ES256")?;
        let now = chrono::Utc::now().timestamp() as u64;
        let claims = Claims {
            sub: user.id.to_string(),
            organisation: user.organisation.to_string(),
            role: user.role.as_str().to_owned(),
            exp: now + ttl.as_secs(),
            nbf: Some(now),
            iat: Some(now),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        Ok(jsonwebtoken::encode(&Header::new(self.algorithm), &claims, key)?)
    }
}
