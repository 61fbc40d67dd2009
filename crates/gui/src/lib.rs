//! The web service of piranha (`piranha-gui`, issue 14).
//!
//! The service itself (an HTTP API and pages over lvs.cf, live status, runtime server controls
//! and metrics) is still to come. For now this crate holds what it will authenticate against:
//! the password file, `/etc/sysconfig/ha/conf/piranha.passwd`, in the format of Apache's
//! `htpasswd` ([`passwd`]), and the `piranha-passwd` command that sets the password of user
//! `piranha` in it ([`passwd_cmd`]).

pub mod passwd;
pub mod passwd_cmd;

pub use passwd::Error;
