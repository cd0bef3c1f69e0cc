//! Store configuration from files and the environment.
//!
//! A config file holds one store map in TOML or JSON (chosen by the file extension,
//! `.toml` or `.json`). String values may contain `${VAR}`, replaced from the environment
//! when the file is loaded, so secrets stay out of files; `$$` stands for a literal `$`.
//!
//! ```toml
//! type = "s3"
//! bucket = "my-bucket"
//! access_key_id = "${AWS_ACCESS_KEY_ID}"
//! secret_access_key = "${AWS_SECRET_ACCESS_KEY}"
//! ```

use std::path::Path;

use serde_json::Value;
use store_core::{ConfigMap, Error, Result};

/// The environment variable holding the default store URI.
pub const STORE_ENV: &str = "STRATA_STORE";

/// Where the embedded default store keeps its data.
pub const DEFAULT_PATH: &str = "./strata-data/strata.redb";

/// The embedded default store: a redb database at [`DEFAULT_PATH`].
pub fn default_config() -> ConfigMap {
    let mut map = ConfigMap::new();
    map.insert("type".into(), "redb".into());
    map.insert("path".into(), DEFAULT_PATH.into());
    map
}

/// Parse config text as TOML or JSON (`format` is `"toml"` or `"json"`), then expand
/// `${VAR}` references.
pub fn parse_config_text(text: &str, format: &str) -> Result<ConfigMap> {
    let value: Value = match format {
        "toml" => {
            let table: toml::Table = toml::from_str(text).map_err(|e| {
                // toml's `Display` quotes the offending line, which may hold a secret:
                // say where it is instead.
                let at = e
                    .span()
                    .map(|span| line_and_column(text, span.start))
                    .map(|(line, column)| format!(" at line {line}, column {column}"))
                    .unwrap_or_default();
                Error::invalid_config("file", format!("not valid TOML{at}: {}", e.message()))
            })?;
            serde_json::to_value(table)
                .map_err(|e| Error::invalid_config("file", format!("unrepresentable TOML: {e}")))?
        }
        "json" => serde_json::from_str(text)
            .map_err(|e| Error::invalid_config("file", format!("not valid JSON: {e}")))?,
        other => {
            return Err(Error::invalid_config(
                "file",
                format!("unknown config format `{other}` (use a .toml or .json file)"),
            ));
        }
    };
    let Value::Object(mut map) = value else {
        return Err(Error::invalid_config(
            "file",
            "the config must be a map of fields",
        ));
    };
    for (field, value) in map.iter_mut() {
        expand_env(value, field)?;
    }
    Ok(map)
}

/// The 1-based line and column of byte `offset` in `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// Load a config file (`.toml` or `.json`).
///
/// Relative paths in it (a redb file, a file store's root) are meant from the file's own
/// directory ([`config_dir`]): open the map through a registry
/// [based there](store_core::Registry::with_base_dir), as [`open_file`](crate::open_file)
/// does.
pub fn load_config_file(path: &Path) -> Result<ConfigMap> {
    let format = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("reading config file {}", path.display()), e))?;
    parse_config_text(&text, &format).map_err(|e| e.context(path.display()))
}

/// The directory relative paths in the config file at `path` are relative to: the
/// file's own (`""`, the current directory, for a bare file name).
pub fn config_dir(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new(""))
}

/// Replace `${VAR}` in every string inside `value` (recursively). `path` names the field
/// for errors, e.g. `backend.secret_access_key`.
pub fn expand_env(value: &mut Value, path: &str) -> Result<()> {
    match value {
        Value::String(s) if s.contains('$') => *s = expand_str(s, path)?,
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                expand_env(item, &format!("{path}[{i}]"))?;
            }
        }
        Value::Object(map) => {
            for (field, item) in map.iter_mut() {
                expand_env(item, &format!("{path}.{field}"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn expand_str(s: &str, path: &str) -> Result<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').ok_or_else(|| {
                Error::invalid_config(path, "unterminated `${` (write `$$` for a literal `$`)")
            })?;
            let name = &body[..end];
            // The variable's value is never put into an error: it may be a secret.
            let var = std::env::var(name).map_err(|_| {
                Error::invalid_config(path, format!("environment variable `{name}` is not set"))
            })?;
            out.push_str(&var);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_variables_and_escapes() {
        // SAFETY of the test: a unique variable name, set before it is read.
        unsafe_set("STRATA_TEST_EXPAND_A", "secret-value");
        let map = parse_config_text(
            r#"type = "x"
               key = "${STRATA_TEST_EXPAND_A}"
               price = "$$5 and $x"
               [nested]
               inner = "pre-${STRATA_TEST_EXPAND_A}-post""#,
            "toml",
        )
        .unwrap();
        assert_eq!(map["key"], "secret-value");
        assert_eq!(map["price"], "$5 and $x");
        assert_eq!(map["nested"]["inner"], "pre-secret-value-post");
    }

    #[test]
    fn missing_variable_names_field_and_variable() {
        let err = parse_config_text(
            r#"{"type": "x", "backend": {"secret": "${STRATA_TEST_SURELY_UNSET}"}}"#,
            "json",
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("backend.secret") && msg.contains("STRATA_TEST_SURELY_UNSET"),
            "{msg}"
        );
    }

    #[test]
    fn syntax_errors_say_where_without_quoting_the_line() {
        let err = parse_config_text(
            "type = \"s3\"\nsecret_access_key = \"SUPERSECRET-abc123\n",
            "toml",
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("not valid TOML at line 2"), "{msg}");
        assert!(!msg.contains("SUPERSECRET"), "{msg}");
    }

    #[test]
    fn rejects_unknown_format_and_non_maps() {
        assert!(
            parse_config_text("a: b", "yaml")
                .unwrap_err()
                .to_string()
                .contains("yaml")
        );
        assert!(parse_config_text("[1, 2]", "json").is_err());
    }

    fn unsafe_set(name: &str, value: &str) {
        // Tests in this module set distinct variables only, so no other thread reads them.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var(name, value)
        };
    }
}
