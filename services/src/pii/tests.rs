//! The vault on a real directory: keys that survive a reopen, erasure that removes a key's
//! bytes from every file, one key per customer under racing sealers, the master key's checks.

use std::path::Path;
use std::sync::Arc;

use super::*;

fn vault(dir: &Path, given: Option<Key>) -> Arc<Vault> {
    Arc::new(Vault::open(dir, given).unwrap())
}

/// Every file under `dir`, whole.
fn files(dir: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(std::fs::read(&path).unwrap());
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn sealed_data_opens_after_a_restart_and_never_after_erasure() {
    let dir = tempfile::tempdir().unwrap();
    let first = vault(dir.path(), None);
    let sealer = first.sealer("t", "c-1").await.unwrap();
    let name = sealer.seal("name", "Ada Lovelace");
    assert!(name.is_sealed());
    let reopened = vault(dir.path(), None);
    let reader = reopened.reader("t", "c-1").await.unwrap();
    assert_eq!(reader.open("name", &name), Opened::Text("Ada Lovelace".into()));
    assert_eq!(reader.open("city", &name), Opened::Erased, "bound to its field");
    let other = reopened.reader("t", "c-2").await.unwrap();
    assert_eq!(other.open("name", &name), Opened::Erased, "bound to its customer");
    assert_eq!(reader.open("name", &Pii::clear("old")), Opened::Text("old".into()));

    let key_files: Vec<Vec<u8>> = files(&dir.path().join("keys"));
    assert_eq!(key_files.len(), 1);
    let wrapped = key_files[0][4..].to_vec();
    assert_eq!(reopened.erase("t", "c-1", 77).await.unwrap(), 77);
    assert_eq!(reopened.erase("t", "c-1", 99).await.unwrap(), 77, "erased once");
    // (`first` still caches the key: a node has one vault per data directory, which it locks.)
    drop(first);
    for state in [&reopened, &vault(dir.path(), None)] {
        let reader = state.reader("t", "c-1").await.unwrap();
        assert_eq!(reader.open("name", &name), Opened::Erased);
        let legacy = Pii::clear("kept in clear by an old journal");
        assert_eq!(reader.open("name", &legacy), Opened::Erased);
        assert!(matches!(state.sealer("t", "c-1").await, Err(VaultError::Erased { at_ms: 77 })));
    }
    assert!(files(dir.path()).iter().all(|file| !contains(file, &wrapped)), "the key is gone");
}

#[tokio::test]
async fn one_key_per_customer_however_many_seal_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (vault(dir.path(), None), vault(dir.path(), None));
    let sealers = futures_join(a.sealer("t", "c-1"), b.sealer("t", "c-1")).await;
    let sealed = sealers.0.unwrap().seal("name", "Grace");
    let reader = b.reader("t", "c-1").await.unwrap();
    assert_eq!(reader.open("name", &sealed), Opened::Text("Grace".into()));
    assert_eq!(files(&dir.path().join("keys")).len(), 1);
}

async fn futures_join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    tokio::join!(a, b)
}

#[tokio::test]
async fn a_given_master_key_is_used_and_a_wrong_or_missing_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let master = Key::random();
    let given = vault(dir.path(), Some(master.clone()));
    let sealed = given.sealer("t", "c-1").await.unwrap().seal("name", "Alan");
    assert!(!dir.path().join("master.key").exists(), "a given key is not written");
    let refused = Vault::open(dir.path(), Some(Key::random())).err().unwrap();
    assert!(refused.contains("does not open"), "{refused}");
    let missing = Vault::open(dir.path(), None).err().unwrap();
    assert!(missing.contains("must be given"), "{missing}");
    let again = vault(dir.path(), Key::from_hex(&master.to_hex()));
    let reader = again.reader("t", "c-1").await.unwrap();
    assert_eq!(reader.open("name", &sealed), Opened::Text("Alan".into()));
}

#[tokio::test]
async fn a_customer_without_a_key_reads_as_erased_and_gets_no_key_from_reading() {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path(), None);
    let reader = vault.reader("t", "nobody").await.unwrap();
    assert_eq!(reader.erased_at_ms(), None);
    assert_eq!(reader.open("name", &Pii::Sealed(vec![0xFF, 1, 2])), Opened::Erased);
    assert!(files(&dir.path().join("keys")).is_empty());
    // Reading first, then sealing, still creates the key.
    let sealed = vault.sealer("t", "nobody").await.unwrap().seal("city", "Paris");
    let reader = vault.reader("t", "nobody").await.unwrap();
    assert_eq!(reader.open("city", &sealed), Opened::Text("Paris".into()));
}

#[tokio::test]
async fn a_staged_key_file_a_crash_left_is_swept_at_open() {
    let dir = tempfile::tempdir().unwrap();
    vault(dir.path(), None).sealer("t", "c-1").await.unwrap();
    let shard = std::fs::read_dir(dir.path().join("keys")).unwrap().next().unwrap().unwrap().path();
    let left = shard.join("0123.abcd.tmp");
    std::fs::write(&left, b"a wrapped key").unwrap();
    vault(dir.path(), None);
    assert!(!left.exists(), "swept");
    assert_eq!(files(&dir.path().join("keys")).len(), 1, "the key itself stays");
}
