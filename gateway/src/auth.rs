//! Who is asking: bearer tokens mapped to (tenant, role, principal).
//!
//! Tokens are long random strings, so they are looked up by their SHA-256 (a slow password
//! hash would only burn CPU on every request). `credentials.toml` in the data directory holds
//! the hashes, never a token. On the first start with no credentials, one token per role is
//! generated, the hashes are written to `credentials.toml` and the tokens themselves to
//! `initial-tokens.txt`, both with mode 0600; nothing is compiled in or committed.
//!
//! Invariant: a request without a valid token never reaches a handler (401); one over its
//! tenant's rate limit neither (429); a token's role decides which routes it may use (403 for
//! a route of another role). Each group of routes is for one role (or any), and [`admit`]
//! checks the token and the role before any of the route's extractors or the idempotency
//! middleware looks at the request, so a wrong caller hears 401 or 403 whatever its path,
//! query or body, and the document says the role (the bearer requirement's scope).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};

use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::limits::PRINCIPAL_BYTES_MAX;
use crate::problem::{Problem, ProblemKind, unauthenticated};

/// What a principal may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Seller,
    Support,
    Operator,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Customer, Role::Seller, Role::Support, Role::Operator];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Seller => "seller",
            Role::Support => "support",
            Role::Operator => "operator",
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant: Arc<str>,
    pub role: Role,
    /// The customer id, seller id, agent or operator name.
    pub id: Arc<str>,
}

impl Principal {
    /// The customer this principal is; any other role is refused.
    pub fn customer(&self) -> Result<bazaar_actors::CustomerId, Problem> {
        self.require(Role::Customer)?;
        crate::dto::id(bazaar_actors::CustomerId::parse(&self.id))
    }

    /// The seller this principal is; any other role is refused.
    pub fn seller(&self) -> Result<bazaar_actors::SellerId, Problem> {
        self.require(Role::Seller)?;
        crate::dto::id(bazaar_actors::SellerId::parse(&self.id))
    }

    /// Refuses a principal of another role.
    pub fn require(&self, role: Role) -> Result<(), Problem> {
        if self.role == role {
            Ok(())
        } else {
            Err(Problem::of(
                ProblemKind::Forbidden,
                "wrong_role",
                "Forbidden",
                format!(
                    "this route is for the {} role; the token is a {}",
                    role.as_str(),
                    self.role.as_str()
                ),
            ))
        }
    }
}

/// One credential line of `credentials.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    /// Hex SHA-256 of the token.
    pub sha256: String,
    pub tenant: String,
    pub role: Role,
    pub principal: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    #[serde(default)]
    tokens: Vec<Credential>,
}

/// Every valid token's hash, with what it stands for.
#[derive(Debug, Default)]
pub struct Credentials {
    by_hash: HashMap<[u8; 32], Principal>,
}

/// The file names inside the data directory.
pub const CREDENTIALS_FILE: &str = "credentials.toml";
pub const INITIAL_TOKENS_FILE: &str = "initial-tokens.txt";

/// The tenant the first start creates.
pub const DEFAULT_TENANT: &str = "default";

impl Credentials {
    /// Loads `DIR/credentials.toml`, first creating what a first start must: as long as
    /// `DIR/initial-tokens.txt` has not been written, one token for each role whose initial
    /// principal (`customer-1`, `seller-1`, `support-1`, `operator-1` of the default tenant)
    /// has no credential yet, listed in that file (so a `bazaar token add` before the first
    /// start does not leave the node without the other roles). Returns the path of the new
    /// tokens file, if any.
    pub fn load_or_init(data_dir: &Path) -> Result<(Credentials, Option<PathBuf>), String> {
        let path = data_dir.join(CREDENTIALS_FILE);
        let tokens_path = data_dir.join(INITIAL_TOKENS_FILE);
        if tokens_path.exists() {
            return Ok((Credentials::load(&path)?, None));
        }
        let existing =
            if path.exists() { Credentials::load(&path)? } else { Credentials::default() };
        let has = |role: Role, principal: &str| {
            existing.by_hash.values().any(|known| {
                &*known.tenant == DEFAULT_TENANT && known.role == role && &*known.id == principal
            })
        };
        let tokens: Vec<(Role, String, String)> = Role::ALL
            .into_iter()
            .map(|role| (role, format!("{}-1", role.as_str())))
            .filter(|(role, principal)| !has(*role, principal))
            .map(|(role, principal)| (role, principal, new_token()))
            .collect();
        for (role, principal, token) in &tokens {
            add_credential(
                data_dir,
                &Credential {
                    sha256: hex::encode(hash(token)),
                    tenant: DEFAULT_TENANT.into(),
                    role: *role,
                    principal: principal.clone(),
                },
            )?;
        }
        let listing: String = tokens
            .iter()
            .map(|(role, principal, token)| {
                format!("{} {} {} {token}\n", DEFAULT_TENANT, role.as_str(), principal)
            })
            .collect();
        // Written even when nothing was missing: it marks the initial tokens as made.
        write_private(&tokens_path, &format!("# tenant role principal token\n{listing}"), false)?;
        let created = (!tokens.is_empty()).then_some(tokens_path);
        Ok((Credentials::load(&path)?, created))
    }

