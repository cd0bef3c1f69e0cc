//! The conformance cases, grouped by what they exercise.
//!
//! Each case is `pub async fn(Arc<dyn Store>) -> Outcome`: it panics on a broken promise
//! and returns `Err(Skip)` only when the store's capabilities exclude it.

pub mod basic;
pub mod batch;
pub mod concurrency;
pub mod conditional;
pub mod layer;
pub mod listing;
pub mod range;
pub mod typed;

mod util;

use crate::harness::Case;

/// The one list of cases. It calls `$callback!` with `[args]` and `module::case, ...`, so
/// the case table and the generated `#[test]` functions cannot drift apart.
#[doc(hidden)]
#[macro_export]
macro_rules! __for_each_case {
    ($callback:ident [$($args:tt)*]) => {
        $crate::$callback! { [$($args)*]
            basic::empty_store,
            basic::put_get_roundtrip,
            basic::empty_value,
            basic::binary_value,
            basic::large_value_16mib,
            basic::head_matches_put,
            basic::overwrite_changes_version_and_last_modified,
            basic::delete_is_idempotent,
            basic::deleted_key_disappears,
            basic::unicode_and_awkward_keys,
            basic::deep_and_long_keys,
            basic::key_and_its_children_coexist,
            basic::invalid_keys_rejected,
            conditional::create_on_missing_key,
            conditional::create_on_existing_key_fails,
            conditional::update_with_current_version,
            conditional::update_with_stale_version_fails,
            conditional::update_with_a_respelled_version_fails,
            conditional::update_missing_key_fails,
            conditional::versions_change_on_every_write,
            range::get_range_whole,
            range::get_range_middle,
            range::get_range_empty,
            range::get_range_past_the_end_is_clamped,
            range::get_range_start_after_end_is_invalid,
            range::get_range_missing_key_is_none,
            range::get_range_meta_matches_head,
            listing::list_is_ordered,
            listing::list_prefix,
            listing::list_start_after,
            listing::list_limit,
            listing::list_pages_through_2500_keys,
            listing::list_meta_matches_head,
            batch::get_many_with_missing_keys,
            batch::put_many_roundtrip,
            batch::put_many_atomic_on_conflict,
            batch::delete_many_removes_all,
            batch::batch_writes_up_to_max_batch_writes,
            batch::put_many_up_to_max_batch_bytes,
            layer::layer_keeps_capabilities,
            layer::layer_forwards_batches,
            layer::layer_keeps_atomic_put_many,
            layer::layer_forwards_flush,
            concurrency::concurrent_writers_1000,
            concurrency::cas_race_8x50,
            typed::typed_cbor_roundtrip,
            typed::typed_decode_error_is_corrupted,
            typed::update_helper_creates_missing,
            typed::exists_tracks_presence,
            typed::copy_all_both_directions,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __case_table {
    ([] $($module:ident :: $case:ident),* $(,)?) => {
        /// Every case, in suite order.
        pub const ALL: &[Case] = &[
            $(Case {
                name: stringify!($case),
                run: |store| -> futures::future::BoxFuture<'static, $crate::harness::Outcome> {
                    Box::pin($module::$case(store))
                },
            }),*
        ];
    };
}

crate::__for_each_case!(__case_table []);

/// The case called `name`.
pub fn find(name: &str) -> Option<&'static Case> {
    ALL.iter().find(|case| case.name == name)
}
