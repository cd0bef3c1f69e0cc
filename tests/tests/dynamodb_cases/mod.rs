//! DynamoDB-specific tests: paging past 1 MB pages, transactions, failures, the
//! cross-process CAS race.

mod failures;
mod paging;
mod race;
mod server;
mod transactions;
