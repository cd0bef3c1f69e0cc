//! Quickstart: open a store from a config map, write typed values, update one with
//! compare-and-swap, list, and print what happened.
//!
//! Run with `cargo run -p strata --example quickstart`.

use serde::{Deserialize, Serialize};
use strata::futures::TryStreamExt;
use strata::{ErrorKind, Key, ListOptions, Prefix, PutMode, StoreExt};

#[derive(Debug, Serialize, Deserialize)]
struct Account {
    owner: String,
    balance: i64,
}

#[tokio::main]
async fn main() -> strata::Result<()> {
    // Choose storage by configuration; the rest of the program never names a backend.
    let config = serde_json::json!({ "type": "memory" });
    let store = strata::open(config.as_object().expect("an object")).await?;
    println!("opened {store:?} with {:?}", store.capabilities());

    for (owner, balance) in [("alice", 100), ("bob", 50), ("carol", 75)] {
        let key = Key::new(format!("accounts/{owner}"))?;
        let meta = store
            .put_typed(
                &key,
                &Account {
                    owner: owner.into(),
                    balance,
                },
                PutMode::Create,
            )
            .await?;
        println!(
            "created {key} (version {}, {} bytes)",
            meta.version, meta.size
        );
    }

    // A second Create on the same key is refused: no silent overwrite.
    let alice = Key::new("accounts/alice")?;
    let again = Account {
        owner: "mallory".into(),
        balance: 0,
    };
    let err = store
        .put_typed(&alice, &again, PutMode::Create)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    println!("second create refused: {err}");

    // Atomic read-modify-write via compare-and-swap, retried if another writer races us.
    let (account, meta) = store
        .update(&alice, |a: Option<Account>| {
            let mut a = a.expect("alice exists");
            a.balance += 25;
            a
        })
        .await?;
    println!(
        "deposited 25 into {}: balance {} (version {})",
        account.owner, account.balance, meta.version
    );

    let prefix = Prefix::new("accounts/")?;
    let listed: Vec<_> = store
        .list(ListOptions::prefix(prefix))
        .try_collect()
        .await?;
    println!("{} accounts, in key order:", listed.len());
    for meta in listed {
        let account: Account = store.get_typed(&meta.key).await?.expect("listed");
        println!(
            "  {:<20} {:>5}  ({} bytes)",
            meta.key, account.balance, meta.size
        );
    }
    Ok(())
}
