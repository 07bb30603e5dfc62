//! Tests of idempotency keys: the key entity's begin, complete and release (replay, refusal,
//! lease expiry), fingerprints by content, and scopes per principal, role and route.

use super::*;
use crate::routes::seller::FEED_PATH;
use bazaar_engine::EntityKey;

fn ctx_at(now_ms: u64, key: &EntityKey) -> Ctx<'_> {
    Ctx { now_ms, key }
}

fn run(
    state: &mut IdempotencyKey,
    command: IdempotencyCommand,
    now_ms: u64,
) -> Result<Begun, IdempotencyRejection> {
    let key = EntityKey::new(KIND, "t/p/k");
    let (events, reply) = state.decide(command, &ctx_at(now_ms, &key))?;
    events.iter().for_each(|e| state.apply(e));
    Ok(reply)
}

#[test]
fn the_feed_paths_are_routes_of_the_document() {
    // The middleware gives each feed's body limit to its route alone.
    for path in [FEED_PATH, crate::routes::seller::LISTINGS_FEED_PATH] {
        assert!(crate::document().paths.paths.contains_key(path), "{path}");
    }
}

fn answer() -> StoredAnswer {
    StoredAnswer { status: 201, content_type: "application/json".into(), body: b"{}".to_vec() }
}

#[test]
fn same_request_replays_other_request_is_refused() {
    let (a, b) = ([1; 32], [2; 32]);
    let mut key = IdempotencyKey::default();
    assert_eq!(
        run(&mut key, IdempotencyCommand::Begin { fingerprint: a, lease_ms: 100 }, 0),
        Ok(Begun::Proceed)
    );
    assert_eq!(
        run(&mut key, IdempotencyCommand::Begin { fingerprint: a, lease_ms: 100 }, 50),
        Err(IdempotencyRejection::InProgress)
    );
    assert_eq!(
        run(&mut key, IdempotencyCommand::Begin { fingerprint: b, lease_ms: 100 }, 50),
        Err(IdempotencyRejection::Mismatch)
    );
    run(&mut key, IdempotencyCommand::Complete { fingerprint: a, answer: answer() }, 60).unwrap();
    assert_eq!(
        run(&mut key, IdempotencyCommand::Begin { fingerprint: a, lease_ms: 100 }, 500),
        Ok(Begun::Replay(answer()))
    );
    assert_eq!(
        run(&mut key, IdempotencyCommand::Begin { fingerprint: b, lease_ms: 100 }, 500),
        Err(IdempotencyRejection::Mismatch)
    );
}

#[test]
fn an_expired_lease_lets_a_retry_proceed_and_a_release_frees_the_key() {
    let a = [1; 32];
    let mut key = IdempotencyKey::default();
    run(&mut key, IdempotencyCommand::Begin { fingerprint: a, lease_ms: 100 }, 0).unwrap();
    assert_eq!(
        run(&mut key, IdempotencyCommand::Begin { fingerprint: a, lease_ms: 100 }, 100),
        Ok(Begun::Proceed)
    );
    run(&mut key, IdempotencyCommand::Release { fingerprint: a }, 120).unwrap();
    assert_eq!(key, IdempotencyKey::Unused);
    assert_eq!(
        run(&mut key, IdempotencyCommand::Complete { fingerprint: a, answer: answer() }, 130),
        Err(IdempotencyRejection::NotHeld)
    );
}

#[test]
fn fingerprints_cover_method_path_and_body_by_content() {
    let base = fingerprint("POST", "/v1/x", br#"{"a":1,"b":[{"c":"\u0041","d":null}]}"#);
    assert_ne!(base, fingerprint("PUT", "/v1/x", b"{}"));
    assert_ne!(base, fingerprint("POST", "/v1/y", b"{}"));
    let respaced = b"{ \"b\" : [ { \"d\" : null , \"c\" : \"A\" } ] ,\n \"a\" : 1 }";
    assert_eq!(base, fingerprint("POST", "/v1/x", respaced), "same content");
    assert_ne!(base, fingerprint("POST", "/v1/x", br#"{"a":2,"b":[{"c":"A","d":null}]}"#));
    assert_ne!(base, fingerprint("POST", "/v1/x", br#"{"a":1,"b":[{"d":null,"c":"A"}],"e":0}"#));
    // Not JSON (an NDJSON feed of two lines): compared byte for byte.
    assert_ne!(fingerprint("POST", "/f", b"{}\n{}"), fingerprint("POST", "/f", b"{}\n {}"));
    assert_eq!(canonical_json(br#" { "k" : "v\"" } "#).unwrap(), br#"{"k":"v\""}"#);
}

#[test]
fn key_scopes_are_per_principal_role_and_route() {
    let principal = |role, id: &str| Principal { tenant: "t".into(), role, id: id.into() };
    let route = ("POST", "/v1/carts");
    let customer = entity_id(&principal(crate::auth::Role::Customer, "dup"), route, "k");
    let seller = entity_id(&principal(crate::auth::Role::Seller, "dup"), route, "k");
    assert_ne!(customer, seller);
    let customer = principal(crate::auth::Role::Customer, "dup");
    assert_ne!(entity_id(&customer, route, "k"), entity_id(&customer, ("PUT", "/v1/carts"), "k"));
    // Names and keys with the separator cannot meet another principal's scope.
    let a = entity_id(&principal(crate::auth::Role::Customer, "a/b"), route, "k");
    let b = entity_id(&principal(crate::auth::Role::Customer, "a"), route, "b/k");
    assert_ne!(a, b);
}

// postmortem (review of issue 9): an audited change goes on past the time limit's 503, but its
// key's lease ended with the limit, so a retry began the same request again while the first
// still ran. The running request now renews its lease until it ends.
#[test]
fn a_renewed_lease_keeps_a_retry_out_until_the_request_ends() {
    let (a, b) = ([1; 32], [2; 32]);
    let mut key = IdempotencyKey::default();
    run(&mut key, IdempotencyCommand::Begin { fingerprint: a, lease_ms: 100 }, 0).unwrap();
    for at in [40, 80, 120, 160] {
        run(&mut key, IdempotencyCommand::Renew { fingerprint: a, lease_ms: 100 }, at).unwrap();
    }
    assert_eq!(
        run(&mut key, IdempotencyCommand::Begin { fingerprint: a, lease_ms: 100 }, 250),
        Err(IdempotencyRejection::InProgress),
        "past the first lease, still running"
    );
    assert_eq!(
        run(&mut key, IdempotencyCommand::Renew { fingerprint: b, lease_ms: 100 }, 250),
        Err(IdempotencyRejection::NotHeld)
    );
    run(&mut key, IdempotencyCommand::Complete { fingerprint: a, answer: answer() }, 255).unwrap();
    assert_eq!(
        run(&mut key, IdempotencyCommand::Renew { fingerprint: a, lease_ms: 100 }, 256),
        Err(IdempotencyRejection::NotHeld),
        "a finished request renews nothing"
    );
    // A request that died stops renewing: its key is free once the last lease ends.
    let mut died = IdempotencyKey::default();
    run(&mut died, IdempotencyCommand::Begin { fingerprint: a, lease_ms: 100 }, 0).unwrap();
    run(&mut died, IdempotencyCommand::Renew { fingerprint: a, lease_ms: 100 }, 40).unwrap();
    assert_eq!(
        run(&mut died, IdempotencyCommand::Begin { fingerprint: a, lease_ms: 100 }, 141),
        Ok(Begun::Proceed)
    );
}