    pub fn load(path: &Path) -> Result<Credentials, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let file: CredentialsFile =
            toml::from_str(&text).map_err(|e| format!("invalid {}: {e}", path.display()))?;
        let mut by_hash = HashMap::new();
        for credential in file.tokens {
            let digest: [u8; 32] = hex::decode(&credential.sha256)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(|| {
                    format!(
                        "{}: sha256 {:?} is not 64 hex digits",
                        path.display(),
                        credential.sha256
                    )
                })?;
            let principal = Principal {
                tenant: credential.tenant.as_str().into(),
                role: credential.role,
                id: credential.principal.as_str().into(),
            };
            by_hash.insert(digest, principal);
        }
        Ok(Credentials { by_hash })
    }

    /// Whether some credential belongs to `tenant` (guests name their tenant themselves).
    pub fn knows_tenant(&self, tenant: &str) -> bool {
        self.by_hash.values().any(|principal| &*principal.tenant == tenant)
    }

    /// The principal a bearer token stands for.
    pub fn authenticate(&self, token: &str) -> Option<&Principal> {
        self.by_hash.get(&hash(token))
    }
}

/// Whether `name` can be a principal: 1 to `PRINCIPAL_BYTES_MAX` bytes without `/` (it is
/// part of composed keys and URL paths) or spaces.
pub fn is_principal(name: &str) -> bool {
    !name.is_empty() && name.len() <= PRINCIPAL_BYTES_MAX && !name.contains(['/', ' '])
}

/// A new token: `bzr_` and 32 random bytes in hex.
pub fn new_token() -> String {
    format!("bzr_{}", hex::encode(random::<32>()))
}

/// `N` bytes from the operating system's random source.
pub fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Mints a token for `principal` and appends its hash to `DIR/credentials.toml`.
pub fn mint(data_dir: &Path, tenant: &str, role: Role, principal: &str) -> Result<String, String> {
    if !is_principal(principal) {
        return Err(format!(
            "principal {principal:?} must be 1 to {PRINCIPAL_BYTES_MAX} characters without '/' or spaces"
        ));
    }
    let token = new_token();
    let credential = Credential {
        sha256: hex::encode(hash(&token)),
        tenant: tenant.into(),
        role,
        principal: principal.into(),
    };
    add_credential(data_dir, &credential)?;
    Ok(token)
}

fn add_credential(data_dir: &Path, credential: &Credential) -> Result<(), String> {
    let path = data_dir.join(CREDENTIALS_FILE);
    let header =
        "# SHA-256 of each bearer token and what it may do; add one with `bazaar token add`.\n";
    let entry = toml::to_string(&CredentialsFile { tokens: vec![credential.clone()] })
        .map_err(|e| format!("cannot encode a credential: {e}"))?;
    let text = if path.exists() { entry } else { format!("{header}{entry}") };
    write_private(&path, &format!("\n{text}"), true)
}

