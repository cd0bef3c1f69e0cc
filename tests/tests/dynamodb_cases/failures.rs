//! Failures: a missing table, an endpoint nobody serves, and a server stopped and
//! restarted under a store in use (bounded retries, a retryable `Unavailable`, recovery).

use std::time::{Duration, Instant};

use store_core::{ErrorKind, Key, PutMode, Store};
use store_dynamodb::{DynamoConfig, DynamoStore};
use strata_tests::dynamoenv::{dynamodb_env, random_table};

use super::server::OwnServer;
use crate::config;

#[test]
fn a_missing_table_is_not_found_naming_it() {
    strata_tests::harness::runtime().block_on(async {
        let Some(env) = dynamodb_env() else { return };
        let table = random_table();
        let mut missing = config(&env).create_table(false);
        missing.table = table.clone();
        let err = DynamoStore::open(missing).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(err.to_string().contains(&table), "{err}");
        assert!(err.to_string().contains("create_table"), "{err}");
        // Through the registry with creates_missing off, as read-only tools open stores.
        let mut map = strata_tests::dynamoenv::dynamodb_config().unwrap();
        map.remove("create_table");
        map.insert("table".into(), table.clone().into());
        let registry = strata::registry().with_creates_missing(false);
        let err = registry.open(&map).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    });
}

#[test]
fn an_endpoint_nobody_serves_is_unavailable_in_bounded_time() {
    strata_tests::harness::runtime().block_on(async {
        let port = OwnServer::free_port();
        let config = DynamoConfig::new("nobody-home")
            .endpoint(format!("http://127.0.0.1:{port}"))
            .credentials("id", "hunter2")
            .max_retries(3);
        let started = Instant::now();
        let err = DynamoStore::open(config).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.retryable());
        assert!(err.to_string().contains(&port.to_string()), "{err}");
        assert!(!format!("{err} {err:?}").contains("hunter2"));
    });
}

#[test]
fn refused_credentials_are_permission_denied_without_the_secret() {
    strata_tests::harness::runtime().block_on(async {
        if dynamodb_env().is_none() {
            return;
        }
        let port = OwnServer::free_port();
        let _server = OwnServer::start_with_auth(port, 0);
        let config = DynamoConfig::new("guarded")
            .endpoint(server_endpoint(port))
            .credentials("AKIDUNKNOWN", "hunter2")
            .create_table(true);
        let err = DynamoStore::open(config).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
        assert!(!err.retryable());
        assert!(err.to_string().contains("refused the credentials"), "{err}");
        assert!(err.to_string().contains(&port.to_string()), "{err}");
        assert!(!format!("{err} {err:?}").contains("hunter2"));
    });
}

#[test]
fn a_server_restart_gives_retryable_errors_then_recovers() {
    strata_tests::harness::runtime().block_on(async {
        if dynamodb_env().is_none() {
            return;
        }
        let port = OwnServer::free_port();
        let server = OwnServer::start(port);
        let open = || {
            DynamoStore::open(
                DynamoConfig::new("restarted")
                    .endpoint(server_endpoint(port))
                    .credentials("id", "secret")
                    .namespace("ns")
                    .create_table(true)
                    .timeout(Duration::from_secs(2))
                    .max_retries(3),
            )
        };
        let store = open().await.unwrap();
        let key = Key::new("k").unwrap();
        store
            .put(&key, "before".into(), PutMode::Overwrite)
            .await
            .unwrap();
        server.stop();

        let started = Instant::now();
        let err = store.get(&key).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.retryable(), "{err}");
        let err = store
            .put(&key, "during".into(), PutMode::Create)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert_eq!(err.key(), Some("k"));

        // moto keeps its tables in memory: the restarted one needs the table again.
        let _server = OwnServer::start(port);
        open().await.unwrap();
        assert!(
            store.get(&key).await.unwrap().is_none(),
            "a fresh server holds nothing"
        );
        let meta = store
            .put(&key, "after".into(), PutMode::Create)
            .await
            .unwrap();
        let entry = store.get(&key).await.unwrap().unwrap();
        assert_eq!(entry.value, "after");
        assert_eq!(entry.meta.version, meta.version);
    });
}

fn server_endpoint(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}
