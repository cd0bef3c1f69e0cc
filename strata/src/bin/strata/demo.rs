//! `strata demo`: the README's main job on the embedded default store.

use std::time::Instant;

use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use strata::{Key, ListOptions, Prefix, PutMode, StoreExt};

use crate::args::DemoArgs;

#[derive(Debug, Serialize, Deserialize)]
struct Account {
    owner: String,
    balance: i64,
}

fn step<T>(name: &str, start: Instant, value: T) -> T {
    println!("  [{:>8.1} ms] {name}", start.elapsed().as_secs_f64() * 1e3);
    value
}

pub async fn run(args: DemoArgs) -> anyhow::Result<u8> {
    std::fs::create_dir_all(&args.dir)?;
    let config = serde_json::json!({ "type": "memory" });
    let t = Instant::now();
    let store = strata::open(config.as_object().expect("object")).await?;
    step("opened the store", t, ());

    let t = Instant::now();
    for (owner, balance) in [("alice", 100), ("bob", 50), ("carol", 75)] {
        let key = Key::new(format!("demo/accounts/{owner}"))?;
        store
            .put_typed(
                &key,
                &Account {
                    owner: owner.into(),
                    balance,
                },
                PutMode::Overwrite,
            )
            .await?;
    }
    step("wrote 3 typed accounts", t, ());

    let t = Instant::now();
    let alice = Key::new("demo/accounts/alice")?;
    let (account, meta) = store
        .update(&alice, |a: Option<Account>| {
            let mut a = a.unwrap_or(Account {
                owner: "alice".into(),
                balance: 0,
            });
            a.balance += 25;
            a
        })
        .await?;
    step(
        &format!(
            "CAS update: alice now has {} (version {})",
            account.balance, meta.version
        ),
        t,
        (),
    );

    let t = Instant::now();
    let listed: Vec<_> = store
        .list(ListOptions::prefix(Prefix::new("demo/accounts/")?))
        .try_collect()
        .await?;
    step(
        &format!("listed {} accounts in key order", listed.len()),
        t,
        (),
    );
    for meta in listed {
        println!("               {} ({} bytes)", meta.key, meta.size);
    }
    let _ = args.vectors;
    Ok(0)
}
