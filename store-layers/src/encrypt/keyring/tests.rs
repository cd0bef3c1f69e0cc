use super::*;

#[test]
fn keys_read_as_hex_or_base64_with_surrounding_whitespace() {
    let hex_text = "a5".repeat(32);
    let std_b64 = "paWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaU=";
    let url_b64 = "paWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaU";
    for text in [
        hex_text.clone(),
        format!("  {hex_text}\n"),
        std_b64.into(),
        url_b64.into(),
    ] {
        assert_eq!(
            *parse_key(&text, "key").unwrap(),
            [0xa5; KEY_LEN],
            "{text:?}"
        );
    }
    for bad in ["", "zz", &"a5".repeat(31), &"a5".repeat(33)] {
        let err = parse_key(bad, "key").unwrap_err();
        assert_eq!(err.kind(), store_core::ErrorKind::InvalidConfig);
    }
}

#[test]
fn key_ids_name_keys_and_old_keys_are_found_by_id() {
    let a = Keyring::new(&[1; KEY_LEN]);
    let b = Keyring::new(&[2; KEY_LEN]);
    assert_ne!(a.current_id(), b.current_id());
    assert_eq!(a.current_id(), Keyring::new(&[1; KEY_LEN]).current_id());
    let both = Keyring::new(&[2; KEY_LEN])
        .with_old_key(&[1; KEY_LEN])
        .with_old_key(&[1; KEY_LEN])
        .with_old_key(&[2; KEY_LEN]);
    assert_eq!(both.old_ids(), [a.current_id()], "duplicates are dropped");
    assert!(both.find(a.current_id()).is_some());
    assert!(both.find(KeyId([0; KEY_ID_LEN])).is_none());
}
