//! Shared by the test binaries' support modules.

/// An error and each of its causes, walked through `source()` the way a reporter does:
/// `error: cause: cause of the cause`. `Display` shows one level; what a test expects
/// from a lower level is found here.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
