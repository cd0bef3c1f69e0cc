//! Helpers for the Redis tests.