/// Writes (or appends to) a file readable by its owner only, durable through a power loss
/// (its content and, when new, its name) before it answers.
fn write_private(path: &Path, text: &str, append: bool) -> Result<(), String> {
    bazaar_persistence::fsync::write(path, text.as_bytes(), 0o600, append)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The token of an `Authorization` value `Bearer <token>`; the scheme is case-insensitive
/// (RFC 9110, section 11.1).
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl<S> FromRequestParts<S> for Principal
where
    Arc<Credentials>: FromRef<S>,
    Arc<crate::rate_limit::RateLimits>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Principal, Problem> {
        // Authenticated (and counted) once already by a middleware.
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(principal.clone());
        }
        let unauthorized = |detail: &str| unauthenticated("unauthenticated", detail);
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("an Authorization: Bearer <token> header is required"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(bearer_token)
            .ok_or_else(|| unauthorized("the Authorization header must be Bearer <token>"))?;
        let credentials = Arc::<Credentials>::from_ref(state);
        let principal = credentials
            .authenticate(token)
            .cloned()
            .ok_or_else(|| unauthorized("unknown token"))?;
        // Every authenticated request counts against its tenant's rate limit, once.
        Arc::<crate::rate_limit::RateLimits>::from_ref(state).tenant(&principal.tenant)?;
        Ok(principal)
    }
}

/// The first step of a group of routes for `role` (`None`: any role): authenticates the
/// request and checks the role, then hands the principal on in the request's extensions; a
/// refusal is the answer.
pub async fn admit(
    state: &crate::state::AppState,
    role: Option<Role>,
    request: axum::extract::Request,
) -> Result<axum::extract::Request, axum::response::Response> {
    use axum::response::IntoResponse;
    let (mut parts, body) = request.into_parts();
    let principal = Principal::from_request_parts(&mut parts, state)
        .await
        .map_err(IntoResponse::into_response)?;
    if let Some(role) = role {
        principal.require(role).map_err(IntoResponse::into_response)?;
    }
    parts.extensions.insert(principal);
    Ok(axum::extract::Request::from_parts(parts, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_minted_only_for_a_principal_name() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["", "a/b", "a b", &"p".repeat(PRINCIPAL_BYTES_MAX + 1)] {
            assert!(mint(dir.path(), "default", Role::Seller, bad).is_err(), "{bad:?}");
        }
        assert!(is_principal(&"p".repeat(PRINCIPAL_BYTES_MAX)));
        assert!(mint(dir.path(), "default", Role::Seller, "seller-9").is_ok());
    }

    #[test]
    fn first_start_writes_hashes_and_private_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let (credentials, tokens_path) = Credentials::load_or_init(dir.path()).unwrap();
        let tokens_path = tokens_path.expect("first start writes tokens");
        let listing = std::fs::read_to_string(&tokens_path).unwrap();
        let lines: Vec<&str> = listing.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(lines.len(), 4);
        for line in lines {
            let words: Vec<&str> = line.split_whitespace().collect();
            let principal = credentials.authenticate(words[3]).expect("generated token works");
            assert_eq!(principal.role.as_str(), words[1]);
        }
        let stored = std::fs::read_to_string(dir.path().join(CREDENTIALS_FILE)).unwrap();
        assert!(!stored.contains("bzr_"), "credentials.toml holds hashes, never tokens");
        use std::os::unix::fs::PermissionsExt;
        for path in [tokens_path, dir.path().join(CREDENTIALS_FILE)] {
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let (_, again) = Credentials::load_or_init(dir.path()).unwrap();
        assert!(again.is_none(), "a second start generates nothing");
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in ["Bearer t", "bearer t", "BEARER  t ", "bEaReR t"] {
            assert_eq!(bearer_token(value), Some("t"), "{value:?}");
        }
        for value in ["Basic t", "Bearert", "Bearer", "Bearer  ", "t"] {
            assert_eq!(bearer_token(value), None, "{value:?}");
        }
    }

    #[test]
    fn minted_tokens_authenticate_and_strangers_do_not() {
        let dir = tempfile::tempdir().unwrap();
        Credentials::load_or_init(dir.path()).unwrap();
        let token = mint(dir.path(), "acme", Role::Seller, "seller-9").unwrap();
        let credentials = Credentials::load(&dir.path().join(CREDENTIALS_FILE)).unwrap();
        let principal = credentials.authenticate(&token).unwrap();
        assert_eq!(
            (&*principal.tenant, principal.role, &*principal.id),
            ("acme", Role::Seller, "seller-9")
        );
        assert!(credentials.authenticate("bzr_nope").is_none());
    }
}
