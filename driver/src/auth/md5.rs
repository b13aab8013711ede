//! Answers to `AuthenticationMD5Password` and `AuthenticationCleartextPassword`.

use ::md5::{Digest, Md5};

use crate::failure::{Error, Result};

/// The `PasswordMessage` body for `AuthenticationMD5Password`:
/// `"md5" + hex(md5(hex(md5(password + user)) + salt))`, where `user` is the
/// user name sent in the startup message and `salt` the four bytes of the
/// request.
///
/// The password is not SASLprep'd: PostgreSQL stores MD5 secrets from the
/// raw bytes.
pub(crate) fn md5_password(
    user: impl AsRef<[u8]>,
    password: impl AsRef<[u8]>,
    salt: [u8; 4],
) -> String {
    let mut inner = Md5::new();
    inner.update(password.as_ref());
    inner.update(user.as_ref());
    let inner = hex(&inner.finalize());

    let mut outer = Md5::new();
    outer.update(inner.as_bytes());
    outer.update(salt);
    let mut out = String::with_capacity(35);
    out.push_str("md5");
    out.push_str(&hex(&outer.finalize()));
    out
}

/// The `PasswordMessage` body for `AuthenticationCleartextPassword`: the
/// password itself, checked for a NUL byte, which the message (a C string)
/// cannot carry and PostgreSQL could never have stored.
pub(crate) fn cleartext_password(password: &[u8]) -> Result<&[u8]> {
    if password.contains(&0) {
        return Err(Error::config(
            "the password contains a NUL byte, which PostgreSQL passwords cannot contain",
        ));
    }
    Ok(password)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0F)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn md5_matches_an_independent_computation() {
        // python3 -c 'import hashlib; i = hashlib.md5(b"password" + b"user").hexdigest();
        //   print("md5" + hashlib.md5(i.encode() + bytes([0x01, 0x02, 0x03, 0x04])).hexdigest())'
        assert_eq!(
            md5_password("user", "password", [0x01, 0x02, 0x03, 0x04]),
            "md5a3576f1ae039b8996bc4fc2720f9c71a"
        );
    }

    #[test]
    fn md5_inner_hash_is_what_postgres_stores() {
        // pg_authid.rolpassword for user "user" with password "password"
        // under password_encryption = md5, and the same python3 computation:
        // "md5" + hashlib.md5(b"password" + b"user").hexdigest()
        let mut h = Md5::new();
        h.update(b"passworduser");
        assert_eq!(hex(&h.finalize()), "4d45974e13472b5a0be3533de4666414");
    }

    #[test]
    fn md5_salt_and_user_matter() {
        let base = md5_password("user", "password", [1, 2, 3, 4]);
        assert_ne!(base, md5_password("user", "password", [1, 2, 3, 5]));
        assert_ne!(base, md5_password("usr", "password", [1, 2, 3, 4]));
        assert_eq!(base.len(), 35);
    }

    #[test]
    fn cleartext_rejects_nul() {
        assert_eq!(cleartext_password(b"secret").unwrap(), b"secret");
        let err = cleartext_password(b"sec\0ret").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(!err.to_string().contains("sec"), "{err}");
    }
}
