//! The table at open: checked to have the layout this store writes, or created.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use store_core::{Error, ErrorKind, Result};

use crate::client::{CallError, Client};
use crate::errors;

/// How long a freshly created table may take to become `ACTIVE`.
const CREATE_WAIT: Duration = Duration::from_secs(120);

/// Check that `table` exists with key schema `pk` (S, HASH) + `sk` (S, RANGE); create it
/// (on-demand billing) if it is missing and `create` is set.
pub(crate) async fn ensure(client: &Client, table: &str, create: bool) -> Result<()> {
    let describe = json!({"TableName": table});
    match client.call("DescribeTable", &describe).await {
        Ok(answer) => return check_schema(&answer, table, client.endpoint()),
        Err(CallError::Api(api)) if api.code == "ResourceNotFoundException" && create => {}
        Err(CallError::Api(api)) if api.code == "ResourceNotFoundException" => {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "DynamoDB table `{table}` does not exist at {}: create it (partition key \
                     `pk`, sort key `sk`, both strings) or set `create_table`",
                    client.endpoint()
                ),
            ));
        }
        Err(e) => return Err(errors::map(e, table, client.endpoint())),
    }
    let create_request = json!({
        "TableName": table,
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    });
    match client.call("CreateTable", &create_request).await {
        Ok(_) => {}
        // Another process created it meanwhile.
        Err(CallError::Api(api)) if api.code == "ResourceInUseException" => {}
        Err(e) => return Err(errors::map(e, table, client.endpoint())),
    }
    let started = Instant::now();
    loop {
        let answer = client
            .call("DescribeTable", &describe)
            .await
            .map_err(|e| errors::map(e, table, client.endpoint()))?;
        if answer["Table"]["TableStatus"] == "ACTIVE" {
            return check_schema(&answer, table, client.endpoint());
        }
        if started.elapsed() > CREATE_WAIT {
            return Err(Error::unavailable(format!(
                "DynamoDB table `{table}` at {} was created but is not ACTIVE after {}s",
                client.endpoint(),
                CREATE_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Refuse a table whose keys are not the ones this store writes, naming what it has.
fn check_schema(answer: &Value, table: &str, endpoint: &str) -> Result<()> {
    let t = &answer["Table"];
    let type_of = |name: &str| {
        t["AttributeDefinitions"]
            .as_array()
            .and_then(|defs| defs.iter().find(|d| d["AttributeName"] == name))
            .and_then(|d| d["AttributeType"].as_str())
    };
    let key_named = |kind: &str| {
        t["KeySchema"]
            .as_array()
            .and_then(|ks| ks.iter().find(|k| k["KeyType"] == kind))
            .and_then(|k| k["AttributeName"].as_str())
    };
    let hash = key_named("HASH");
    let range = key_named("RANGE");
    if hash == Some("pk")
        && range == Some("sk")
        && type_of("pk") == Some("S")
        && type_of("sk") == Some("S")
    {
        return Ok(());
    }
    Err(Error::invalid_config(
        "table",
        format!(
            "DynamoDB table `{table}` at {endpoint} has partition key {hash:?} and sort key \
             {range:?}; this store needs partition key `pk` and sort key `sk`, both strings"
        ),
    ))
}
