//! JWT attacks: each is refused with 401, `WWW-Authenticate: Bearer` and no data.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bellwether_api::config::JwtAlgorithm;
use bellwether_tests::{Backend, Options, SECRET, TestServer, error_codes, on_every_backend};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

on_every_backend!(
    forged_and_stale_tokens_are_refused,
    issuer_and_audience_are_checked,
    asymmetric_keys_and_key_confusion
);

const RSA_PRIVATE: &[u8] = include_bytes!("../../fixtures/rsa_private.pem");
const RSA_PUBLIC: &[u8] = include_bytes!("../../fixtures/rsa_public.pem");
const EC_PRIVATE: &[u8] = include_bytes!("../../fixtures/ec_private.pem");
const EC_PUBLIC: &[u8] = include_bytes!("../../fixtures/ec_public.pem");

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The claims of a genuine token (to forge variations of it).
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn with(mut claims: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

fn hs(alg: Algorithm, secret: &[u8], claims: &Value) -> String {
    encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
}

/// Asserts a request with `authorization` is refused as unauthenticated.
async fn refused(s: &TestServer, authorization: Option<&str>, why: &str) {
    let mut req = s.client.post(&s.url).json(&json!({ "query": "{ viewer { id } accounts { totalCount } }" }));
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status().as_u16(), 401, "{why}");
    assert_eq!(res.headers().get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"), "{why}");
    let body: Value = res.json().await.unwrap();
    assert!(body.get("data").is_none(), "{why}: {body}");
    assert_eq!(error_codes(&body), vec!["UNAUTHENTICATED"], "{why}");
}

async fn accepted(s: &TestServer, token: &str, why: &str) {
    let (status, body) = s.post(Some(token), "{ viewer { id } }", json!({})).await;
    assert_eq!(status, 200, "{why}: {body}");
    assert!(body["data"]["viewer"]["id"].is_string(), "{why}: {body}");
}

async fn forged_and_stale_tokens_are_refused(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let t = s.tenant("jwt").await;
    let other = s.tenant("jwt-other").await;
    let genuine = claims_of(&t.admin_token);
    accepted(&s, &t.admin_token, "the genuine token").await;
    accepted(&s, &hs(Algorithm::HS256, SECRET.as_bytes(), &genuine), "a re-signed copy with the right key").await;
    let long = with(genuine.clone(), json!({ "iat": now(), "exp": now() + 29 * 86_400 }));
    accepted(&s, &hs(Algorithm::HS256, SECRET.as_bytes(), &long), "a lifetime within the 30-day cap").await;

    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(genuine.to_string())
    );
    let tampered = {
        let mut parts: Vec<String> = t.admin_token.split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(
            with(genuine.clone(), json!({ "role": "admin", "sub": claims_of(&other.admin_token)["sub"] })).to_string(),
        );
        parts.join(".")
    };
    let cases: Vec<(Option<String>, &str)> = vec![
        (None, "no Authorization header"),
        (Some("Bearer".into()), "empty bearer"),
        (Some("Bearer ".into()), "blank bearer"),
        (Some(format!("Basic {}", t.admin_token)), "wrong scheme"),
        (Some("Bearer not-a-token".into()), "garbage"),
        (Some("Bearer a.b.c".into()), "garbage with dots"),
        (Some(format!("Bearer {none}")), "alg none"),
        (Some(format!("Bearer {tampered}")), "payload swapped under the original signature"),
        (
            Some(format!("Bearer {}", hs(Algorithm::HS256, b"another-secret-that-is-long-enough!!", &genuine))),
            "wrong key",
        ),
        (
            Some(format!("Bearer {}", hs(Algorithm::HS384, SECRET.as_bytes(), &genuine))),
            "algorithm outside the allow-list",
        ),
        (
            Some(format!(
                "Bearer {}",
                hs(Algorithm::HS256, SECRET.as_bytes(), &with(genuine.clone(), json!({ "exp": now() - 3600 })))
            )),
            "expired",
        ),
        (
            Some(format!(
                "Bearer {}",
                hs(Algorithm::HS256, SECRET.as_bytes(), &with(genuine.clone(), json!({ "nbf": now() + 3600 })))
            )),
            "not yet valid",
        ),
        (
            Some(format!(
                "Bearer {}",
                hs(Algorithm::HS256, SECRET.as_bytes(), &with(genuine.clone(), json!({ "exp": null })))
            )),
            "no exp",
        ),
        (
            Some(format!("Bearer {}", {
                // RFC 7515: critical header extensions the server does not understand.
                let mut header = Header::new(Algorithm::HS256);
                header.crit = Some(vec!["exp".into()]);
                encode(&header, &genuine, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
            })),
            "a crit header",
        ),
        (
            Some(format!(
                "Bearer {}",
                hs(Algorithm::HS256, SECRET.as_bytes(), &with(genuine.clone(), json!({ "exp": u64::MAX })))
            )),
            "exp 2^64 - 1: a token that never expires",
        ),
        (
            Some(format!(
                "Bearer {}",
                hs(
                    Algorithm::HS256,
                    SECRET.as_bytes(),
                    &with(genuine.clone(), json!({ "iat": now(), "exp": now() + 31 * 86_400 }))
                )
            )),
            "a lifetime beyond the 30-day cap",
        ),
        (
            Some(format!(
                "Bearer {}",
                hs(
                    Algorithm::HS256,
                    SECRET.as_bytes(),
                    &with(genuine.clone(), json!({ "iat": null, "exp": now() + 31 * 86_400 }))
                )
            )),
            "no iat and an exp beyond the cap from now",
        ),
        (
            Some(format!(
                "Bearer {}",
                hs(
                    Algorithm::HS256,
                    SECRET.as_bytes(),
                    &with(genuine.clone(), json!({ "sub": uuid::Uuid::now_v7().to_string() }))
                )
            )),
            "unknown user",
        ),
        (
            Some(format!(
                "Bearer {}",
                hs(
                    Algorithm::HS256,
                    SECRET.as_bytes(),
                    &with(genuine.clone(), json!({ "organisation": claims_of(&other.admin_token)["organisation"] }))
                )
            )),
            "user of another organisation",
        ),
        (
            Some(format!(
                "Bearer {}",
                hs(Algorithm::HS256, SECRET.as_bytes(), &with(genuine.clone(), json!({ "role": "superuser" })))
            )),
            "unknown role",
        ),
        (
            Some(format!(
                "Bearer {}",
                hs(Algorithm::HS256, SECRET.as_bytes(), &with(genuine.clone(), json!({ "role": "viewer" })))
            )),
            "role the user does not hold",
        ),
    ];
    for (header, why) in cases {
        refused(&s, header.as_deref(), why).await;
    }
    s.stop().await;
}

async fn issuer_and_audience_are_checked(backend: Backend) {
    let mut options = Options::default();
    options.jwt.issuer = Some("https://login.example".into());
    options.jwt.audience = Some("bellwether".into());
    let Some(s) = TestServer::start_with(backend, options).await else {
        return;
    };
    let t = s.tenant("iss").await;
    let genuine = claims_of(&t.admin_token);
    assert_eq!(genuine["iss"], "https://login.example");
    accepted(&s, &t.admin_token, "right issuer and audience").await;
    for (changes, why) in [
        (json!({ "iss": "https://evil.example" }), "wrong issuer"),
        (json!({ "iss": null }), "no issuer"),
        (json!({ "aud": "someone-else" }), "wrong audience"),
        (json!({ "aud": null }), "no audience"),
    ] {
        let token = hs(Algorithm::HS256, SECRET.as_bytes(), &with(genuine.clone(), changes));
        refused(&s, Some(&format!("Bearer {token}")), why).await;
    }
    s.stop().await;
}

async fn asymmetric_keys_and_key_confusion(backend: Backend) {
    for (algorithm, private, public, other) in [
        (JwtAlgorithm::RS256, RSA_PRIVATE, RSA_PUBLIC, (Algorithm::ES256, EC_PRIVATE)),
        (JwtAlgorithm::ES256, EC_PRIVATE, EC_PUBLIC, (Algorithm::RS256, RSA_PRIVATE)),
    ] {
        let mut options = Options::default();
        options.jwt.algorithm = algorithm;
        options.jwt.secret = None;
        options.jwt.public_key_pem = Some(public.to_vec());
        options.jwt.private_key_pem = Some(private.to_vec());
        let Some(s) = TestServer::start_with(backend, options).await else {
            return;
        };
        let t = s.tenant("keys").await;
        accepted(&s, &t.admin_token, "a token signed with the configured private key").await;
        let claims = claims_of(&t.admin_token);
        // Key confusion: HMAC keyed with the (public) verification key.
        let confused = hs(Algorithm::HS256, public, &claims);
        refused(&s, Some(&format!("Bearer {confused}")), "HS256 signed with the public key").await;
        let other_key = match other.0 {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(other.1).unwrap(),
            _ => EncodingKey::from_ec_pem(other.1).unwrap(),
        };
        let foreign = encode(&Header::new(other.0), &claims, &other_key).unwrap();
        refused(&s, Some(&format!("Bearer {foreign}")), "a different asymmetric algorithm").await;
        s.stop().await;
    }
}
